"""screenshots/browser.png: the demo fleet's dashboard served by `dispatch serve`, in a real headless Chromium.

Run by scripts/screenshots.py as its own process (python -m tests.ui.browser_picture OUT_DIR); needs Chromium.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import tempfile
import time
from pathlib import Path

from dashboard.demo.server import start_demo, wait_ready
from tests.browser import CHROMIUM, Chromium


async def main(out: Path) -> int:
    if CHROMIUM is None:
        print("browser.png skipped: no Chromium installed", file=sys.stderr)
        return 0
    fleet = await start_demo(turn=6.0)
    try:
        await wait_ready(fleet)
        sock = fleet.host.socket_name or ""
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "dashboard", "-L", sock, "serve", "--port", "0",
            stdout=asyncio.subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
        assert proc.stdout is not None
        url = re.search(r"(http://\S+)", (await proc.stdout.readline()).decode())
        assert url
        try:
            with tempfile.TemporaryDirectory() as profile:
                async with Chromium(Path(profile), size=(1500, 900)) as page:
                    await page.call("Page.navigate", url=url.group(1))
                    deadline = time.monotonic() + 30
                    while not page.seen("api:2.0") and time.monotonic() < deadline:
                        await asyncio.sleep(0.2)
                    await asyncio.sleep(2.5)  # a few surveys: every card and the preview drawn
                    await page.screenshot(out / "browser.png")
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            await proc.wait()
    finally:
        await fleet.stop()
    print(out / "browser.png")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("DISPATCH_HOME", tempfile.mkdtemp(prefix="dispatch-shots-"))
    sys.exit(asyncio.run(main(Path(sys.argv[1]))))
