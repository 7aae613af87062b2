"""When a pane needs a person: a dialog to answer, a question, or an agent idle after its turn. Pure.

The agent's own hooks say it best (a Stop after the last prompt; a Notification names the dialog it
shows); the screen says it otherwise (a dialog drawn, or an answer above an idle composer). A
notification counts only while its dialog is on screen, and a working screen overrules a hook's
stale word: an approval granted (or refused) moves on without another receipt.
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.core.model import Classification, PaneState
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
