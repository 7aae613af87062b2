"""The tmux host when the client has no UTF-8 locale, as over a plain SSH exec."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.conftest import Bench


async def test_output_survives_a_client_without_utf8_locale(bench: Bench, monkeypatch: pytest.MonkeyPatch) -> None:
    # without -u, tmux would print '_' for the separators of list-panes and for every non-ASCII
    # character of a capture: no pane would parse, and no spinner or composer glyph would match
    pane = bench.shell("s")
    bench.server.cmd("send-keys", "-t", pane, "-l", "printf '\\342\\234\\273 Working\\n'")
    bench.server.cmd("send-keys", "-t", pane, "Enter")
    for var in ("LC_ALL", "LC_CTYPE", "LANG"):
        monkeypatch.setenv(var, "C")
    panes = await bench.host.list_panes()
    assert [p.pane_id for p in panes] == [pane]
    for _ in range(100):
        if "✻ Working" in await bench.host.capture(pane):
            break
        await asyncio.sleep(0.05)
    assert "✻ Working" in await bench.host.capture(pane)
    assert (await bench.host.capture_many([pane]))[pane] is not None
