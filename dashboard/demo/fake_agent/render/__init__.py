"""Draw a session as one of the three agents' screens.

One module per style so each can follow its own captures (``shared/agents/captures``) line for line; this
package only picks the style and the screen (trust dialog or main).
"""

from __future__ import annotations

from dashboard.demo.fake_agent.model import Session
from dashboard.demo.fake_agent.render import claude, codex, gemini


def render(s: Session, width: int, height: int) -> list[str]:
    """Every row of the screen, oldest first; the painter keeps the last ``height`` of them."""
    if s.mode == "dialog":
        dialogs = {"claude": claude.trust_dialog, "codex": codex.trust_dialog, "gemini": gemini.trust_dialog}
        return dialogs[s.o.style](s, width)
    if s.o.style == "codex":
        return codex.screen(s, width, height)
    if s.o.style == "gemini":
        return gemini.screen(s, width)
    return claude.screen(s, width)
