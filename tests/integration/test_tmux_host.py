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


async def test_the_foreground_process_read_from_proc_is_the_one_ps_names(bench: Bench) -> None:
    """Locally the foreground command comes from /proc (no ps per pane): it must say what ps says."""
    from dashboard.adapters.tmux import TmuxClient

    agent = bench.agent("a")
    shell = bench.shell("s")
    busy = bench.shell("b")
    bench.server.cmd("send-keys", "-t", busy, "sleep 30", "Enter")
    for _ in range(100):
        panes = {p.pane_id: p for p in await bench.host.list_panes()}
        if panes[busy].command == "sleep":
            break
        await asyncio.sleep(0.05)
    for pane_id, want in ((agent.pane_id, "dashboard.demo.fake_agent"), (shell, "sh"), (busy, "sleep 30")):
        pane = panes[pane_id]
        read = await bench.host.foreground(pane)
        assert read == await TmuxClient.foreground(bench.host, pane)  # the ps answer, word for word
        assert read is not None and want in read


async def test_a_listing_parses_only_the_lines_that_changed(bench: Bench) -> None:
    a, b = bench.shell("a"), bench.shell("b")
    first = {p.pane_id: p for p in await bench.host.list_panes()}
    bench.server.cmd("select-pane", "-t", b, "-T", "renamed")
    again = {p.pane_id: p for p in await bench.host.list_panes()}
    assert again[a] is first[a]  # the same line: the same facts, not parsed again
    assert again[b] is not first[b] and again[b].title == "renamed"
    bench.server.cmd("kill-session", "-t", "b")
    assert [p.pane_id for p in await bench.host.list_panes()] == [a]
