"""The agent's own word: receipts its hooks write (dashboard/hooks/receipt.py), matched to a send. Pure.

A receipt is this send's evidence only if it names our pane on our tmux server, carries the hash of
exactly our text, and was appended to the spool after our submit key: the send notes the spool's
length on the pane's machine just before the key (no clocks compared), and only lines written
after that mark count. Hashing is the receipt command's own rule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from dashboard.core.guard import normalise_prompt

SPOOL_DIR = "/tmp/dispatch-receipts-{uid}"
SPOOL_FILE = "receipts.jsonl"
SPOOL_TAIL = 256 * 1024
"""How much of the spool's end is read (the receipts of the last minutes)."""
SUBMIT_EVENT = "UserPromptSubmit"


def prompt_hash(prompt: str) -> str:
    import hashlib  # here, not above: only a pane whose agent writes receipts needs it (~1 ms of every command)

    return hashlib.sha256(normalise_prompt(prompt).encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class Receipt:
    """One spool line: which event, when, in which pane of which tmux server, for which prompt hash."""

    event: str
    time: float
    pane: str
    tmux: str
    session: str
    prompt_sha256: str | None
    message: str = ""
    """A Notification's message (what the agent waits on a person for)."""
    agent: str = ""
    """Which agent's hook wrote it (claude, gemini, codex, opencode; "" from an older receipt command)."""


def parse_receipts(raw: bytes, mentioning: str | None = None) -> list[Receipt]:
    """Spool lines into receipts; a torn or foreign line is skipped (the spool is append-only text).

    `mentioning` (a pane id): only lines that name it are parsed — a send looks for its own pane's
    receipts, and parsing a busy machine's whole spool for each of a batch's sends cost seconds.
    Those lines are found where the id occurs, not by splitting the whole tail into lines (each of
    a batch's sends reads the same 256 KB).
    """
    out = []
    if mentioning is not None:
        lines = [line.decode(errors="replace") for line in _lines_with(raw, f'"{mentioning}"'.encode())]
    else:
        lines = raw.decode(errors="replace").splitlines()
    for line in lines:
        try:
            d = json.loads(line)
            out.append(Receipt(str(d["event"]), float(d["time"]), str(d["pane"]), str(d["tmux"]),
                               str(d.get("session", "")), d.get("prompt_sha256"),
                               str(d.get("message") or ""), str(d.get("agent") or "")))  # fmt: skip
        except (ValueError, KeyError, TypeError):
            continue
    return out


def _lines_with(raw: bytes, needle: bytes) -> list[bytes]:
    """The newline-separated lines of `raw` that contain `needle` (which holds no newline), in order."""
    found = []
    at = raw.find(needle)
    while at >= 0:
        start = raw.rfind(b"\n", 0, at) + 1
        end = raw.find(b"\n", at)
        end = len(raw) if end < 0 else end
        found.append(raw[start:end])
        at = raw.find(needle, end)
    return found


@dataclass(frozen=True, slots=True)
class Spool:
    """The receipt spool on a pane's machine as read once: its length then, and its last bytes."""

    size: int
    tail: bytes

    def after(self, mark: int | None, mentioning: str | None = None) -> list[Receipt]:
        """Receipts appended after byte `mark` (all of them for None, or when the file was replaced since).

        `mentioning`: only those whose line names that pane id.
        """
        if mark is None or self.size < mark:
            return parse_receipts(self.tail, mentioning)
        new = self.size - mark
        return parse_receipts(self.tail[-new:], mentioning) if new > 0 else []


NO_SPOOL = Spool(0, b"")


def matching(receipts: list[Receipt], *, pane: str, socket: str, prompt: str) -> Receipt | None:
    """This send's receipt among those written since its submit key: our pane, our server, our text's hash."""
    digest = prompt_hash(prompt)
    for r in reversed(receipts):
        if r.event == SUBMIT_EVENT and r.pane == pane and r.tmux == socket and r.prompt_sha256 == digest:
            return r
    return None


def pane_has_hooks(receipts: list[Receipt], *, pane: str, socket: str, agent: str | None = None) -> bool:
    """Whether this pane's agent writes receipts (then one is waited for, and a missing one said).

    Until a pane's first receipt the screen is all there is: waiting for receipts that never come
    would slow every send to an agent without hooks. Receipts another agent wrote in the same pane
    (one that ran there before) do not count.
    """
    return any(r.pane == pane and r.tmux == socket and _same_agent(r, agent) for r in receipts)


def _same_agent(r: Receipt, agent: str | None) -> bool:
    return not r.agent or agent is None or r.agent == agent


TURN_END_EVENT = "Stop"
NOTIFICATION_EVENT = "Notification"


@dataclass(frozen=True, slots=True)
class PaneHooks:
    """What a pane's agent last said through its hooks: that it has them, and whether it waits on a person."""

    last_event: str
    last_time: float
    waiting: str | None
    """Since the last prompt it accepted: "turn ended" once a turn ended; else None."""
    notice: str | None = None
    """The agent's latest notification since then (a permission, a question): it counts while a dialog shows."""
    agent: str = ""

    def to_json(self) -> dict[str, object]:
        return {"last_event": self.last_event, "last_time": self.last_time, "waiting": self.waiting,
                "notice": self.notice, "agent": self.agent or None}  # fmt: skip


def by_pane(receipts: list[Receipt], *, socket: str, since: float) -> dict[str, PaneHooks]:
    """Each pane of the server on `socket` whose agent wrote a receipt since `since`.

    `since` is the server's start: pane ids start again after a restart, so an older receipt
    belongs to another pane. When another agent writes in the pane, what the earlier one said is
    dropped (it no longer runs there).
    """
    out: dict[str, PaneHooks] = {}
    for r in receipts:
        if r.tmux != socket or r.time < since or not r.pane:
            continue
        old = out.get(r.pane)
        if old is not None and r.agent and old.agent and r.agent != old.agent:
            old = None
        waiting, notice = (old.waiting, old.notice) if old else (None, None)
        if r.event == SUBMIT_EVENT:
            waiting = notice = None
        elif r.event == TURN_END_EVENT:
            waiting, notice = "turn ended", None
        elif r.event == NOTIFICATION_EVENT:
            notice = r.message or "the agent asks for attention"
        out[r.pane] = PaneHooks(r.event, r.time, waiting, notice, r.agent or (old.agent if old else ""))
    return out
