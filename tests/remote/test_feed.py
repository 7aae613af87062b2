"""The control-mode feed over a machine's SSH link: pushed changes, nothing left behind, a dropped link said."""

from __future__ import annotations

import asyncio

from dashboard.adapters.config import load_registry
from dashboard.adapters.tmux import LocalTmux
from dashboard.core.ports import Changes
from dashboard.services.fleet import Fleet
from dashboard.services.watch import FleetWatcher
from tests.feeds import until as _until
from tests.remote.conftest import Fleet3


async def test_a_remote_pane_that_prints_is_reported_over_the_link(fleet3: Fleet3) -> None:
    m1, m2 = fleet3.machines[0], fleet3.machines[1]
    fleet3.shell(m1, "a")
    fleet3.shell(m1, "b")
    pane_b = fleet3.tmux(m1, "display-message", "-p", "-t", "b:", "#{pane_id}").strip()
    fleet3.shell(m2, "a")
    fleet = Fleet(LocalTmux(socket_name="unused"), load_registry(fleet3.config()))
    watcher = FleetWatcher(fleet)
    got: list[tuple[str, Changes]] = []
    try:
        await watcher.refresh()
        listening = asyncio.ensure_future(watcher.listen(lambda name, ch: got.append((name, ch)), always=True))
        for _ in range(200):
            await watcher.refresh()
            if all(m.feed for m in watcher.machines.values() if m.name != "local" and m.panes):
                break
            await asyncio.sleep(0.05)
        assert watcher.machines["m1"].feed and watcher.machines["m2"].feed
        clients = fleet3.tmux(m1, "list-clients", "-F", "#{client_flags}").split()
        assert all("read-only" in c for c in clients)  # one per session and the keeper (no-output), read-only
        assert len(clients) == 3 and sum("no-output" in c for c in clients) == 1
        got.clear()
        fleet3.tmux(m1, "send-keys", "-t", pane_b, "echo over-the-link", "Enter")
        for _ in range(160):
            if any(name == "m1" and pane_b in ch.panes for name, ch in got):
                break
            await asyncio.sleep(0.05)
        assert any(name == "m1" and pane_b in ch.panes for name, ch in got)
        assert not any(name == "m2" and ch.panes for name, ch in got)  # m2 printed nothing
        statuses = await watcher.refresh_changed({"m1": {pane_b}})
        screen = next(s for s in statuses if s.key == f"m1:{pane_b}").view.screen
        assert "over-the-link" in "\n".join(screen.lines)
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
    finally:
        await watcher.close()
        await fleet.close()
    for m in (m1, m2):  # the clients detached with the feed, on every machine
        for _ in range(100):
            if not fleet3.tmux(m, "list-clients").strip():
                break
            await asyncio.sleep(0.05)
        assert fleet3.tmux(m, "list-clients").strip() == ""


async def test_a_machine_that_goes_away_stops_its_feed_and_says_so(fleet3: Fleet3) -> None:
    m2 = fleet3.machines[1]
    fleet3.shell(m2, "a")
    fleet = Fleet(LocalTmux(socket_name="unused"), load_registry(fleet3.config()))
    feed = fleet.feed("m2", always=True)
    assert feed is not None
    try:
        await feed.follow({"a"})
        assert feed.live
        await _until(feed, relist=True, timeout=8.0)
        await asyncio.to_thread(fleet3.ns.stop, m2)
        assert (await _until(feed, relist=True, timeout=20)).relist  # the feed's end is a change: survey now
        assert not feed.live
    finally:
        await feed.close()
        await fleet.close()
        await asyncio.to_thread(fleet3.ns.start, m2)
