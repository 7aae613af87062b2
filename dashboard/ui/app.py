"""The Dispatch dashboard: a live grid of panes, a composer, sends landing in real time, the log.

The app renders survey results and send events, and calls services; tmux and SQLite stay in the
adapters. Refreshes and sends run as async workers on Textual's own event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header, Input, Static, TextArea

from dashboard.core.agents import BY_NAME
from dashboard.core.blocklist import check_command
from dashboard.core.guard import check_command_text, check_prompt, check_target, normalise_prompt
from dashboard.core.model import SendRecord
from dashboard.core.ports import StoreError, TmuxError
from dashboard.core.registry import LOCAL
from dashboard.services.batch import run_batch
from dashboard.services.bundle import Services
from dashboard.services.delivery import SendEvent
from dashboard.services.execute import ExecOptions, run_exec
from dashboard.services.send import CannotResend, SendOptions, resend, send
from dashboard.services.watch import FleetWatcher, PaneStatus
from dashboard.ui.messages import DiffRequested, PanesRefreshed, ResendRequested, SendFinished, SendProgress
from dashboard.ui.screens import DiffScreen, HelpScreen, LogScreen, SchedulesScreen
from dashboard.ui.styles import css_paths
from dashboard.ui.widgets import AccountBar, BatchPanel, FleetBar, PaneCard, PaneGrid

STATE_COLOURS = {
    "state-idle": "#5fd787",
    "state-working": "#5fafff",
    "state-stuck": "#d75f00",
    "state-dialog": "#ffd75f",
    "state-limited": "#af5fd7",
    "state-dead": "#870000",
    "state-shell": "#bcbcbc",
    "state-unknown": "#585858",
}


class DispatchApp(App[int]):
    """The operator console over this machine's tmux server and every registered machine."""

    TITLE = "Dispatch"
    CSS_PATH = css_paths()  # type: ignore[assignment]
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+s", "send", "Send", priority=True),
        Binding("space", "toggle_select", "Select", show=False),
        Binding("a", "select_all", "Select all", show=False),
        Binding("escape", "clear_selection", "Clear", show=False),
        Binding("c", "compose", "Compose"),
        Binding("r", "resend_focused", "Re-send"),
        Binding("R", "resend_failures", "Re-send failures"),
        Binding("d", "diff_focused", "Diff"),
        Binding("l", "log", "Log"),
        Binding("s", "schedules", "Schedules"),
        Binding("V", "verify_batch", "Verify batch"),
        Binding("slash", "filter", "Filter"),
        Binding("t", "toggle_theme", "Theme", show=False),
        Binding("ctrl+e", "toggle_exec", "Exec mode", priority=True),
        Binding("question_mark", "help", "Help"),
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
        self.statuses: dict[str, PaneStatus] = {}
        self.current: PaneCard | None = None
        self.exec_mode = False
        """The composer types shell commands into shell panes (exec) instead of prompts into agents."""
        self._first_refresh = True
        self._refreshing = False
        self._refresh_again = False
        self._store_ready = asyncio.Event()

    # ----- layout and lifecycle -------------------------------------------------------------------

    MAIN_ONLY = frozenset(
        {"send", "toggle_select", "select_all", "clear_selection", "compose", "resend_focused", "resend_failures",
         "diff_focused", "log", "filter", "toggle_exec", "schedules", "verify_batch"}
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
            with Vertical(id="side"):
                yield Static("prompt → focused pane (or the selection)", id="composer-title")
                yield TextArea(id="composer", soft_wrap=True, show_line_numbers=False)
                yield Static("ctrl+s send · space select · r re-send · d diff · l log · ? help", id="hints")
                yield BatchPanel(id="batch")
        yield Footer()

    async def on_mount(self) -> None:
        remote = len(self.fleet.names) - 1
        self.sub_title = self.host.describe() + (f" + {remote} machine{'s' * (remote > 1)}" if remote else "")
        self.refresh_panes()  # the first survey runs while the log opens
        try:
            await self.services.open()
        except StoreError as exc:
            self.exit(1, message=f"dispatch: error: {exc}")
            return
        self._store_ready.set()
        if self.live:
            self.set_interval(self.refresh_interval, self.refresh_panes)
            self.set_interval(1.0, self._tick)

    async def on_unmount(self) -> None:
        await self.services.close()

    def _tick(self) -> None:
        """Age labels ("idle · 12s") move on between surveys; minute-old ones need no repaint per second."""
        now = self.clock()
        for card in self.query_one(PaneGrid).cards.values():
            times = [card.status.since if card.status else 0.0, card.last.created if card.last else 0.0]
            if any(now - t < 90 for t in times):
                card.refresh()

    # ----- refresh ------------------------------------------------------------------------------

    def refresh_panes(self) -> None:
        """Start a survey unless one is running: a slow survey is never cancelled by the next tick."""
        if self._refreshing:
            self._refresh_again = True
            return
        self._refreshing = True
        self._refresh_worker()

    @work(group="refresh")
    async def _refresh_worker(self) -> None:
        try:
            statuses = await self.watcher.refresh()
            await self._store_ready.wait()
            last: dict[str, SendRecord] = {}
            # verdicts by (machine, tmux server): `%N` repeats on every server
            servers = {(st.view.pane.machine, st.view.pane.server.key) for st in statuses if st.view.pane.server}
            for name, server in sorted(servers):
                for pid, rec in (await self.store.latest_by_pane(name, server)).items():
                    last[pid if name == LOCAL else f"{name}:{pid}"] = rec
        except (TmuxError, StoreError) as exc:
            self.notify(str(exc), title="refresh failed", severity="error", timeout=4)
            return
        finally:
            self._refreshing = False
        self.post_message(PanesRefreshed(statuses, last, dict(self.watcher.machines)))
        if self._refresh_again:  # something asked for a fresher look while this one ran
            self._refresh_again = False
            self.refresh_panes()

    async def on_panes_refreshed(self, message: PanesRefreshed) -> None:
        self.statuses = {s.key: s for s in message.statuses}
        grids = self.query(PaneGrid)
        if not grids:  # a survey that lands while the app is shutting down
            return
        grid = grids.first()
        if len(self.fleet.names) > 1:
            self.query_one(FleetBar).update_machines(message.machines)
        self.query_one(AccountBar).update_accounts(message.statuses)
        await grid.update_panes(message.statuses, message.last, self.fleet.names)
        counts: dict[str, int] = {}
        for s in message.statuses:
            counts[s.state.value] = counts.get(s.state.value, 0) + 1
        summary = " · ".join(f"{n} {state}" for state, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        self.title = f"Dispatch — {len(message.statuses)} panes: {summary}" if message.statuses else "Dispatch"
        if self._first_refresh:
            self._first_refresh = False
            cards = grid.visible_cards()
            if cards and self.current is None:
                cards[0].focus()
            if self.on_ready is not None:
                self.run_worker(self.on_ready(self), group="ready")

    # ----- focus and selection ------------------------------------------------------------------

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        focused = event.widget  # not self.focused: this can arrive while the app is shutting down
        if isinstance(focused, PaneCard) and self.screen_stack:
            self.current = focused
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
        if isinstance(self.focused, PaneCard):
            self.focused.selected = not self.focused.selected
            self.focused.refresh()
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

    def action_compose(self) -> None:
        self.query_one("#composer", TextArea).focus()

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_one(PaneGrid).apply_filter(event.value)

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

    # ----- sending ------------------------------------------------------------------------------

    def action_send(self) -> None:
        prompt = self.query_one("#composer", TextArea).text
        focused = self.focused if isinstance(self.focused, PaneCard) else self.current
        cards = self.selected_cards() or ([focused] if focused is not None else [])
        if not cards:
            self.notify("no pane focused or selected", severity="warning")
            return
        if self.exec_mode:
            self._exec_checked(cards, prompt.strip())
            return
        refusal = check_prompt(normalise_prompt(prompt), self.options.max_bytes)
        if refusal is not None:
            self.notify(refusal.reason, title="not sent", severity="warning")
            return
        # the guard's view of what we can see now, shown before anything is sent (the pipeline
        # checks again on a fresh screen and records its own verdict)
        warnings = []
        for card in cards:
            st = self.statuses.get(card.pane_id)
            if st is None:
                continue
            cls = st.view.cls
            r = check_target(st.view.pane, cls, BY_NAME.get(cls.agent or ""), prompt, raw=self.options.raw)
            if r is not None:
                warnings.append(f"{st.view.pane.address}: {r.reason}")
        if warnings:
            self.notify("\n".join(warnings[:6]), title=f"{len(warnings)} will be refused", severity="warning")
        self.dispatch_prompt([c.pane_id for c in cards], prompt)

    def _exec_checked(self, cards: list[PaneCard], command: str) -> None:
        """The blocklist's and the guard's answers before anything is typed (run_exec checks again)."""
        refusal = check_command_text(command)
        block = check_command(command) if refusal is None else None
        if refusal is not None or block is not None:
            why = refusal.reason if refusal is not None else str(block)
            self.notify(why, title="not run", severity="error", timeout=6)
            return
        self.exec_command([c.pane_id for c in cards], command)

    @work(group="send")
    async def exec_command(self, keys: list[str], command: str) -> None:
        """Run one shell command in each of these shell panes, concurrently, recorded like sends."""
        panel = self.query_one(BatchPanel)
        panel.start([(k, self._label(k)) for k in keys], f"exec → {len(keys)}" if len(keys) > 1 else "exec")

        async def one(key: str) -> None:
            host, _ = self.fleet.route(key)
            rec = await run_exec(host, self.store, key, command, ExecOptions(), on_event=self._tagged(key))
            self.post_message(SendFinished(rec))

        try:
            await asyncio.gather(*(one(k) for k in keys))
        except StoreError as exc:
            self.notify(f"{exc} (nothing was run)", title="log unavailable", severity="error")
        self.refresh_panes()

    def _label(self, pane_id: str) -> str:
        st = self.statuses.get(pane_id)
        return f"{st.view.pane.address} {st.pane_id}" if st else pane_id

    @work(group="send")
    async def dispatch_prompt(self, pane_ids: list[str], prompt: str) -> None:
        """Send one prompt to each pane (a batch when more than one), reporting every step."""
        panel = self.query_one(BatchPanel)
        title = f"batch → {len(pane_ids)}" if len(pane_ids) > 1 else "send"
        panel.start([(p, self._label(p)) for p in pane_ids], title)

        def on_event(ev: SendEvent) -> None:
            self.post_message(SendProgress(ev, ev.target if ev.target in self.statuses else None))

        try:
            if len(pane_ids) == 1:
                host, _ = self.fleet.route(pane_ids[0])
                rec = await send(
                    host, self.store, pane_ids[0], prompt, self.options, on_event=self._tagged(pane_ids[0])
                )
                self.post_message(SendFinished(rec))
            else:
                async for rec in run_batch(self.fleet, self.store, pane_ids, prompt, self.options, on_event=on_event):
                    self.post_message(SendFinished(rec))
        except StoreError as exc:
            self.notify(f"{exc} (nothing was sent)", title="log unavailable", severity="error")
        self.refresh_panes()

    def _tagged(self, pane_id: str) -> Callable[[SendEvent], None]:
        def handler(ev: SendEvent) -> None:
            self.post_message(SendProgress(ev, pane_id))

        return handler

    def on_send_progress(self, message: SendProgress) -> None:
        ev = message.event
        pane_id = message.pane_id or self._pane_of(ev.target)
        if pane_id is None:
            return
        card = self.query_one(PaneGrid).cards.get(pane_id)
        phase = "" if ev.phase == "done" else ev.phase
        if card is not None:
            card.progress = phase
            card.refresh()
        if phase:
            self.query_one(BatchPanel).progress(pane_id, phase)

    def _pane_of(self, target: str) -> str | None:
        for key, st in self.statuses.items():
            if target in (key, st.view.pane.address):
                return key
        return None

    def _key_of(self, rec: SendRecord) -> str:
        if rec.pane_id:
            return rec.pane_id if rec.machine in (LOCAL, "") else f"{rec.machine}:{rec.pane_id}"
        return self._pane_of(rec.target) or rec.target

    def on_send_finished(self, message: SendFinished) -> None:
        rec = message.record
        pane_id = self._key_of(rec)
        self.query_one(BatchPanel).finish(rec.requested or pane_id, rec)
        card = self.query_one(PaneGrid).cards.get(pane_id)
        if card is not None:
            card.progress = ""
            card.last = rec
            card.refresh()
        if not rec.verdict.delivered:
            self.notify(f"{rec.target}: {rec.verdict.value} — {rec.reason}", severity="warning", timeout=4)
        self.refresh_panes()  # show the pane's new state now (refreshes are exclusive: these coalesce)

    # ----- re-send and diff ---------------------------------------------------------------------

    def action_resend_focused(self) -> None:
        card = self.current
        rec = card.failed_send if card is not None else None
        if rec is None:
            self.notify("the focused pane has no failed delivery to re-send", severity="information")
            return
        self.resend(rec)

    def action_resend_failures(self) -> None:
        failures = self.query_one(BatchPanel).failures()
        if not failures:
            self.notify("no failures in the last batch", severity="information")
            return
        self.resend_records(failures)

    def resend(self, rec: SendRecord) -> None:
        if not rec.pane_id:
            self.notify(f"send #{rec.id} never reached a pane; nothing to re-send to", severity="warning")
            return
        self.resend_records([rec])

    @work(group="send")
    async def resend_records(self, records: list[SendRecord]) -> None:
        """Re-send failed deliveries concurrently; a text left stuck in a composer only gets Enter again."""
        records = [r for r in records if r.pane_id]
        panel = self.query_one(BatchPanel)
        title = f"re-send of #{records[0].id}" if len(records) == 1 else f"re-send of {len(records)} failures"
        panel.start([(self._key_of(r), self._label(self._key_of(r))) for r in records], title)

        async def one(rec: SendRecord) -> None:
            full = await self.store.get(rec.id or 0) if rec.id is not None else None
            host = self.fleet.host_of(rec.machine or LOCAL, rec.server)
            try:
                done = await resend(
                    host, self.store, full or rec, self.options, on_event=self._tagged(self._key_of(rec))
                )
            except CannotResend as exc:
                self.notify(str(exc), title="not re-sent", severity="warning")
                return
            self.post_message(SendFinished(done))

        try:
            await asyncio.gather(*(one(r) for r in records))
        except StoreError as exc:
            self.notify(f"{exc} (nothing was sent)", title="log unavailable", severity="error")
        self.refresh_panes()

    def on_resend_requested(self, message: ResendRequested) -> None:
        self.resend(message.record)

    def action_diff_focused(self) -> None:
        card = self.current
        if card is None or card.last is None or card.last.id is None:
            self.notify("no send to this pane yet", severity="information")
            return
        self.open_diff(card.last.id)

    def on_diff_requested(self, message: DiffRequested) -> None:
        self.open_diff(message.send_id)

    @work(group="diff")
    async def open_diff(self, send_id: int) -> None:
        rec = await self.store.get(send_id)
        if rec is None:
            self.notify(f"no send #{send_id} in the log", severity="warning")
            return
        await self.push_screen(DiffScreen(rec))
