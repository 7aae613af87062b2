"""Waiting on a pane feed in tests: its changes, gathered until one names a pane or asks for a list."""

from __future__ import annotations

import asyncio

from dashboard.core.ports import Changes, PaneFeed


async def until(feed: PaneFeed, want: str | None = None, relist: bool = False, timeout: float = 5.0) -> Changes:
    """The feed's changes until one names `want` (or says relist); what else came is kept too."""
    seen = Changes()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        got = await feed.next(deadline - loop.time())
        seen = Changes(seen.panes | got.panes, seen.relist or got.relist)
        if (want is not None and want in seen.panes) or (relist and seen.relist):
            break
    return seen
