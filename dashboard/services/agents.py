"""Looking at one pane the way the classifier does, and saying why (`dispatch agents explain`)."""

from __future__ import annotations

from dashboard.core.agents import BY_NAME
from dashboard.core.classify import Explanation, explain
from dashboard.core.model import PaneInfo
from dashboard.core.ports import TmuxHost
from dashboard.core.registry import resolve_target
from dashboard.core.screen import parse_capture


async def explain_pane(host: TmuxHost, local_target: str) -> tuple[PaneInfo, Explanation] | None:
    """The pane a target names on `host` and why it classifies as it does; None when there is no such pane."""
    pane = await host.pane(local_target) if local_target.startswith("%") else None
    if pane is None:
        pane = resolve_target(await host.list_panes(), local_target)
    if pane is None:
        return None
    screen = parse_capture(await host.capture(pane.pane_id), height=pane.height)
    own = any(pane.command.rsplit("/", 1)[-1] in p.processes for p in BY_NAME.values())
    cmdline = None if own else await host.foreground(pane)
    return pane, explain(pane, screen, cmdline)
