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
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/[\w-]{32}/", url)  # loopback, and a token in the path
        await page.call("Page.navigate", url=url)
        assert await _until(lambda: page.seen("work:0.0")), "the grid never reached the browser"
        first_byte = await page.call("Runtime.evaluate", expression="document.body.classList.contains('-first-byte')")
        assert first_byte["result"]["value"] is True
        await asyncio.sleep(2.0)  # the first survey focuses the card (it would take the focus back from the prompt)
        # a person clicks into the page first: the terminal's input element takes the keys
        await page.call("Runtime.evaluate", expression="document.querySelector('.xterm-helper-textarea').focus()")
        await page.key("c")
        await asyncio.sleep(1.0)  # the prompt box takes the focus (keys before that are the grid's)
        await page.type("typed in a browser, delivered and verified")
        # the page passes typed text on later than a ctrl key: send once the app has drawn all of it
        assert await _until(lambda: page.seen("delivered and verified")), "the typed text never reached the app"
        await page.key("s", ctrl=True)
        delivered = await _until(lambda: agent.received() == ["typed in a browser, delivered and verified"])
        if not delivered:
            await page.screenshot(tmp_path / "failed.png")
        assert delivered, (agent.received(), tmp_path / "failed.png")
        assert await _until(lambda: page.seen("submitted"))
        await page.screenshot(tmp_path / "browser.png")
        assert (tmp_path / "browser.png").stat().st_size > 10_000


async def test_nothing_is_served_without_the_token_nor_to_another_site(bench: Bench, cli_env: list[str]) -> None:
    """Other users reach loopback too; other pages run in the same browser: the token, the Host, the Origin."""
    async with served(cli_env) as url:
        base = url.rsplit("/", 2)[0]

        def get(path_or_url: str, **headers: str) -> int:
            target = path_or_url if path_or_url.startswith("http") else base + path_or_url
            try:
                with urllib.request.urlopen(urllib.request.Request(target, headers=headers), timeout=10) as r:
                    assert "Set-Cookie" not in r.headers  # the token is never a cookie (it would reach other ports)
                    return int(r.status)
            except urllib.error.HTTPError as exc:
                return exc.code

        assert await asyncio.to_thread(get, url) == 200
        assert await asyncio.to_thread(get, "/") == 404
        assert await asyncio.to_thread(get, "/ws") == 404
        assert await asyncio.to_thread(get, url, Host="rebound.example:80") == 421  # DNS rebinding
        foreign = {"Origin": "http://127.0.0.2:9999", "Upgrade": "websocket", "Connection": "Upgrade",
                   "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}  # fmt: skip
        assert await asyncio.to_thread(get, url + "ws", **foreign) == 403  # a page of another site
        assert await asyncio.to_thread(get, "/static/js/textual.js") == 200  # the page's own script needs none
