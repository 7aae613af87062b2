"""`dispatch serve` in a real headless Chromium: the page loads, the grid is drawn, keys reach the app — a prompt
typed in the browser is delivered to a fake agent, verified."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from dashboard.core.model import PaneState
from tests.browser import CHROMIUM, Chromium
from tests.integration.conftest import ROOT, Bench


@asynccontextmanager
async def served(cli_env: list[str], *flags: str) -> AsyncIterator[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dashboard", *cli_env, "serve", "--port", "0", *flags,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    m = re.search(r"(http://\S+)", line)
    assert m, line
    try:
        yield m.group(1)
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 15)
        with_children = os.killpg  # the app processes of its tabs went with it
        try:
            with_children(proc.pid, 0)
            leftover = True
        except ProcessLookupError:
            leftover = False
        assert not leftover, "dispatch serve left processes behind"


async def _until(cond: object, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.1)
    return False


async def test_the_dashboard_in_a_browser_draws_the_grid_and_takes_keys(
    bench: Bench, cli_env: list[str], tmp_path: Path
) -> None:
    if CHROMIUM is None:
        if os.environ.get("DISPATCH_REQUIRE_BROWSER") == "1":
            pytest.fail("the browser test is required here (DISPATCH_REQUIRE_BROWSER=1) but no Chromium is installed")
        pytest.skip("no Chromium installed (CI installs Debian's chromium)")
    agent = bench.agent("work")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    async with served(cli_env) as url, Chromium(tmp_path / "profile") as page:
        assert url.startswith("http://127.0.0.1:") and "token" not in url  # loopback: no token needed
        await page.call("Page.navigate", url=url)
        assert await _until(lambda: page.seen("work:0.0")), "the grid never reached the browser"
        first_byte = await page.call("Runtime.evaluate", expression="document.body.classList.contains('-first-byte')")
        assert first_byte["result"]["value"] is True
        await asyncio.sleep(1.0)  # the first survey focuses the card
        # a person clicks into the page first: the terminal's input element takes the keys
        await page.call("Runtime.evaluate", expression="document.querySelector('.xterm-helper-textarea').focus()")
        await page.key("c")
        await asyncio.sleep(0.5)  # the prompt box takes the focus (keys before that are the grid's)
        await page.type("typed in a browser, delivered and verified")
        await page.key("s", ctrl=True)
        assert await _until(lambda: agent.received() == ["typed in a browser, delivered and verified"])
        assert await _until(lambda: page.seen("submitted"))
        await page.screenshot(tmp_path / "browser.png")
        assert (tmp_path / "browser.png").stat().st_size > 10_000


async def test_bound_beyond_loopback_every_page_needs_the_token(bench: Bench, cli_env: list[str]) -> None:
    async with served(cli_env, "--host", "0.0.0.0", "--public-url", "http://127.0.0.1:1") as printed:
        token = printed.split("token=", 1)[1]
        async with asyncio.timeout(30):
            port = await _port_of(cli_env)
        base = f"http://127.0.0.1:{port}"
        for path in ("/", "/ws"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                await asyncio.to_thread(urllib.request.urlopen, base + path, timeout=10)
            assert refused.value.code == 403
        with await asyncio.to_thread(urllib.request.urlopen, f"{base}/?token={token}", timeout=10) as ok:
            assert ok.status == 200 and "dispatch_token=" in ok.headers.get("Set-Cookie", "")


async def _port_of(cli_env: list[str]) -> int:
    """The port the newest `dispatch serve` of this test listens on (its URL names the public one)."""
    while True:
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and local.startswith("00000000:") and _owned_by_serve(inode, cli_env):
                return int(local.split(":")[1], 16)
        await asyncio.sleep(0.1)


def _owned_by_serve(inode: str, cli_env: list[str]) -> bool:
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if b"serve" not in cmd or cli_env[-1].encode() not in cmd:
                continue
            return any(
                os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]" for fd in os.listdir(f"/proc/{pid}/fd")
            )
        except OSError:
            continue
    return False
