"""When a pane needs a person: a dialog, a question, a turn ended — and the attention list around it. Pure.

The list adds text stuck in a composer and a failed send to what `needs_input` finds.

The agent's own hooks say it best (a Stop after the last prompt; a Notification names the dialog it
shows); the screen says it otherwise (a dialog drawn, or an answer above an idle composer). A
notification counts only while its dialog is on screen, and a working screen overrules a hook's
stale word: an approval granted (or refused) moves on without another receipt.
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.core.model import Classification, PaneState, SendRecord, Verdict
from dashboard.core.receipts import PaneHooks

NEEDS_INPUT = "needs-input"
"""How a pane that needs a person is shown where its state is (panes, the dashboard)."""


@dataclass(frozen=True, slots=True)
class NeedsInput:
    """Why a pane waits on a person, and who said so ("receipt": the agent's hook; "screen")."""

    why: str
    source: str

    def to_json(self) -> dict[str, str]:
        return {"why": self.why, "source": self.source}


def needs_input(cls: Classification, hooks: PaneHooks | None) -> NeedsInput | None:
    """Whether the pane waits on a person, and why; None when it does not (or is not an agent)."""
    if cls.agent is None or cls.state in (PaneState.WORKING, PaneState.DEAD, PaneState.SHELL):
        return None
    if cls.state is PaneState.DIALOG:
        shown = next((m.partition(": ")[2] for m in cls.markers if m.startswith("dialog: ")), "")
        if hooks is not None and hooks.notice:  # the agent's own words for the dialog it shows
            return NeedsInput(hooks.notice, "receipt")
        return NeedsInput(f"dialog: {shown}" if shown else "dialog", "screen")
    if cls.state is PaneState.STUCK:
        return None  # text waits in the composer: a send's business (resend), not a question
    if hooks is not None and hooks.waiting:
        return NeedsInput(hooks.waiting, "receipt")
    if cls.state is PaneState.IDLE and any(m.startswith("answered: ") for m in cls.markers):
        return NeedsInput("turn ended", "screen")
    return None


@dataclass(frozen=True, slots=True)
class Attention:
    """One thing a person should look at: which pane, what kind of thing, and why, in a line.

    Kinds: `needs-input` (a dialog, a question, a turn ended), `stuck` (text waits in the composer),
    `failed-send` (the pane's last send was not delivered), `limit-lifted` (a rate limit's reset passed).
    """

    key: str
    address: str
    kind: str
    why: str

    def line(self) -> str:
        return f"{self.address}: {self.why}"

    def to_json(self) -> dict[str, str]:
        return {"pane": self.key, "target": self.address, "kind": self.kind, "why": self.why}


def attention(
    key: str, address: str, cls: Classification, needs: NeedsInput | None, last: SendRecord | None
) -> list[Attention]:
    """What about one pane calls for a person now (a rate limit's end needs a clock: the tracker's)."""
    out = []
    if needs is not None:
        out.append(Attention(key, address, NEEDS_INPUT, needs.why))
    said = last is not None and last.verdict is Verdict.STUCK  # the failed send below says it already
    if cls.agent is not None and cls.state is PaneState.STUCK and not said:
        out.append(Attention(key, address, "stuck", "text waits in the composer, not submitted"))
    if last is not None and (last.verdict.undelivered or last.verdict in (Verdict.ERROR, Verdict.INTERRUPTED)):
        out.append(Attention(key, address, "failed-send", f"send #{last.id} {last.verdict}: {last.reason}"))
    return out
