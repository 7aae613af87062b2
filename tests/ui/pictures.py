"""The static scenes as pictures for screenshots/ (run by scripts/screenshots.py: python -m tests.ui.pictures DIR)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from textual.widgets import TextArea

from dashboard.ui.app import DispatchApp
from dashboard.ui.widgets import PaneGrid
from tests.ui.scenes import fleet_scene_app, schedules_scene_app

SIZE = (160, 48)  # as the snapshot tests and scripts/screenshots.py


def draw(out: Path) -> None:
    for make, name in ((fleet_scene_app, "fleet.svg"), (schedules_scene_app, "schedules.svg")):
        with tempfile.TemporaryDirectory() as home:
            app = make(Path(home))

            async def go(app: DispatchApp = app, name: str = name) -> None:
                async with app.run_test(size=SIZE) as pilot:
                    grid = app.query_one(PaneGrid)
                    while not grid.cards:
                        await pilot.pause(0.05)
                    app.query_one("#composer", TextArea).cursor_blink = False
                    await pilot.pause(0.3)
                    if name == "schedules.svg":
                        await pilot.press("s")
                        await pilot.pause(0.5)
                    app.save_screenshot(name, str(out))

            asyncio.run(go())


if __name__ == "__main__":
    draw(Path(sys.argv[1]))
