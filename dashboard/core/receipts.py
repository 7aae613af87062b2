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


def parse_receipts(raw: bytes) -> list[Receipt]:
    """Spool lines into receipts; a torn or foreign line is skipped (the spool is append-only text)."""
    out = []
    for line in raw.decode(errors="replace").splitlines():
        try:
            d = json.loads(line)
            out.append(Receipt(str(d["event"]), float(d["time"]), str(d["pane"]), str(d["tmux"]),
                               str(d.get("session", "")), d.get("prompt_sha256")))  # fmt: skip
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
