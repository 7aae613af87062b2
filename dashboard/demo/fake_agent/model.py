"""The turn model: what a key does, when a turn starts and ends, and the misbehaviours switched on by flag.

No terminal I/O here (only the ``--record`` log), so the renderers and the benchmarks can drive a session
directly; the event loop in ``agent`` supplies key events and clock times.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass

from dashboard.demo.fake_agent.composer import Composer, Pasted
from dashboard.demo.fake_agent.keys import Event
from dashboard.demo.fake_agent.options import Options
from dashboard.demo.fake_agent.record import Recorder

CANARY_RE = re.compile(r"CANARY-[A-Za-z0-9]+")

RATE_LIMIT = {
    "claude": "⎿  You've hit your usage limit · resets 3pm (UTC)",
    "codex": "■ You've hit your usage limit. Try again at 3:00 PM.",
    "gemini": "✕ Quota exceeded · resets in 2h",
}
INTERRUPTED = {
    "claude": "⎿  Interrupted · What should Claude do instead?",
    "codex": "■ Conversation interrupted - tell the model what to do differently.",
    "gemini": "ℹ Request cancelled.",
}
CLAUDE_VERBS = ("Baked", "Brewed", "Crunched", "Cooked", "Churned")


def reply_for(prompt: str) -> str:
    """Reply like the kit's fake model server, so demo transcripts and server logs agree."""
    tokens: list[str] = []
    for tok in CANARY_RE.findall(prompt):
        if tok not in tokens:
            tokens.append(tok)
    return " ".join(tokens) if tokens else "ok"


@dataclass
class Turn:
    """One simulated model turn."""

    prompt: str
    number: int
    started: float
    ends: float
    die_at: float | None


class AgentExit(Exception):
    """Raised to leave the event loop with an exit status (signals, Ctrl-C, dying mid-turn)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class Session:
    """One agent session's state: transcript, composer, follow-up queue and the turn in progress."""

    def __init__(self, opts: Options) -> None:
        self.o = opts
        self.rec = Recorder(opts.record)
        self.composer = Composer()
        self.mode = "dialog" if opts.dialog else "main"
        self.items: list[tuple[str, str]] = []  # transcript: (kind, text)
        self.queue: list[str] = []
        self.turn: Turn | None = None
        self.turns = 0
        self.swallow_left = opts.swallow_enters
        self.pastes = 0
        self.paste_hint = False
        self.frame = 0  # spinner frame, advanced by the event loop
        self.dirty = True  # the screen no longer matches the state
        if self.mode == "dialog":  # the agent asks for a person, as Claude's Notification hook says
            note = {"message": "Claude needs your permission to continue", "notification_type": "permission_prompt"}
            run_hooks(opts.settings, "Notification", note)
        self.title: str | None = None

    @property
    def working(self) -> bool:
        return self.turn is not None

    @property
    def spinning(self) -> bool:
        return self.working and not self.o.no_spinner

    def elapsed(self) -> int:
        """Whole seconds into the current turn, as the working lines show them."""
        return int(time.monotonic() - self.turn.started) if self.turn else 0

    def handle(self, ev: Event, now: float, gap: float) -> None:
        """Apply one key event; gap is the time since the previous input byte, for --burst-ms."""
        kind, data = ev
        self.dirty = True
        if self.mode == "dialog":
            self.handle_dialog(kind, data)
            return
        if kind == "text":
            self.composer.insert(data)
        elif kind == "paste":
            self.on_paste(data)
        elif kind == "enter" or (kind == "lf" and not self.o.lf_newline):
            self.on_enter(now, gap)
        elif kind == "lf":
            self.composer.insert("\n")  # Ctrl-J: what every real agent does with a raw LF
        elif kind == "tab" and self.o.style == "codex" and self.working and self.composer.text.strip():
            # Codex queues a follow-up with Tab while busy (Enter would steer: interrupt and send now)
            text = self.composer.text
            self.composer.clear()
            self.rec.record("queued", text)
            self.queue.append(text)
        elif kind == "backspace":
            self.composer.backspace()
            self.paste_hint = self.paste_hint and (self.working or self.composer.has_paste)
        elif kind == "kill":
            self.composer.clear()
            self.paste_hint = False
        elif kind == "ctrl_c":
            if not self.composer.parts:
                raise AgentExit(0)
            self.composer.clear()
            self.paste_hint = False
        elif kind == "ctrl_d":
            if not self.composer.parts:
                raise AgentExit(0)
        elif kind == "esc" and self.turn is not None:
            self.items.append(("interrupted", INTERRUPTED[self.o.style]))
            self.finish_turn(now, interrupted=True)

    def handle_dialog(self, kind: str, data: str) -> None:
        """The folder-trust dialog: 1 or Enter goes on, 2, Esc or Ctrl-C quits."""
        if kind == "enter" or (kind == "text" and data.startswith("1")):
            self.mode = "main"
        elif (kind == "text" and data.startswith("2")) or kind in ("esc", "ctrl_c"):
            raise AgentExit(0)
        # pastes and anything else are dropped, as a modal dialog does

    def on_paste(self, text: str) -> None:
        """Insert a bracketed paste; Claude collapses big ones but still submits the real text."""
        lines = text.count("\n")
        limit = self.o.paste_collapse
        if self.o.style == "claude" and limit > 0 and (lines + 1 > limit or len(text) > 800):
            self.pastes += 1
            self.composer.add_paste(Pasted(text, f"[Pasted text #{self.pastes} +{lines} lines]"))
            self.paste_hint = True
        else:
            self.composer.insert(text)

    def on_enter(self, now: float, gap: float) -> None:
        """Submit, unless a misbehaviour intervenes: burst newline first, then a swallowed Enter."""
        text = self.composer.text
        if not text.strip():
            return
        if self.o.burst_ms > 0 and gap * 1000.0 < self.o.burst_ms:
            self.rec.record("newline", text)
            self.composer.insert("\n")
            return
        if self.swallow_left > 0:
            self.swallow_left -= 1
            self.rec.record("swallowed", text)
            return
        self.composer.clear()
        if self.title is None:
            self.title = "ok" if self.o.no_echo else reply_for(text)
        if self.turn is not None and self.o.style == "codex":
            # Codex steers: Enter while busy interrupts the turn and sends the new prompt at once
            self.items.append(("interrupted", INTERRUPTED["codex"]))
            held, self.queue = self.queue, []  # queued follow-ups wait for the steered turn
            self.finish_turn(now, interrupted=True)
            self.queue = held
        elif self.turn is not None:
            self.rec.record("queued", text)
            self.queue.append(text)
            return
        self.rec.record("submitted", text)
        self.start_turn(text, now)

    def start_turn(self, prompt: str, now: float) -> None:
        """Move the prompt into the transcript at once (as the real agents do) and start working."""
        run_hooks(self.o.settings, "UserPromptSubmit", {"prompt": prompt})
        self.items.append(("user", prompt))
        if self.o.rate_limit:
            self.items.append(("banner", RATE_LIMIT[self.o.style]))
            self.paste_hint = False
            return
        self.turns += 1
        die_at = now + self.o.turn / 2 if self.o.die_mid_turn and self.turns == 1 else None
        self.turn = Turn(prompt, self.turns, now, now + self.o.turn, die_at)

    def finish_turn(self, now: float, interrupted: bool = False) -> None:
        """End the turn (reply and summary line unless interrupted), then start the next queued prompt."""
        turn = self.turn
        if turn is None:
            return
        self.turn = None
        self.paste_hint = False
        if not interrupted:
            run_hooks(self.o.settings, "Stop", {"stop_hook_active": False})
            secs = max(1, round(now - turn.started))
            self.items.append(("reply", "ok" if self.o.no_echo else reply_for(turn.prompt)))
            if self.o.style == "claude":
                self.items.append(("done", f"{CLAUDE_VERBS[(turn.number - 1) % len(CLAUDE_VERBS)]} for {secs}s"))
            elif self.o.style == "codex":
                self.items.append(("done", f"Worked for {secs}s • {time.strftime('%H:%M')}"))
        if self.queue:
            nxt = self.queue.pop(0)
            self.rec.record("started", nxt)
            self.start_turn(nxt, now)

    def advance(self, now: float) -> None:
        """Clock-driven transitions: dying halfway, finishing the turn."""
        turn = self.turn
        if turn is None:
            return
        if turn.die_at is not None and now >= turn.die_at:
            self.rec.record("died", turn.prompt)
            raise AgentExit(3)
        if now >= turn.ends:
            self.finish_turn(now)
            self.dirty = True


def run_hooks(settings: str | None, event: str, fields: Mapping[str, object]) -> None:
    """Run a Claude Code settings file's commands for `event` with the hook's JSON on stdin.

    As Claude Code does when a prompt is accepted (UserPromptSubmit), a turn ends (Stop) or it asks
    for a person (Notification): the command gets `session_id`, `hook_event_name` and the event's
    fields, and the pane's environment (TMUX_PANE). Its output is ignored; a failing or slow hook
    never stops the agent.
    """
    if not settings:
        return
    try:
        with open(settings, encoding="utf-8") as f:
            groups = json.load(f).get("hooks", {}).get(event, [])
        commands = [h["command"] for g in groups for h in g.get("hooks", []) if h.get("type") == "command"]
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return
    data = json.dumps({"session_id": "fake-session", "hook_event_name": event, **fields})
    for command in commands:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(["sh", "-c", command], input=data, text=True, capture_output=True, timeout=5)
