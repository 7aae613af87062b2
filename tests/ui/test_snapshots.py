"""Snapshot tests of the main screens on deterministic data (real agent captures, fixed clock and log).

Review changed SVGs in the HTML report before running with --snapshot-update.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import TextArea

from dashboard.ui.widgets import BatchPanel, PaneGrid
from tests.ui.scenes import PROMPT, fleet_scene_app, records, scene_app, schedules_scene_app

SIZE = (160, 48)


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def _ready(pilot: Pilot[Any]) -> None:
    app = pilot.app
    for _ in range(100):
        grid = app.query_one(PaneGrid)
        if grid.cards and all(c.status is not None for c in grid.cards.values()):
            break
        await pilot.pause(0.02)
    app.query_one("#composer", TextArea).cursor_blink = False
    await pilot.pause()


async def _with_batch(pilot: Pilot[Any]) -> None:
    await _ready(pilot)
    app = pilot.app
    app.query_one("#composer", TextArea).insert(PROMPT)
    panel = app.query_one(BatchPanel)
    recs = records()[:6]
    panel.start([(r.pane_id or "", f"{r.target} {r.pane_id}") for r in recs], "batch → 6")
    for r in recs[:-1]:
        r.id = recs.index(r) + 1
        panel.finish(r.pane_id or "", r)
    panel.progress(recs[-1].pane_id or "", "verifying")
    grid = app.query_one(PaneGrid)
    grid.cards["%7"].progress = "verifying"
    grid.cards["%1"].selected = True
    grid.cards["%4"].focus()
    await pilot.pause()


def test_grid_during_a_batch(snap_compare: Any, tmp_path: Path) -> None:
    """The grid by session with state badges (working, idle, stuck-in-composer with its text, shell),
    last verdicts per pane, one pane still verifying; the sends panel with counts and the failure."""
    assert snap_compare(scene_app(tmp_path), terminal_size=SIZE, run_before=_with_batch)


def test_log_screen(snap_compare: Any, tmp_path: Path) -> None:
    """The send log, newest first: six batch sends (one stuck) and a refused send to a shell."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await _ready(pilot)
        await pilot.press("L")
        await pilot.pause(0.2)

    assert snap_compare(scene_app(tmp_path), terminal_size=SIZE, run_before=run_before)


def test_diff_screen(snap_compare: Any, tmp_path: Path) -> None:
    """A stuck send: header with verdict, reason, evidence, attempts; before and after side by side,
    the prompt visible in the after composer, changed rows highlighted."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await _ready(pilot)
        pilot.app.open_diff(4)
        await pilot.pause(0.3)

    assert snap_compare(scene_app(tmp_path), terminal_size=SIZE, run_before=run_before)


def test_help_screen(snap_compare: Any, tmp_path: Path) -> None:
    """The key reference over the grid."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await _ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.2)

    assert snap_compare(scene_app(tmp_path), terminal_size=SIZE, run_before=run_before)


def test_fleet_grid(snap_compare: Any, tmp_path: Path) -> None:
    """Cards grouped by machine and session; the fleet bar shows the healthy machine's counts, the
    machine answering under another identity (expected vs actual) and the one that is down."""
    assert snap_compare(fleet_scene_app(tmp_path), terminal_size=SIZE, run_before=_ready)


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)], ids=["80x24", "120x40", "200x60"])
def test_fleet_grid_fits_the_terminal(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    """From 80x24 up: below 120 columns the prompt goes under the grid; below 32 rows the sends table
    gives its rows to the cards; the footer keeps the keys used most, first."""
    assert snap_compare(fleet_scene_app(tmp_path), terminal_size=size, run_before=_ready)


def test_schedules_screen(snap_compare: Any, tmp_path: Path) -> None:
    """Schedules with their state (one FAILING after three failed runs in a row, one paused), next run,
    the last runs as marks, and the last outcome's reason."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await _ready(pilot)
        await pilot.press("s")
        await pilot.pause(0.5)

    assert snap_compare(schedules_scene_app(tmp_path), terminal_size=SIZE, run_before=run_before)
