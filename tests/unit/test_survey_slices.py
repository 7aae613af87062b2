"""A survey classifies each slice of captures as it lands; what it returns does not depend on their order."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from dashboard.core.classify import classify
from dashboard.core.model import PaneInfo
from dashboard.core.screen import parse_capture
from dashboard.services import panes as P
from tests.conftest import CAPTURES
from tests.ui.static import StaticHost

SCREENS = [p.read_text() for p in sorted(CAPTURES.glob("*/*.ansi.txt"))] + ["", "$ ls\nfile\n$ \n"]


@dataclass
class LateFirstSlices(StaticHost):
    """Later requests land first; `gone` panes vanish between list and capture."""

    gone: frozenset[str] = frozenset()
    asked: int = 0

    async def capture_many(self, pane_ids: Sequence[str], history: int = 0) -> dict[str, str | None]:
        self.asked += 1
        await asyncio.sleep(0.02 / self.asked)
        screens = await super().capture_many(pane_ids, history)
        return {p: (None if p in self.gone else t) for p, t in screens.items()}


def _host(n: int, gone: frozenset[str] = frozenset()) -> LateFirstSlices:
    commands = ("python3", "claude", "bash", "node", "sleep")
    panes = [
        (PaneInfo(f"%{i}", "s", i, 0, command=commands[i % len(commands)], height=40), SCREENS[i % len(SCREENS)])
        for i in range(n)
    ]
    return LateFirstSlices(panes=panes, gone=gone)


async def test_views_come_back_in_pane_order_whatever_slice_lands_first() -> None:
    n = 2 * P._SLICE + 17
    host = _host(n, gone=frozenset({"%3", f"%{P._SLICE + 1}"}))
    views = await P.survey(host)
    assert host.asked == 3
    expected = [(p, t) for p, t in host.panes if p.pane_id not in host.gone]
    assert [v.pane.pane_id for v in views] == [p.pane_id for p, _ in expected]
    for view, (pane, text) in zip(views, expected, strict=True):
        assert view.cls == classify(view.pane, parse_capture(text, height=pane.height))


async def test_a_second_survey_reuses_unchanged_views_and_remembered_agents() -> None:
    host = _host(P._SLICE + 5)
    known: P.ProfileCache = {}
    memo: dict[str, tuple[str, P.PaneView]] = {}
    first = await P.survey(host, known, memo)
    assert set(memo) == {v.pane.pane_id for v in first}
    assert known == {(v.pane.pane_id, v.pane.pid, v.pane.command): v.cls.agent for v in first if v.cls.agent}
    again = await P.survey(host, known, memo)
    assert all(a.screen is b.screen and a.cls is b.cls for a, b in zip(first, again, strict=True))
