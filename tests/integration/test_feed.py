"""The control-mode feed on a real tmux server: what it reports, what it leaves alone, how it recovers."""

from __future__ import annotations

import asyncio
import subprocess

from dashboard.adapters.feed import ControlFeed
from dashboard.services.watch import PaneWatcher
from tests.feeds import until as _until
from tests.integration.conftest import Bench


def _clients(bench: Bench) -> list[str]:
    return [c for c in bench.server.cmd("list-clients", "-F", "#{client_flags}").stdout if c]


def _sizes(bench: Bench) -> list[str]:
    return sorted(bench.server.cmd("list-windows", "-a", "-F", "#{window_id} #{window_width}x#{window_height}").stdout)


async def test_output_in_any_session_names_its_pane(bench: Bench) -> None:
    a, b = bench.shell("a"), bench.shell("b")
    before = _sizes(bench)
    feed = ControlFeed(bench.host)
    try:
        await feed.follow({"a", "b"})
        assert feed.live
        assert len(_clients(bench)) == 2  # one control client per session: tmux sends output per session
        assert all("read-only" in c and "ignore-size" in c for c in _clients(bench))
        await _until(feed, relist=True)  # the start itself: whatever printed before was not seen
        bench.server.cmd("send-keys", "-t", b, "echo printed-in-b", "Enter")
        got = await _until(feed, b)
        assert b in got.panes and a not in got.panes
        bench.server.cmd("send-keys", "-t", a, "echo printed-in-a", "Enter")
        assert a in (await _until(feed, a)).panes
        assert _sizes(bench) == before  # a control client never resizes a window
        bench.server.cmd("new-window", "-t", "a:")
        assert (await _until(feed, relist=True)).relist  # a new window: only a list finds its pane
    finally:
        await feed.close()
    assert _clients(bench) == []  # closing detaches every client: nothing left behind
    assert not feed.live


async def test_a_session_that_dies_when_unattached_is_never_attached(bench: Bench) -> None:
    """Our detach would be its last one and tmux would destroy it: it is surveyed, not followed."""
    bench.shell("keep")
    bench.shell("fragile")
    # the operator's own client keeps it alive (the option destroys a session with none at once)
    user = subprocess.Popen(
        ["tmux", "-L", str(bench.server.socket_name), "-C", "attach", "-t", "fragile"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            if _clients(bench):
                break
            await asyncio.sleep(0.02)
        bench.server.cmd("set-option", "-t", "fragile", "destroy-unattached", "on")
        feed = ControlFeed(bench.host)
        await feed.follow({"keep", "fragile"})
        assert feed.skipped == ["fragile"] and not feed.live  # honest: one session is only polled
        assert len(_clients(bench)) == 2  # the operator's and ours on "keep"
        await feed.close()
        assert bench.server.cmd("has-session", "-t", "fragile").returncode == 0
    finally:
        assert user.stdin is not None
        user.stdin.close()
        user.wait(5)


async def test_the_feed_comes_back_after_a_server_restart(bench: Bench) -> None:
    pane = bench.shell("a")
    feed = ControlFeed(bench.host, backoff=0.0)
    try:
        await feed.follow({"a"})
        await _until(feed, relist=True)
        bench.server.kill()
        assert (await _until(feed, relist=True)).relist  # the feed says it stopped: survey now
        for _ in range(100):
            if not feed.live:
                break
            await asyncio.sleep(0.02)
        assert not feed.live
        await feed.follow({"a"})  # no server: nothing to follow, no error
        assert not feed.live
        pane = bench.shell("a")
        for _ in range(50):  # as a watcher does: follow on each survey until it is live again
            await feed.follow({"a"})
            if feed.live:
                break
            await asyncio.sleep(0.1)
        assert feed.live
        bench.server.cmd("send-keys", "-t", pane, "echo back", "Enter")
        assert pane in (await _until(feed, pane)).panes
    finally:
        await feed.close()


async def test_a_look_at_changed_panes_captures_only_those(bench: Bench) -> None:
    a, b = bench.shell("a"), bench.shell("b")
    watcher = PaneWatcher(bench.host)
    first = {s.pane_id: s for s in await watcher.refresh()}
    assert set(first) == {a, b}
    bench.server.cmd("send-keys", "-t", a, "echo only-a-moved", "Enter")
    bench.server.cmd("send-keys", "-t", b, "echo b-moved-too", "Enter")
    await asyncio.sleep(0.3)
    calls = bench.host.calls
    after = {s.pane_id: s for s in await watcher.refresh(changed={a})}
    assert bench.host.calls - calls == 1  # one capture, no list
    assert "only-a-moved" in "\n".join(after[a].view.screen.lines)
    assert "b-moved-too" not in "\n".join(after[b].view.screen.lines)  # b waits for its own report
    assert after[b].view is first[b].view
