"""A simulated coding-agent TUI that looks like Claude Code, Codex CLI or Gemini CLI and misbehaves on demand.

Why it exists: the real agents need node, an offline model server and a network namespace, and they fail
only by accident. Dispatch's tests and demo need a pane whose bottom region matches the real captures in
``shared/agents/captures`` closely enough for the screen classifier, and whose failures (swallowed Enters,
paste-burst newlines, slow starts, hangs, crashes, rate limits, trust dialogs) can be switched on by flag.

Every accepted prompt is appended to ``--record`` as one JSON line; that file is the ground truth a test
compares against, the same role the fake model server's request log plays for the real agents.

Run: ``python -m dashboard.demo.fake_agent --style codex --record /tmp/rec.jsonl``. Stdlib only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import select
import signal
import sys
import termios
import time
import tty
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import FrameType

STYLES = ("claude", "codex", "gemini")
TICK = 0.08  # spinner frame period; also the idle select() timeout
ESC_TIMEOUT = 0.05  # a lone ESC is a key press only if nothing follows it this quickly
PASTE_START = b"\x1b[200~"
PASTE_END = b"\x1b[201~"
CANARY_RE = re.compile(r"CANARY-[A-Za-z0-9]+")
ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
NBSP = "\u00a0"
CURSOR = "\x1b[7m \x1b[27m"  # the agents hide the real cursor and draw a reverse-video cell

Event = tuple[str, str]

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
CLAUDE_VERSION = "v2.1.197 (simulated)"
CLAUDE_GLYPHS = ("✢", "✻", "✶", "✳", "·", "✽")
CLAUDE_GERUNDS = ("Billowing", "Manifesting", "Pondering", "Percolating", "Brewing")
CLAUDE_VERBS = ("Baked", "Brewed", "Crunched", "Cooked", "Churned")
GEMINI_PLACEHOLDER = "Type your message or @path/to/file"
BRAILLE = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

# Codex's idle logo, copied from captures/codex/idle.txt with the common indent removed.
CODEX_LOGO = (
    "           ⣀⣤⣤⣤⣀⣀",
    "        ⣠⣶⣿⣿⣿⣿⣿⣿⣿⣿⣦⣤⣤⣤⣤⣤⣤⡀",
    "      ⢀⣾⣿⣿⠿⠋⠉⠉⢉⣭⣿⣿⣿⣿⣿⠿⣿⣿⣿⣿⣷⣄",
    "     ⣀⣾⣿⣿⠃ ⣀⣴⣾⣿⣿⡿⠟⠋ ⣀⡀ ⠈⠙⢿⣿⣿⣧",
    "  ⣀⣶⣿⣿⣿⣿⡇ ⢸⣿⣿⡿⠛⠉⢀⣠⣴⣿⣿⣿⣷⣦⣀⠈⢻⣿⣿⡇",
    " ⣰⣿⣿⡿⢿⣿⣿⡇ ⢸⣿⣿⢀⣤⣶⣿⣿⣿⠟⠛⠻⣿⣿⣿⣿⣮⣿⣿⡷",
    "⢰⣿⣿⡟⠁⢸⣿⣿⡇ ⢸⣿⣿⣿⣿⠿⠿⣿⣿⣿⣦⣄⡀⠈⠛⠿⣿⣿⣿⣧⡀",
    "⣾⣿⣿⠃ ⢸⣿⣿⡇ ⢸⣿⣿⠋⠁  ⠈⠙⢻⣿⣿⣿⣶⣤⡀ ⠹⢿⣿⣷⡄",
    "⢸⣿⣿⣇ ⠸⣿⣿⣷⣦⣼⣿⣿      ⢸⣿⣿⠻⢿⣿⣿⡇ ⠘⣿⣿⣿",
    "⠈⢿⣿⣿⣦⡀⠈⠛⠿⣿⣿⣿⣿⣄⡀  ⢀⣠⣼⣿⣿  ⣿⣿⡇  ⣿⣿⣿⠇",
    "  ⢻⣿⣿⣿⣷⣦⣀⠈⠙⠻⣿⣿⣿⣶⣶⣿⣿⣿⣿⣿  ⣿⣿⡇ ⣠⣿⣿⣿",
    "  ⢸⣿⣿⡿⢿⣿⣿⣿⣦⣠⣴⣿⣿⣿⡿⠟⠋⢸⣿⣿  ⣿⣿⣷⣴⣿⣿⣿⠃",
    "  ⠘⣿⣿⣷ ⠈⠛⢿⣿⣿⣿⠿⠋⠉ ⣠⣴⣿⣿⣿  ⣿⣿⣿⣿⣿⠟⠁",
    "   ⠻⣿⣿⣿⣤⣀ ⠈⠉ ⢀⣤⣶⣿⣿⣿⠿⠟⠁ ⣰⣿⣿⡟⠋⠁",
    "    ⠈⠿⣿⣿⣿⣿⣶⣾⣿⣿⣿⣿⠟⠋⠁  ⣠⣼⣿⣿⡟",
    "       ⠙⠛⠛⠛⠻⠛⢿⣿⣿⣿⣿⣷⣾⣿⣿⣿⡿⠏",
    "              ⠈⠙⠛⠿⠿⠿⠿⠛⠉",
)

# Colours lifted from the .ansi.txt captures.
C_GREY = "\x1b[38;5;246m"  # claude hints
C_RULE = "\x1b[38;5;244m"  # claude rules
C_ORANGE = "\x1b[38;5;174m"  # claude logo and spinner
C_RED = "\x1b[38;5;210m"
BOLD = "\x1b[1m"
G_GREY = "\x1b[38;2;175;175;175m"
G_WHITE = "\x1b[38;2;255;255;255m"
G_PURPLE = "\x1b[38;2;215;175;255m"
G_BOX_FG = "\x1b[38;2;95;95;95m"
G_BOX_BG = "\x1b[48;2;95;95;95m"
G_PINK = "\x1b[38;2;255;135;175m"
G_LOGO = ((71, 150, 228), (102, 136, 217), (132, 122, 206), (164, 113, 167), (195, 103, 127))


def reply_for(prompt: str) -> str:
    """Reply like the kit's fake model server, so demo transcripts and server logs agree."""
    tokens: list[str] = []
    for tok in CANARY_RE.findall(prompt):
        if tok not in tokens:
            tokens.append(tok)
    return " ".join(tokens) if tokens else "ok"


def char_width(ch: str) -> int:
    """Terminal cells for one character; wide CJK needs 2 or the layout drifts."""
    if unicodedata.combining(ch):
        return 0
    code = ord(ch)
    if code < 0x20 or 0x7F <= code < 0xA0:
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def text_width(text: str) -> int:
    """Display width of text that holds no escape sequences."""
    return sum(char_width(c) for c in text)


def visible_width(line: str) -> int:
    """Display width of a rendered line, ignoring its SGR sequences."""
    return text_width(ANSI_RE.sub("", line))


def clip(line: str, width: int) -> str:
    """Cut a rendered line to width cells, keeping escapes, so a narrow pane never wraps a row."""
    if visible_width(line) <= width:
        return line
    out: list[str] = []
    used = 0
    pos = 0
    while pos < len(line):
        m = ANSI_RE.match(line, pos)
        if m:
            out.append(m.group())
            pos = m.end()
            continue
        w = char_width(line[pos])
        if used + w > width:
            break
        out.append(line[pos])
        used += w
        pos += 1
    return "".join(out)


def words(sgr: str, text: str) -> str:
    """Colour each word but not the spaces between, the way Ink emits Claude Code's grey hints."""
    return re.sub(r"[^ ]+", lambda m: f"{sgr}{m.group()}\x1b[0m", text)


def pad(line: str, width: int) -> str:
    """Right-pad to width so a background colour spans the row like the real agents' blocks."""
    return line + " " * max(0, width - visible_width(line))


def sanitize(text: str) -> str:
    """Make user text safe to draw: tabs become spaces, other control characters vanish."""
    text = text.replace("\t", "    ")
    return "".join(c for c in text if c == "\n" or (ord(c) >= 0x20 and c != "\x7f"))


def wrap_line(line: str, avail: int) -> list[str]:
    """Greedy word wrap of one logical line, as the agents wrap prompts and replies."""
    avail = max(1, avail)
    rows: list[str] = []
    cur, cur_w = "", 0
    for tok in re.split(r"( +)", line):
        if not tok:
            continue
        w = text_width(tok)
        if cur_w + w <= avail:
            cur, cur_w = cur + tok, cur_w + w
            continue
        if tok.startswith(" "):  # the break swallows the spaces
            rows.append(cur)
            cur, cur_w = "", 0
            continue
        if cur:
            rows.append(cur.rstrip(" "))
        while text_width(tok) > avail:
            head, used = "", 0
            for ch in tok:
                if used + char_width(ch) > avail:
                    break
                head += ch
                used += char_width(ch)
            rows.append(head)
            tok = tok[len(head) :]
        cur, cur_w = tok, text_width(tok)
    rows.append(cur)
    return rows


def wrap(text: str, avail: int) -> list[str]:
    """Wrap multi-line text; every logical line yields at least one row."""
    rows: list[str] = []
    for line in sanitize(text).split("\n"):
        rows.extend(wrap_line(line, avail))
    return rows


class Recorder:
    """Appends one JSON line per event; a single O_APPEND write keeps lines whole when panes share a file."""

    def __init__(self, path: str | None) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644) if path else None

    def record(self, kind: str, text: str) -> None:
        if self.fd is None:
            return
        line = json.dumps({"t": time.time(), "kind": kind, "text": text, "pid": os.getpid()}, ensure_ascii=False)
        os.write(self.fd, (line + "\n").encode())

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class InputParser:
    """Turns raw tty bytes into key events; keeps partial escapes, pastes and UTF-8 across reads."""

    def __init__(self) -> None:
        self.buf = b""
        self.in_paste = False
        self.paste = bytearray()
        self.pending_since: float | None = None

    def feed(self, data: bytes, now: float) -> list[Event]:
        self.buf += data
        return self._parse(now, final=False)

    def flush(self, now: float) -> list[Event]:
        """Resolve a lone ESC (or a cut-off sequence) once nothing has followed it for ESC_TIMEOUT."""
        since = self.pending_since
        if self.buf and not self.in_paste and since is not None and now - since >= ESC_TIMEOUT:
            return self._parse(now, final=True)
        return []

    @property
    def waiting(self) -> bool:
        return bool(self.buf) and not self.in_paste

    def _parse(self, now: float, final: bool) -> list[Event]:
        out: list[Event] = []
        buf, i, n = self.buf, 0, len(self.buf)
        while i < n:
            if self.in_paste:
                j = buf.find(PASTE_END, i)
                if j < 0:
                    keep = _partial_suffix(buf[i:], PASTE_END)
                    self.paste += buf[i : n - keep]
                    i = n - keep
                    break
                self.paste += buf[i:j]
                i = j + len(PASTE_END)
                self.in_paste = False
                text = self.paste.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
                self.paste.clear()
                out.append(("paste", text))
                continue
            b = buf[i]
            if b == 0x1B:
                step = self._escape(buf, i, final)
                if step is None:
                    break
                length, ev = step
                i += length
                if ev is not None:
                    out.append(ev)
            elif b == 0x0D:
                out.append(("enter", "\r"))
                i += 1
            elif b == 0x0A:
                out.append(("lf", "\n"))
                i += 1
            elif b in (0x7F, 0x08):
                out.append(("backspace", ""))
                i += 1
            elif b == 0x09:
                out.append(("tab", "\t"))
                i += 1
            elif b in (0x03, 0x04, 0x15):
                out.append(({0x03: "ctrl_c", 0x04: "ctrl_d", 0x15: "kill"}[b], ""))
                i += 1
            elif b < 0x20:
                out.append(("other", ""))
                i += 1
            else:
                j = i
                while j < n and buf[j] >= 0x20 and buf[j] != 0x7F and buf[j] != 0x1B:
                    j += 1
                cut = 0 if final or j < n else _incomplete_utf8(buf[i:j])
                if j - cut > i:
                    out.append(("text", buf[i : j - cut].decode("utf-8", "replace")))
                i = j - cut
                if cut:
                    break
        self.buf = buf[i:]
        self.pending_since = now if self.buf else None
        return out

    def _escape(self, buf: bytes, i: int, final: bool) -> tuple[int, Event | None] | None:
        n = len(buf)
        if i + 1 >= n:
            return (1, ("esc", "")) if final else None
        c = buf[i + 1]
        if c == ord("["):
            j = i + 2
            while j < n and 0x30 <= buf[j] <= 0x3F:
                j += 1
            while j < n and 0x20 <= buf[j] <= 0x2F:
                j += 1
            if j >= n:
                return (n - i, ("other", "")) if final else None
            if not 0x40 <= buf[j] <= 0x7E:
                return 2, ("other", "")
            if buf[i : j + 1] == PASTE_START:
                self.in_paste = True
                return j + 1 - i, None
            return j + 1 - i, ("other", "")
        if c == ord("O"):
            if i + 2 >= n:
                return (n - i, ("other", "")) if final else None
            return 3, ("other", "")
        if c == 0x1B:
            return 1, ("esc", "")
        return 2, ("other", "")  # Alt+key: ignored


def _partial_suffix(data: bytes, marker: bytes) -> int:
    """Length of the longest tail of data that could be the start of marker split across reads."""
    for k in range(min(len(marker) - 1, len(data)), 0, -1):
        if data.endswith(marker[:k]):
            return k
    return 0


def _incomplete_utf8(data: bytes) -> int:
    """Bytes at the end of data that begin a UTF-8 character still missing its continuation bytes."""
    for back in range(1, min(4, len(data)) + 1):
        b = data[-back]
        if b & 0xC0 == 0x80:
            continue
        need = 2 if b & 0xE0 == 0xC0 else 3 if b & 0xF0 == 0xE0 else 4 if b & 0xF8 == 0xF0 else 1
        return back if need > back else 0
    return 0


@dataclass
class Pasted:
    """A collapsed paste: shown as a placeholder, submitted as the real text (Claude Code behaviour)."""

    text: str
    label: str


@dataclass
class Composer:
    """The input box: typed runs and collapsed pastes, in order."""

    parts: list[str | Pasted] = field(default_factory=list)

    def insert(self, text: str) -> None:
        if self.parts and isinstance(self.parts[-1], str):
            self.parts[-1] += text
        else:
            self.parts.append(text)

    def add_paste(self, paste: Pasted) -> None:
        self.parts.append(paste)

    def backspace(self) -> None:
        if not self.parts:
            return
        last = self.parts[-1]
        if isinstance(last, Pasted) or len(last) <= 1:
            self.parts.pop()
        else:
            self.parts[-1] = last[:-1]

    def clear(self) -> None:
        self.parts.clear()

    @property
    def text(self) -> str:
        return "".join(p if isinstance(p, str) else p.text for p in self.parts)

    @property
    def display(self) -> str:
        return "".join(p if isinstance(p, str) else p.label for p in self.parts)

    @property
    def has_paste(self) -> bool:
        return any(isinstance(p, Pasted) for p in self.parts)


@dataclass
class Turn:
    """One simulated model turn."""

    prompt: str
    number: int
    started: float
    ends: float
    die_at: float | None


@dataclass(frozen=True)
class Options:
    """Parsed command line."""

    style: str = "claude"
    cwd: str = "."
    turn: float = 2.0
    record: str | None = None
    swallow_enters: int = 0
    burst_ms: float = 0.0
    slow_start: float = 0.0
    no_spinner: bool = False
    die_mid_turn: bool = False
    rate_limit: bool = False
    dialog: bool = False
    frozen: bool = False
    paste_collapse: int = 2
    lf_newline: bool = False
    no_echo: bool = False
    """Reply "ok" even when asked for a CANARY token (an agent that did not do what was asked)."""


class AgentExit(Exception):
    """Raised to leave the event loop with an exit status (signals, Ctrl-C, dying mid-turn)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class FakeAgent:
    """State machine plus renderer; the event loop in run() feeds it bytes and clock ticks."""

    def __init__(self, opts: Options, in_fd: int, out_fd: int) -> None:
        self.o = opts
        self.in_fd = in_fd
        self.out_fd = out_fd
        self.rec = Recorder(opts.record)
        self.parser = InputParser()
        self.composer = Composer()
        self.mode = "dialog" if opts.dialog else "main"
        self.items: list[tuple[str, str]] = []  # transcript: (kind, text)
        self.queue: list[str] = []
        self.turn: Turn | None = None
        self.turns = 0
        self.swallow_left = opts.swallow_enters
        self.pastes = 0
        self.paste_hint = False
        self.frame = 0
        self.last_input = float("-inf")
        self.dirty = True
        self.resized = False
        self.painted_rows = 0
        self.title: str | None = None

    # ----- terminal -------------------------------------------------------------------------------------

    def size(self) -> tuple[int, int]:
        try:
            sz = os.get_terminal_size(self.out_fd)
            return max(20, sz.columns), max(5, sz.lines)
        except OSError:
            return 80, 24

    def write(self, data: str) -> None:
        raw = data.encode("utf-8", "replace")
        while raw:
            try:
                n = os.write(self.out_fd, raw)
            except InterruptedError:
                continue
            raw = raw[n:]

    def paint(self, lines: list[str] | None = None) -> None:
        """Full repaint of the visible window: home, every row cleared to its end, clear below."""
        width, height = self.size()
        if lines is None:
            lines = self.render(width, height)
        rows = [clip(r, width) for r in lines[-height:]]
        self.painted_rows = len(rows)
        rows += [""] * (height - len(rows))
        out = ["\x1b[H"]
        for idx, row in enumerate(rows):
            out.append("\x1b[0m" + row + "\x1b[0m")
            if visible_width(row) < width:  # \x1b[K at a full row's pending wrap would eat its last cell
                out.append("\x1b[K")
            if idx < height - 1:
                out.append("\r\n")
        if visible_width(rows[-1]) < width:
            out.append("\x1b[J")
        self.write("".join(out))
        self.dirty = False

    # ----- behaviour ------------------------------------------------------------------------------------

    @property
    def working(self) -> bool:
        return self.turn is not None

    @property
    def spinning(self) -> bool:
        return self.working and not self.o.no_spinner

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
        self.items.append(("user", prompt))
        if self.o.rate_limit:
            self.items.append(("banner", RATE_LIMIT[self.o.style]))
            self.paste_hint = False
            return
        self.turns += 1
        die_at = now + self.o.turn / 2 if self.o.die_mid_turn and self.turns == 1 else None
        self.turn = Turn(prompt, self.turns, now, now + self.o.turn, die_at)

    def finish_turn(self, now: float, interrupted: bool = False) -> None:
        turn = self.turn
        if turn is None:
            return
        self.turn = None
        self.paste_hint = False
        if not interrupted:
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

    # ----- rendering ------------------------------------------------------------------------------------

    def elapsed(self) -> int:
        return int(time.monotonic() - self.turn.started) if self.turn else 0

    def render(self, width: int, height: int) -> list[str]:
        if self.mode == "dialog":
            dialogs = {"claude": self.dialog_claude, "codex": self.dialog_codex, "gemini": self.dialog_gemini}
            return dialogs[self.o.style](width)
        if self.o.style == "codex":
            return self.render_codex(width, height)
        if self.o.style == "gemini":
            return self.render_gemini(width)
        return self.render_claude(width)

    # claude -------------------------------------------------------------------------------------------------

    def render_claude(self, w: int) -> list[str]:
        o, blk = C_ORANGE, "\x1b[48;5;16m"
        lines = [
            f"{o} ▐{blk}▛███▜\x1b[49m▌\x1b[39m   {words(BOLD, 'Claude Code')} {words(C_GREY, CLAUDE_VERSION)}",
            f"{o}▝▜{blk}█████\x1b[49m▛▘\x1b[39m  {words(C_GREY, 'Opus 4.8 (1M context) · API Usage Billing')}",
            f"{words(o, '  ▘▘ ▝▝')}    {C_GREY}{self.o.cwd}\x1b[39m",
            "",
        ]
        for kind, text in self.items:
            if kind != "interrupted":
                lines.append("")
            if kind == "user":
                # The grey band spans the whole row: capture -e shows the cells after the text keep bg 237.
                for n, row in enumerate(wrap(text, w - 3)):
                    head = "\x1b[38;5;239m\x1b[48;5;237m❯ " if n == 0 else "\x1b[48;5;237m  "
                    lines.append(pad(f"{head}\x1b[38;5;231m{row}\x1b[39m", w) + "\x1b[49m")
            elif kind == "reply":
                for n, row in enumerate(wrap(text, w - 3)):
                    lines.append(("\x1b[38;5;231m●\x1b[39m " if n == 0 else "  ") + row)
            elif kind == "done":
                lines.append(f"{C_GREY}✻\x1b[39m {C_GREY}{text}\x1b[39m")
            else:  # interrupted / banner
                colour = C_RED if kind == "banner" else C_GREY
                lines.append(f"  {colour}{text}\x1b[39m")
        if self.spinning and self.turn is not None:
            glyph = CLAUDE_GLYPHS[self.frame % len(CLAUDE_GLYPHS)]
            gerund = CLAUDE_GERUNDS[(self.turn.number - 1) % len(CLAUDE_GERUNDS)]
            lines += ["", f"{o}{glyph}\x1b[39m {o}{gerund}… \x1b[39m"]
        if self.queue:  # as Claude Code 2.1 draws them: on the submitted-input grey, above the rule
            lines.append("")
            for q in self.queue:
                for n, row in enumerate(wrap(q, w - 3)):
                    lines.append(f"\x1b[38;5;239m\x1b[48;5;237m{'❯ ' if n == 0 else '  '}\x1b[38;5;231m{row}\x1b[0m")
        if self.o.rate_limit:
            lines += ["", f"  {C_RED}{RATE_LIMIT['claude']}\x1b[39m"]
        rule = C_RULE + "─" * w + "\x1b[39m"
        lines += ["", rule]
        prompt = f"{C_GREY}❯{NBSP}\x1b[39m" if self.working else f"❯{NBSP}"
        if self.queue and not self.composer.parts:
            # the real one: a reverse-video cursor cell on "P", then the rest of the hint faint
            lines.append(f"❯{NBSP}\x1b[7mP\x1b[0;2mress up to edit queued messages\x1b[22m")
        else:
            rows = wrap(self.composer.display, w - 3)
            for n, row in enumerate(rows):
                cursor = CURSOR if n == len(rows) - 1 else ""
                lines.append((prompt if n == 0 else "  ") + row + cursor)
        lines.append(rule)
        lines.append(self.claude_footer(w))
        return lines

    def claude_footer(self, w: int) -> str:
        if self.paste_hint:
            return f"  {C_GREY}paste again to expand\x1b[39m"
        if self.spinning:
            return "  " + words(C_GREY, "esc to interrupt · ← for agents")
        if self.composer.parts:
            return ""  # the real footer hides "? for shortcuts" while you type
        left = "  " + words(C_GREY, "? for shortcuts · ← for agents")
        if self.items:
            return left
        right = words(C_GREY, "● high · /effort")
        gap = w - visible_width(left) - visible_width(right) - 2
        return left + " " * gap + right if gap > 1 else left

    def dialog_claude(self, w: int) -> list[str]:
        inner = w - 4
        border = "\x1b[38;5;220m"

        def row(text: str = "") -> str:
            return f"{border}│\x1b[39m {pad(text, inner)} {border}│\x1b[39m"

        body = [
            row(),
            row("\x1b[1mDo you trust the files in this folder?\x1b[22m"),
            row(),
            row(self.o.cwd),
            row(),
        ]
        warning = (
            "Claude Code may read, write, or execute files contained in this directory. "
            "This can pose security risks, so only use files from trusted sources."
        )
        body += [row(r) for r in wrap(warning, inner)]
        body += [row(), row("\x1b[38;5;153m❯ 1. Yes, proceed\x1b[39m"), row("  2. No, exit"), row()]
        return [
            f"{border}╭{'─' * (w - 2)}╮\x1b[39m",
            *body,
            f"{border}╰{'─' * (w - 2)}╯\x1b[39m",
            f"   {C_GREY}Enter to confirm · Esc to exit\x1b[39m",
        ]

    # codex --------------------------------------------------------------------------------------------------

    def render_codex(self, w: int, h: int) -> list[str]:
        top = [
            "",
            "  \x1b[38;5;75m>_ \x1b[39m\x1b[1mOpenAI Codex\x1b[22m\x1b[2m (v0.169.0)\x1b[22m",
            f"     \x1b[2m{self.o.cwd}\x1b[22m",
            "",
        ]
        bg = "\x1b[38;5;255m\x1b[48;5;238m"
        for kind, text in self.items:
            if kind == "user":
                top.append(bg + " " * w + "\x1b[0m")
                for n, row in enumerate(wrap(text.rstrip("\n"), w - 4)):  # codex trims the tail in history
                    head = f"{bg}\x1b[1;2m› \x1b[22m" if n == 0 else f"{bg}  "
                    top.append(pad(head + row, w) + "\x1b[0m")
                top.append(bg + " " * w + "\x1b[0m")
            elif kind == "reply":
                top += [("\x1b[2m• \x1b[22m" if n == 0 else "  ") + r for n, r in enumerate(wrap(text, w - 4))]
            elif kind == "done":
                top.append(f"\x1b[2m  {text}\x1b[22m")
            else:
                top.append(f"\x1b[31m{text[:1]}\x1b[39m{text[1:]}" if kind == "interrupted" else C_RED + text)
            top.append("")
        bottom: list[str] = []
        if self.spinning:
            bottom += [self.codex_working_line(), ""]
        if self.queue:  # Codex 0.169's follow-up queue
            bottom.append("• Queued follow-up inputs")
            for q in self.queue:
                bottom += [("  ↳ " if n == 0 else "    ") + r for n, r in enumerate(wrap(q, w - 6))]
            bottom += ["    \x1b[2mshift+← edit last queued message\x1b[22m", ""]
        if self.o.rate_limit:
            bottom += [C_RED + RATE_LIMIT["codex"] + "\x1b[39m", ""]
        bottom.append("")
        if self.composer.parts:
            bottom += [
                ("\x1b[1m›\x1b[22m " if n == 0 else "  ") + r for n, r in enumerate(wrap(self.composer.display, w - 4))
            ]
        else:
            bottom.append("\x1b[1m›\x1b[22m \x1b[2mAsk Codex to do anything\x1b[22m")
        model = f"  \x1b[38;5;223mgpt-5-codex default\x1b[39m · \x1b[38;5;151m{self.o.cwd}\x1b[39m"
        if self.title:  # Codex appends the generated thread title after the first prompt
            model += f" · \x1b[38;5;183m{self.title}\x1b[39m"
        bottom += ["", model]
        if not self.composer.parts:
            bottom.append("  \x1b[1m←\x1b[22m for agents · \x1b[1m?\x1b[22m for shortcuts")
        free = h - len(top) - len(bottom)
        if free < 0:
            return top + bottom
        filler = [""] * free
        if not self.items and not self.composer.parts:  # the logo goes as soon as you type
            logo_w = max(text_width(x) for x in CODEX_LOGO)
            if free >= len(CODEX_LOGO) + 2 and w >= logo_w + 2:
                at = (free - len(CODEX_LOGO)) // 2
                indent = " " * ((w - logo_w + 1) // 2)
                for n, x in enumerate(CODEX_LOGO):
                    filler[at + n] = f"{indent}\x1b[2m{x}\x1b[22m"
        return top + filler + bottom

    def codex_working_line(self) -> str:
        # Only the seconds move: in the captured frame "Working" is plain dim (no truecolor shimmer).
        secs = self.elapsed()
        return f"• \x1b[2mWorking\x1b[22m \x1b[2m({secs}s • \x1b[22m\x1b[1mesc\x1b[22m\x1b[2m to interrupt)\x1b[22m"

    def dialog_codex(self, w: int) -> list[str]:
        msg = (
            "Since this folder is version controlled, you may wish to allow Codex to work in this folder "
            "without asking for approval."
        )
        return [
            "",
            f"\x1b[1m> You are running Codex in {self.o.cwd}\x1b[22m",
            "",
            *["  " + r for r in wrap(msg, w - 4)],
            "",
            "\x1b[38;5;75m› 1. Yes, allow Codex to work in this folder\x1b[39m",
            "  2. No, quit",
            "",
            "  \x1b[2mPress enter to continue\x1b[22m",
        ]

    # gemini -------------------------------------------------------------------------------------------------

    def render_gemini(self, w: int) -> list[str]:
        def logo(glyphs: str) -> str:
            out = " "
            for n, ch in enumerate(glyphs):
                r, g, b = G_LOGO[min(n, len(G_LOGO) - 1)]
                out += f"\x1b[38;2;{r};{g};{b}m{ch}"
            return out + "\x1b[39m"

        lines = [
            "",
            logo("▝▜▄  ") + f"   \x1b[1m{G_WHITE}Gemini CLI\x1b[22m{G_GREY} v0.61.0\x1b[39m",
            logo("  ▝▜▄"),
            logo(" ▗▟▀ ") + f"   {G_WHITE}Authenticated with gemini-api-key{G_GREY} /auth\x1b[39m",
            logo("▝▀   "),
            "",
        ]
        for n, (kind, text) in enumerate(self.items):
            if kind == "user":
                if n:
                    lines.append("")
                lines += self.gemini_box(wrap(text.rstrip("\n"), w - 4), w, typed=True)
            elif kind == "reply":
                for k, row in enumerate(wrap(text, w - 4)):
                    lines.append((f"{G_PURPLE}✦ {G_WHITE}" if k == 0 else "  ") + row + "\x1b[39m")
            else:
                lines.append((C_RED if kind == "banner" else G_GREY) + text + "\x1b[39m")
        lines += ["", ""]
        if self.queue:  # Gemini CLI 0.61's queue, above the spinner
            lines.append(f"  {G_GREY}Queued (press ↑ to edit):\x1b[39m")
            for q in self.queue:
                lines += [f"    {G_GREY}{r}\x1b[39m" for r in wrap(q, w - 6)]
        if self.o.rate_limit:
            lines.append(C_RED + RATE_LIMIT["gemini"] + "\x1b[39m")
        status = ""
        if self.spinning:
            spin = BRAILLE[self.frame % len(BRAILLE)]
            status = (
                f" \x1b[38;2;211;175;255m{spin}\x1b[39m \x1b[3m{G_WHITE}Thinking...\x1b[23m\x1b[39m "
                f"{G_GREY}(esc to cancel, {self.elapsed()}s)\x1b[39m"
            )
        if not self.composer.parts:
            hint = f"{G_GREY}? for shortcuts\x1b[39m"
            status += " " * max(1, w - 1 - visible_width(status) - visible_width(hint)) + hint
        lines.append(status)
        lines.append("\x1b[2m\x1b[38;2;135;135;135m" + "─" * w + "\x1b[0m")
        lines.append(f" {G_GREY}Shift+Tab to accept edits\x1b[39m")
        if self.composer.parts:
            lines += self.gemini_box(wrap(self.composer.display, w - 4), w, typed=True, cursor=True)
        else:
            lines += self.gemini_box([], w, typed=False)
        mid = round(w * 65 / 120)
        lines.append(self.gemini_columns(w, mid, "workspace (/directory)", "sandbox", "/model", G_GREY, G_GREY, G_GREY))
        lines.append(self.gemini_columns(w, mid, self.o.cwd, "no sandbox", "Auto", G_WHITE, G_PINK, G_WHITE))
        return lines

    @staticmethod
    def gemini_box(rows: Sequence[str], w: int, typed: bool, cursor: bool = False) -> list[str]:
        body: list[str] = []
        if not typed:
            body.append(f"{G_BOX_BG} {G_PURPLE}> \x1b[39m{CURSOR}{G_GREY}{G_BOX_BG} {GEMINI_PLACEHOLDER}")
        for n, row in enumerate(rows):
            head = f"{G_BOX_BG} {G_PURPLE}> {G_WHITE}" if n == 0 else f"{G_BOX_BG}   {G_WHITE}"
            tail = f"\x1b[39m{CURSOR}{G_BOX_BG}" if cursor and n == len(rows) - 1 else ""
            body.append(head + row + tail)
        return [
            G_BOX_FG + "▄" * w + "\x1b[39m",
            *[pad(b, w) + "\x1b[0m" for b in body],
            G_BOX_FG + "▀" * w + "\x1b[39m",
        ]

    @staticmethod
    def gemini_columns(w: int, mid: int, left: str, centre: str, right: str, *colours: str) -> str:
        left = left if len(left) < mid - 2 else left[: mid - 4] + "…"
        line = f" {colours[0]}{left}\x1b[39m"
        line += " " * max(1, mid - visible_width(line)) + f"{colours[1]}{centre}\x1b[39m"
        line += " " * max(1, w - 1 - visible_width(line) - len(right)) + f"{colours[2]}{right}\x1b[39m"
        return line

    def dialog_gemini(self, w: int) -> list[str]:
        inner = w - 4
        border = G_GREY

        def row(text: str = "") -> str:
            return f"{border}│\x1b[39m {pad(text, inner)} {border}│\x1b[39m"

        msg = (
            "Trusting a folder allows Gemini to execute commands it suggests. This is a security feature to "
            "prevent accidental execution in untrusted directories."
        )
        name = os.path.basename(self.o.cwd.rstrip("/")) or self.o.cwd
        return [
            "",
            f"{border}╭{'─' * (w - 2)}╮\x1b[39m",
            row(f"\x1b[1m{G_WHITE}Do you trust this folder?\x1b[22m\x1b[39m"),
            row(),
            *[row(r) for r in wrap(msg, inner)],
            row(),
            row(f"\x1b[38;2;166;227;161m● 1. Trust folder ({name})\x1b[39m"),
            row("  2. Don't trust (esc)"),
            f"{border}╰{'─' * (w - 2)}╯\x1b[39m",
        ]

    # ----- event loop -----------------------------------------------------------------------------------

    def run(self) -> int:
        """Slow start, then the select() loop; returns the exit status."""
        start = time.monotonic()
        if self.o.slow_start > 0:
            self.paint(["starting…"])
            while (left := start + self.o.slow_start - time.monotonic()) > 0:
                ready, _, _ = select.select([self.in_fd], [], [], min(left, TICK))
                if ready and not os.read(self.in_fd, 65536):
                    return 0
        self.write("\x1b[?2004h")
        self.paint()
        if self.o.frozen:  # a hung agent: the screen stays, keystrokes pile up unread
            while True:
                time.sleep(3600)
        last_frame = time.monotonic()
        while True:
            timeout = TICK
            if self.parser.waiting:
                timeout = ESC_TIMEOUT / 2
            if self.turn is not None:
                nxt = self.turn.die_at if self.turn.die_at is not None else self.turn.ends
                timeout = max(0.0, min(timeout, nxt - time.monotonic()))
            ready, _, _ = select.select([self.in_fd], [], [], timeout)
            now = time.monotonic()
            if ready:
                data = os.read(self.in_fd, 65536)
                if not data:
                    return 0
                for n, ev in enumerate(self.parser.feed(data, now)):
                    self.handle(ev, now, 0.0 if n else now - self.last_input)
                self.last_input = now
            for ev in self.parser.flush(now):
                self.handle(ev, now, now - self.last_input)
            self.advance(now)
            if self.spinning and now - last_frame >= TICK:
                self.frame += 1
                last_frame = now
                self.dirty = True
            if self.resized:
                self.resized = False
                self.dirty = True
            if self.dirty:
                self.paint()

    def restore_screen(self) -> None:
        """Leave the terminal usable: modes off, cursor shown and parked below what was drawn."""
        with contextlib.suppress(OSError):
            _, height = self.size()
            row = min(height, self.painted_rows + 1)
            self.write(f"\x1b[0m\x1b[?2004l\x1b[?25h\x1b[{row};1H")


def parse_args(argv: Sequence[str] | None) -> Options:
    p = argparse.ArgumentParser(prog="fake_agent", description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--style", choices=STYLES, default="claude", help="which agent to look like")
    p.add_argument("--cwd", default=None, help="project path shown on screen (default: os.getcwd())")
    p.add_argument("--turn", type=float, default=2.0, help="seconds each turn works (default 2.0)")
    p.add_argument("--record", metavar="PATH", help="append one JSON line per event here")
    p.add_argument("--swallow-enters", type=int, default=0, metavar="N", help="ignore the first N submit Enters")
    p.add_argument(
        "--burst-ms",
        type=float,
        default=0.0,
        metavar="X",
        help="an Enter within X ms of other input is a newline",
    )
    p.add_argument("--slow-start", type=float, default=0.0, metavar="S", help="show 'starting…' for S s, drop input")
    p.add_argument("--no-spinner", action="store_true", help="working turns show no working line")
    p.add_argument("--die-mid-turn", action="store_true", help="exit 3 halfway through the first turn")
    p.add_argument("--rate-limit", action="store_true", help="show a usage-limit banner; turns end at once")
    p.add_argument("--dialog", action="store_true", help="start on the folder-trust dialog")
    p.add_argument("--frozen", action="store_true", help="never read stdin after start (a hung agent)")
    p.add_argument(
        "--paste-collapse",
        type=int,
        default=None,
        metavar="N",
        help="claude: collapse pastes over N lines (0=off)",
    )
    p.add_argument(
        "--lf-newline", action="store_true", help="a raw LF (Ctrl-J) inserts a newline instead of submitting"
    )
    p.add_argument("--no-echo", action="store_true", help="never reply with a requested CANARY token")
    a = p.parse_args(argv)
    collapse = a.paste_collapse if a.paste_collapse is not None else (2 if a.style == "claude" else 0)
    return Options(
        style=a.style,
        cwd=a.cwd if a.cwd is not None else os.getcwd(),
        turn=max(0.0, a.turn),
        record=a.record,
        swallow_enters=max(0, a.swallow_enters),
        burst_ms=max(0.0, a.burst_ms),
        slow_start=max(0.0, a.slow_start),
        no_spinner=a.no_spinner,
        die_mid_turn=a.die_mid_turn,
        rate_limit=a.rate_limit,
        dialog=a.dialog,
        frozen=a.frozen,
        paste_collapse=max(0, collapse),
        lf_newline=a.lf_newline,
        no_echo=a.no_echo,
    )


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    in_fd, out_fd = sys.stdin.fileno(), sys.stdout.fileno()
    agent = FakeAgent(opts, in_fd, out_fd)
    saved = termios.tcgetattr(in_fd) if os.isatty(in_fd) else None

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        raise AgentExit(128 + signum)

    def on_winch(_signum: int, _frame: FrameType | None) -> None:
        agent.resized = True

    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT):
        signal.signal(sig, on_signal)
    signal.signal(signal.SIGWINCH, on_winch)
    try:
        if saved is not None:
            tty.setraw(in_fd)
        agent.write("\x1b[?25l")
        return agent.run()
    except AgentExit as e:
        return e.status
    except OSError:  # the pane went away under us (EIO); nothing left to draw on
        return 1
    finally:
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT):
            signal.signal(sig, signal.SIG_IGN)
        agent.restore_screen()
        if saved is not None:
            with contextlib.suppress(termios.error, OSError):
                termios.tcsetattr(in_fd, termios.TCSADRAIN, saved)
        agent.rec.close()


if __name__ == "__main__":
    sys.exit(main())
