"""The Dispatch dashboard: a live grid of panes, a composer, sends landing in real time, the log.

The app renders survey results and send events, and calls services; tmux and SQLite stay in the
adapters. Refreshes and sends run as async workers on Textual's own event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import Any

from textual import events, on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static, TextArea

from dashboard.core.attention import Attention
from dashboard.core.model import PaneInfo, SendRecord
from dashboard.core.ports import Changes, StoreError, TmuxError
from dashboard.services.attention import AttentionTracker
from dashboard.services.bundle import Services
from dashboard.services.send import SendOptions
from dashboard.services.watch import FeedMode, FleetWatcher, PaneStatus, latest_sends
from dashboard.ui.delivery import DeliveryActions
from dashboard.ui.messages import PanesRefreshed
from dashboard.ui.screens import AttentionScreen, HelpScreen, LogScreen, SchedulesScreen
from dashboard.ui.styles import css_paths
from dashboard.ui.widgets import AccountBar, BatchPanel, Composer, FleetBar, PaneCard, PaneGrid, PaneTable, Preview

STATE_COLOURS = {
    "state-idle": "#5fd787",
    "state-working": "#5fafff",
    "state-stuck": "#d75f00",
    "state-dialog": "#ffd75f",
    "state-needs-input": "#ffaf00",
    "state-limited": "#af5fd7",
    "state-dead": "#870000",
    "state-shell": "#bcbcbc",
    "state-unknown": "#585858",
}


class DispatchApp(DeliveryActions):
    """The operator console over this machine's tmux server and every registered machine."""

    TITLE = "Dispatch"
    CSS_PATH = css_paths()  # type: ignore[assignment]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    """Below 120 columns the side panel (prompt, sends) goes under the grid and the cards get the width."""
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]
    """Below 32 rows the sends table gives its rows to the grid (the log, `L`, still has every send)."""
    BINDINGS = [
        Binding("ctrl+s", "send", "Send", priority=True),
        Binding("c", "compose", "Compose"),
        Binding("question_mark", "help", "Help"),
        Binding("L", "log", "Log"),
        Binding("r", "resend_focused", "Re-send"),
        Binding("s", "schedules", "Schedules"),
        Binding("V", "verify_batch", "Verify batch"),
        Binding("slash", "filter", "Filter"),
        Binding("d", "diff_focused", "Diff"),
        Binding("R", "resend_failures", "Re-send failures"),
        Binding("ctrl+e", "toggle_exec", "Exec mode", priority=True),
        Binding("space", "toggle_select", "Select", show=False),
        Binding("a", "select_all", "Select all", show=False),
        Binding("escape", "clear_selection", "Clear", show=False),
        Binding("n", "attention", "Needs you", show=False),
        Binding("p", "toggle_preview", "Preview", show=False),
        Binding("o", "jump", "Open in tmux", show=False),
        Binding("t", "toggle_table", "Table", show=False),
        Binding("T", "toggle_theme", "Theme", show=False),
        Binding("q", "quit", "Quit"),  # last: a narrow footer keeps the keys used most, first
    ]

    def __init__(
        self,
        services: Services,
        *,
        refresh_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
        options: SendOptions | None = None,
        on_ready: Callable[[DispatchApp], Awaitable[None]] | None = None,
        live: bool = True,
        feed: FeedMode = "auto",
    ) -> None:
        """`services`: the fleet, log and schedule book this dashboard works with (services/bundle.py)."""
        super().__init__()
        self.services = services
        self.fleet = services.fleet
        self.host = self.fleet.local
        self.store = services.log
        self.watcher = FleetWatcher(self.fleet, clock)
        self.refresh_interval = refresh_interval
        self.clock = clock
        self.options = options or SendOptions()
        self.on_ready = on_ready
        self.live = live
        self.feed = feed
        """Follow pane changes through tmux control mode besides the 1 s survey: "auto" where tmux is 3.7 or
        newer (older ones can crash as a control client attaches), "on" everywhere, "off" never (`--feed`)."""
        self.statuses: dict[str, PaneStatus] = {}
        self.current: PaneCard | None = None
        self.exec_mode = False
        """The composer types shell commands into shell panes (exec) instead of prompts into agents."""
        self._first_refresh = True
        self._refreshing = False
        self._want_full = False
        self._want_changed: dict[str, set[str]] = {}
        self._last_sends: dict[str, SendRecord] = {}
        self._shown: PanesRefreshed | None = None
        self._summary: tuple[int, str] | None = None
        self.attention = AttentionTracker(self._called_out, clock=clock)
        """Every pane that needs a person (count in the title, `n` lists them); new ones ring and notify."""
        self._where = ""
        self._store_ready = asyncio.Event()

    # ----- layout and lifecycle -------------------------------------------------------------------

    MAIN_ONLY = frozenset(
        {"send", "toggle_select", "select_all", "clear_selection", "compose", "resend_focused", "resend_failures",
         "diff_focused", "log", "filter", "toggle_exec", "schedules", "verify_batch", "toggle_preview", "jump",
         "attention", "toggle_table"}
    )  # fmt: skip

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grid actions belong to the main screen: hidden and inert on the log, diff and help."""
        return not (action in self.MAIN_ONLY and len(self.screen_stack) > 1)

    def get_css_variables(self) -> dict[str, str]:
        """State colours for every stylesheet, matching the badges PaneCard draws."""
        return {**super().get_css_variables(), **STATE_COLOURS}

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield Input(placeholder="/ filter panes: words, state:idle, agent:claude, session:web", id="filter")
                if len(self.fleet.names) > 1:
                    yield FleetBar("connecting to the fleet…", id="fleet")
                yield AccountBar("", id="accounts")
                yield PaneGrid(self.clock, id="grid")
                yield PaneTable(id="table")
                yield Preview(id="preview")
            with Vertical(id="side"):
                yield Static("prompt → focused pane (or the selection)", id="composer-title")
                yield Composer(id="composer", soft_wrap=True, show_line_numbers=False)
                yield Static("ctrl+s send · space select · r re-send · d diff · L log · ? help", id="hints")
                yield BatchPanel(id="batch")
        yield Footer()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every action of the dashboard in the command palette (ctrl+p), with the key that does it."""
        yield from super().get_system_commands(screen)
        keys = {"ctrl+s": "ctrl+s", "question_mark": "?", "slash": "/", "ctrl+e": "ctrl+e", "space": "space"}
        for b in self.BINDINGS:
            if not isinstance(b, Binding) or b.action in ("quit", "toggle_theme"):
                continue
            key = b.key.split(",")[0]
            name = b.description or b.action.replace("_", " ")
            yield SystemCommand(f"{name} ({keys.get(key, key)})", f"the {keys.get(key, key)} key",
                                partial(self.run_action, b.action))  # fmt: skip

    async def on_mount(self) -> None:
        remote = len(self.fleet.names) - 1
        self._where = self.host.describe() + (f" + {remote} machine{'s' * (remote > 1)}" if remote else "")
        self.sub_title = self._where
        self.refresh_panes()  # the first survey runs while the log opens
        try:
            await self.services.open()
        except StoreError as exc:
            self.exit(1, message=f"dispatch: error: {exc}")
            return
        self._store_ready.set()
        sent = [r.prompt for r in await self.services.log.recent(200) if r.kind == "send"]
        composer = self.query_one(Composer)
        for prompt in reversed(sent):  # oldest first, so the newest ends up first
            composer.remember(prompt)
        if self.live:
            self.set_interval(self.refresh_interval, self.refresh_panes)
            self.set_interval(1.0, self._tick)
            if self.feed != "off":
                self.run_worker(self.watcher.listen(self._feed_changed, always=self.feed == "on"), group="feed")

    async def on_unmount(self) -> None:
        self.workers.cancel_group(self, "feed")
        await self.watcher.close()  # the feeds' control clients detach now, not whenever the loop ends
        await self.services.close()

    def _tick(self) -> None:
        """Age labels ("idle · 12s") move on between surveys: repaint a card on screen when its label changed.

        Cards scrolled out of view or filtered away wait until they are shown; minute-old labels
        change once a minute, so most cards repaint nothing most seconds.
        """
        self._attend()  # a quiet fleet posts no survey, yet text stuck for a while, or a limit's reset, is news
        self._fill_table()  # its ages move on too (only changed cells are rewritten)
        # one widget of a kind: query_one (breadth-first, cached); query() walks every card's widgets (~20k nodes
        # at 1,000 panes: the idle dashboard spent ~80 ms a second there)
        grid = self.query_one_optional(PaneGrid)
        if grid is None:
            return
        view = grid.region
        for card in grid.cards.values():
            if card.display and card.region.overlaps(view) and card.age_text() != card.painted_ages:
                card.refresh()

    # ----- refresh ------------------------------------------------------------------------------

    def refresh_panes(self) -> None:
        """Start a full survey unless one is running: a slow survey is never cancelled by the next tick."""
        self._want_full = True
        self._kick()

    def _feed_changed(self, machine: str, changes: Changes) -> None:
        """A feed saw panes print (look at just those) or panes come and go (survey them all)."""
        if changes.relist:
            self._want_full = True
        self._want_changed.setdefault(machine, set()).update(changes.panes)
        self._kick()

    def _kick(self) -> None:
        if not self._refreshing:
            self._refreshing = True
            self._refresh_worker()

    @work(group="refresh")
    async def _refresh_worker(self) -> None:
        """Surveys one after another while any is wanted; what was asked for meanwhile is merged into the next."""
        try:
            while self._want_full or self._want_changed:
                full, changed = self._want_full, self._want_changed
                self._want_full, self._want_changed = False, {}
                try:
                    if full:
                        statuses = await self.watcher.refresh()
                        last = await self._latest_sends(statuses)
                        if _sends_key(last) != _sends_key(self._last_sends):
                            self._last_sends = last  # kept as it was otherwise: an unchanged survey is skipped
                    else:
                        statuses = await self.watcher.refresh_changed(changed)
                except (TmuxError, StoreError) as exc:
                    self.notify(str(exc), title="refresh failed", severity="error", timeout=4)
                    return
                message = PanesRefreshed(statuses, self._last_sends, dict(self.watcher.machines))
                if not self._same_as_shown(message):  # an idle fleet's survey changes nothing: nothing to redo
                    self._shown = message
                    self.post_message(message)
                if not full:
                    await asyncio.sleep(self.FEED_FRAME)  # a busy fleet is looked at a few times a second, not flat out
        finally:
            self._refreshing = False

    def _same_as_shown(self, message: PanesRefreshed) -> bool:
        """Every pane as last shown (same view, same state since), the same sends and machines."""
        shown = self._shown
        if shown is None or shown.last is not message.last or shown.machines != message.machines:
            return False
        if len(shown.statuses) != len(message.statuses):
            return False
        pairs = zip(shown.statuses, message.statuses, strict=True)
        return all(a.since == b.since and (a.view is b.view or a.view == b.view) for a, b in pairs)

    FEED_FRAME = 0.05
    """Least time between two looks driven by a feed: what printed meanwhile is looked at together."""

    async def _latest_sends(self, statuses: list[PaneStatus]) -> dict[str, SendRecord]:
        await self._store_ready.wait()
        return await latest_sends(self.store, statuses)

    async def on_panes_refreshed(self, message: PanesRefreshed) -> None:
        self.statuses = {s.key: s for s in message.statuses}
        grid = self.query_one_optional(PaneGrid)
        bar = self.query_one_optional(AccountBar)
        if grid is None or bar is None:  # a survey that lands while the app is shutting down
            return
        fleet_bar = self.query_one_optional(FleetBar)
        if fleet_bar is not None:
            fleet_bar.update_machines(message.machines)
        bar.update_accounts(message.statuses)
        await grid.update_panes(message.statuses, message.last, self.fleet.names)
        self._fill_table()
        preview = self.query_one_optional(Preview)
        if self.current is not None and preview is not None:
            preview.show(self.statuses.get(self.current.pane_id))
        counts: dict[str, int] = {}
        for s in message.statuses:
            counts[s.view.shown_state] = counts.get(s.view.shown_state, 0) + 1
        summary = " · ".join(f"{n} {state}" for state, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        up = [m for m in message.machines.values() if m.state == "ok"]
        # live: changes pushed as they happen; polled: seen by the next survey (also when no server answers)
        held = any(m.feed_note for m in up)  # by choice: its tmux could crash as the feed attaches
        how = "live" if up and all(m.feed for m in up) else "polled (feed off: tmux < 3.7)" if held else "polled"
        self.sub_title = f"{self._where} · {how}"
        self._summary = (len(message.statuses), summary)
        self._attend()
        if self._first_refresh:
            self._first_refresh = False
            cards = grid.visible_cards()
            if cards and self.current is None:
                # the grid opens at its top: scrolling to the card would hide its group's header (by a line or two,
                # depending on whether the bars above had their final height yet)
                cards[0].focus(scroll_visible=False)
            if self.on_ready is not None:
                self.run_worker(self.on_ready(self), group="ready")

    # ----- focus and selection ------------------------------------------------------------------

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        focused = event.widget  # not self.focused: this can arrive while the app is shutting down
        if isinstance(focused, PaneCard) and self.screen_stack:
            self.current = focused
            if (preview := self.query_one_optional(Preview)) is not None:
                preview.show(focused.status)
            self.query_one("#composer-title", Static).update(self._composer_title())

    def _composer_title(self) -> str:
        if self.exec_mode:
            return "EXEC (shell command) " + self._prompt_title().removeprefix("prompt ")
        return self._prompt_title()

    def _prompt_title(self) -> str:
        selected = self.selected_cards()
        if len(selected) == 1:
            return "prompt → 1 selected pane"
        if selected:
            return f"prompt → {len(selected)} selected panes (batch)"
        if self.current is not None and self.current.status is not None:
            return f"prompt → {self.current.status.view.pane.address} ({self.current.pane_id})"
        return "prompt → focused pane (or the selection)"

    def selected_cards(self) -> list[PaneCard]:
        return [c for c in self.query_one(PaneGrid).cards.values() if c.selected]

    def action_toggle_select(self) -> None:
        card = self.focused if isinstance(self.focused, PaneCard) else None
        if isinstance(self.focused, PaneTable):
            card = self.current
        if card is not None:
            card.selected = not card.selected
            card.refresh()
            self._fill_table()
            self.query_one("#composer-title", Static).update(self._composer_title())

    def action_select_all(self) -> None:
        for card in self.query_one(PaneGrid).visible_cards():
            card.selected = True
            card.refresh()
        self.query_one("#composer-title", Static).update(self._composer_title())

    def action_clear_selection(self) -> None:
        if self.focused is not None and self.focused.id in ("composer", "filter"):
            if self.current is not None:
                self.current.focus()
            return
        for card in self.selected_cards():
            card.selected = False
            card.refresh()
        self.query_one("#composer-title", Static).update(self._composer_title())

    def _attend(self) -> None:
        """The attention list from what is shown now, and the title that counts it."""
        if self._summary is None:
            return
        self.attention.update(list(self.statuses.values()), self._last_sends)
        waiting = len(self.attention.items)
        # first in the title: a narrow terminal cuts the end of it
        calls = f"⚑ {waiting} need{'s' * (waiting == 1)} you (n) · " if waiting else ""
        n, summary = self._summary
        self.title = f"Dispatch — {calls}{n} pane{'' if n == 1 else 's'}: {summary}" if n else "Dispatch"

    def _called_out(self, item: Attention) -> None:
        """A new attention item: the terminal bell, the operator's --notify command, a toast."""
        self.bell()
        if self.services.notify is not None:
            self.services.notify(item)
        self.notify(item.line(), title=f"needs you · {item.kind}", severity="warning", timeout=6)

    def action_attention(self) -> None:
        def chosen(key: str | None) -> None:
            card = self.query_one(PaneGrid).cards.get(key or "")
            if card is not None:
                card.focus()
                card.scroll_visible()

        self.push_screen(AttentionScreen(list(self.attention.items)), chosen)

    def action_toggle_table(self) -> None:
        """The grid or one dense row per pane (the same panes, filter, focus and selection)."""
        grid, table = self.query_one(PaneGrid), self.query_one(PaneTable)
        table.display = not table.display
        grid.display = not table.display
        if table.display:
            self._fill_table()
            if self.current is not None and self.current.pane_id in table.rows:
                table.move_cursor(row=table.get_row_index(self.current.pane_id))
            table.focus()
        elif self.current is not None:
            self.current.focus()

    def _fill_table(self) -> None:
        table = self.query_one_optional(PaneTable)
        if table is not None and table.display:
            grid = self.query_one(PaneGrid)
            order = {id(c): i for i, c in enumerate(grid.query(PaneCard))}  # the grid's own order
            cards = sorted(grid.cards.values(), key=lambda c: order.get(id(c), len(order)))
            table.show(cards, self.clock())

    @on(DataTable.RowSelected, "#table")
    def _table_chosen(self) -> None:
        self.action_compose()  # enter on a row, as on a card: write a prompt to it

    @on(DataTable.RowHighlighted, "#table")
    def _table_moved(self, event: DataTable.RowHighlighted) -> None:
        """The table's cursor is the focus: the prompt's target and the preview follow it."""
        card = self.query_one(PaneGrid).cards.get(str(event.row_key.value))
        if card is None:
            return
        self.current = card
        self.query_one("#composer-title", Static).update(self._composer_title())
        if (preview := self.query_one_optional(Preview)) is not None:
            preview.show(card.status)

    def action_toggle_preview(self) -> None:
        """Show or hide the focused pane's screen under the grid (the grid gets the room back)."""
        if (preview := self.query_one_optional(Preview)) is not None:
            preview.display = not preview.display

    def action_jump(self) -> None:
        """Go to the focused pane in tmux: switch to it when inside its server, else show how to attach."""
        if self.current is None or self.current.status is None:
            self.notify("focus a card first", timeout=3)
            return
        self._jump(self.current.status.view.pane)

    @work(group="jump")
    async def _jump(self, pane: PaneInfo) -> None:
        done, what = await self.fleet.jump(pane)
        if done:
            self.notify(what, timeout=3)
            return
        self.copy_to_clipboard(what)
        self.notify(what, title="attach with (copied)", timeout=12)

    def action_compose(self) -> None:
        self.query_one("#composer", TextArea).focus()

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_one(PaneGrid).apply_filter(event.value)
        self._fill_table()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        cards = self.query_one(PaneGrid).visible_cards()
        if cards:
            cards[0].focus()

    def on_key(self, event: object) -> None:
        key = getattr(event, "key", "")
        if key == "enter" and isinstance(self.focused, PaneCard):
            self.action_compose()

    def action_toggle_exec(self) -> None:
        """Switch the composer between prompts (to agents) and shell commands (to shells)."""
        self.exec_mode = not self.exec_mode
        self.query_one("#composer-title", Static).update(self._composer_title())
        self.query_one("#composer-title", Static).set_class(self.exec_mode, "-exec")
        self.query_one("#composer", TextArea).set_class(self.exec_mode, "-exec")
        mode = "exec: one-line shell commands to shell panes (blocklist applies)" if self.exec_mode else "prompts"
        self.notify(f"composer sends {mode}", title="mode", timeout=2)

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_log(self) -> None:
        self.push_screen(LogScreen(self.services.log))

    def action_verify_batch(self) -> None:
        panel = self.query_one(BatchPanel)
        if not panel.records:
            self.notify("no batch to verify yet", severity="information")
            return
        self.verify_batch(dict(panel.records))

    @work(group="verify", exclusive=True)
    async def verify_batch(self, records: dict[str, SendRecord]) -> None:
        """Re-inspect the last batch through a read-only view of the fleet, beside the original verdicts."""
        from dashboard.services.verify import verify

        fleet = self.fleet.read_only()
        full = [await self.store.get(r.id, snapshots=True) or r if r.id is not None else r for r in records.values()]
        try:
            report = await verify(fleet, full)
        finally:
            await fleet.close()
        by_id = {c.send_id: c for c in report.checks}
        checks = {k: (by_id[r.id].result, by_id[r.id].why) for k, r in records.items() if r.id in by_id}
        self.query_one(BatchPanel).show_checks(checks)
        refuted = [f"{records[k].target}: {why}" for k, (res, why) in checks.items() if res == "refuted"]
        if refuted:
            self.notify("\n".join(refuted[:6]), title=f"{len(refuted)} refuted", severity="error", timeout=8)
        else:
            self.notify(f"{report.counts['confirmed']} confirmed, {report.counts['unknown']} unknown", title="verified")

    def action_schedules(self) -> None:
        self.push_screen(SchedulesScreen(self.services.schedules, self.services.daemon_pid))


def _sends_key(last: dict[str, SendRecord]) -> dict[str, tuple[int | None, str, str]]:
    """What the grid shows of each pane's last send: which one, its verdict and reason."""
    return {k: (r.id, str(r.verdict), r.reason) for k, r in last.items()}
