"""Make screenshots/*.svg from the real thing: the demo fleet, a batch landing, the log, a diff, help.

Run: python scripts/screenshots.py  (needs tmux; takes ~15 s). Look at the results before committing.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from textual.widgets import DataTable, TextArea  # noqa: E402

from dashboard.core.model import Verdict  # noqa: E402
from dashboard.demo.server import DEMO_PROMPT, start_demo, wait_ready  # noqa: E402
from dashboard.services.bundle import services_for  # noqa: E402
from dashboard.ui.app import DispatchApp  # noqa: E402
from dashboard.ui.screens import DiffScreen, LogScreen  # noqa: E402
from dashboard.ui.widgets import BatchPanel, PaneGrid  # noqa: E402

OUT = ROOT / "screenshots"
SIZE = (160, 48)


async def main() -> None:
    OUT.mkdir(exist_ok=True)
    fleet = await start_demo(turn=6.0)
    try:
        await wait_ready(fleet)
        with tempfile.TemporaryDirectory() as home:
            app = DispatchApp(services_for(fleet.host, Path(home) / "dispatch.db"), refresh_interval=0.5)
            async with app.run_test(size=SIZE) as pilot:
                grid = app.query_one(PaneGrid)
                while len(grid.cards) < len(fleet.agents):
                    await pilot.pause(0.1)
                await pilot.pause(0.5)
                app.save_screenshot("grid.svg", str(OUT))
                await pilot.press("t")  # the dense table view of the same panes
                await pilot.pause(0.3)
                app.save_screenshot("table.svg", str(OUT))
                await pilot.press("t")
                await pilot.pause(0.2)
                app.query_one("#composer", TextArea).insert(DEMO_PROMPT)
                app.action_select_all()
                await pilot.pause(0.1)
                app.action_send()
                panel = app.query_one(BatchPanel)
                # mid-batch: some verdicts in, some still verifying or retrying
                deadline = time.monotonic() + 10
                while len(panel.records) < 6 and time.monotonic() < deadline:
                    await pilot.pause(0.05)
                app.save_screenshot("batch-landing.svg", str(OUT))
                while len(panel.records) < len(fleet.agents) and time.monotonic() < deadline + 10:
                    await pilot.pause(0.1)
                await pilot.pause(0.8)
                app.save_screenshot("batch-done.svg", str(OUT))
                await pilot.press("V")  # the read-only verifier re-checks the batch beside its verdicts
                while not panel.checks:
                    await pilot.pause(0.1)
                await pilot.pause(0.3)
                app.save_screenshot("batch-verified.svg", str(OUT))
                await pilot.press("n")  # what needs a person after the batch
                await pilot.pause(0.3)
                app.save_screenshot("attention.svg", str(OUT))
                await pilot.press("escape")
                await pilot.pause(0.2)
                await pilot.press("L")
                while not (isinstance(app.screen, LogScreen) and app.screen.query_one(DataTable).row_count):
                    await pilot.pause(0.1)
                app.save_screenshot("log.svg", str(OUT))
                stuck = next(r for r in panel.records.values() if r.verdict is Verdict.STUCK)
                await pilot.press("escape")
                app.open_diff(stuck.id or 0)
                while not isinstance(app.screen, DiffScreen):
                    await pilot.pause(0.1)
                await pilot.pause(0.3)
                app.save_screenshot("diff.svg", str(OUT))
                await pilot.press("escape")
                await pilot.pause(0.2)
                await pilot.press("question_mark")
                await pilot.pause(0.3)
                app.save_screenshot("help.svg", str(OUT))
    finally:
        await fleet.stop()
    for f in sorted(OUT.glob("*.svg")):
        print(f.relative_to(ROOT), f"{f.stat().st_size // 1024} KB")


def fleet_shot() -> None:
    """The fleet view (gpu2 under another identity, gpu3 down, accounts) and the schedules screen.

    Their static scenes are test fixtures (tests/ui/scenes.py, built from real captures): the test
    side draws them (tests/ui/pictures.py), run as its own process so nothing here imports tests/.
    """
    subprocess.run([sys.executable, "-m", "tests.ui.pictures", str(OUT)], cwd=ROOT, check=True)


def browser_shot() -> None:
    """The dashboard served to a real headless Chromium (`dispatch serve`): screenshots/browser.png."""
    subprocess.run([sys.executable, "-m", "tests.ui.browser_picture", str(OUT)], cwd=ROOT, check=True)


if __name__ == "__main__":
    os.environ.setdefault("DISPATCH_HOME", tempfile.mkdtemp(prefix="dispatch-shots-"))
    fleet_shot()
    asyncio.run(main())
    browser_shot()
