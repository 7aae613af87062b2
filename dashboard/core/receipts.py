"""The agent's own word: receipts its hooks write (dashboard/hooks/receipt.py), matched to a send. Pure.

A receipt is this send's evidence only if it names our pane on our tmux server, carries the hash of
exactly our text, and was written after the send began. Hashing is the receipt command's own rule.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from dashboard.core.guard import normalise_prompt

SPOOL_DIR = "/tmp/dispatch-receipts-{uid}"
SPOOL_FILE = "receipts.jsonl"
SUBMIT_EVENT = "UserPromptSubmit"
CLOCK_SLACK = 2.0
"""Seconds a receipt may predate the send it matches (the pane's machine keeps its own clock)."""


def prompt_hash(prompt: str) -> str:
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


def parse_receipts(raw: bytes) -> list[Receipt]:
    """Spool lines into receipts; a torn or foreign line is skipped (the spool is append-only text)."""
    out = []
    for line in raw.decode(errors="replace").splitlines():
        try:
            d = json.loads(line)
            out.append(Receipt(str(d["event"]), float(d["time"]), str(d["pane"]), str(d["tmux"]),
                               str(d.get("session", "")), d.get("prompt_sha256"),
                               str(d.get("message") or "")))  # fmt: skip
        except (ValueError, KeyError, TypeError):
            continue
    return out


def matching(receipts: list[Receipt], *, pane: str, socket: str, prompt: str, since: float) -> Receipt | None:
    """This send's receipt: our pane, our server, our text's hash, written since the send began."""
    digest = prompt_hash(prompt)
    for r in reversed(receipts):
        if (r.event == SUBMIT_EVENT and r.pane == pane and r.tmux == socket and r.prompt_sha256 == digest
                and r.time >= since):  # fmt: skip
            return r
    return None


def pane_has_hooks(receipts: list[Receipt], *, pane: str, socket: str) -> bool:
    """Whether this pane's agent writes receipts (then one is waited for, and a missing one said).

    Until a pane's first receipt the screen is all there is: waiting for receipts that never come
    would slow every send to an agent without hooks.
    """
    return any(r.pane == pane and r.tmux == socket for r in receipts)


TURN_END_EVENT = "Stop"
NOTIFICATION_EVENT = "Notification"


@dataclass(frozen=True, slots=True)
class PaneHooks:
    """What a pane's agent last said through its hooks: that it has them, and whether it waits on a person."""

    last_event: str
    last_time: float
    waiting: str | None
    """Since the last prompt it accepted: its latest notification's message, or "turn ended"; else None."""

    def to_json(self) -> dict[str, object]:
        return {"last_event": self.last_event, "last_time": self.last_time, "waiting": self.waiting}


def by_pane(receipts: list[Receipt], *, socket: str, since: float) -> dict[str, PaneHooks]:
    """Each pane of the server on `socket` whose agent wrote a receipt since `since`.

    `since` is the server's start: pane ids start again after a restart, so an older receipt
    belongs to another pane.
    """
    out: dict[str, PaneHooks] = {}
    for r in receipts:
        if r.tmux != socket or r.time < since or not r.pane:
            continue
        old = out.get(r.pane)
        waiting = old.waiting if old else None
        if r.event == SUBMIT_EVENT:
            waiting = None
        elif r.event == TURN_END_EVENT:
            waiting = "turn ended"
        elif r.event == NOTIFICATION_EVENT:
            waiting = r.message or "the agent asks for attention"
        out[r.pane] = PaneHooks(r.event, r.time, waiting)
    return out
