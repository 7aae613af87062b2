"""The dashboard's deliveries: send and exec from the composer, batches landing, re-sends, diffs.

A mixin of the app (ui/app.py keeps layout, refresh and selection): every path here calls a
service (send, run_batch, run_exec, resend) and renders its events; nothing here touches tmux or SQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from textual import work
from textual.app import App
from textual.widgets import TextArea

from dashboard.core.agents import known
from dashboard.core.blocklist import check_command
from dashboard.core.guard import check_command_text, check_prompt, check_target, normalise_prompt
from dashboard.core.model import SendRecord
from dashboard.core.ports import SendLog, StoreError
from dashboard.core.registry import LOCAL
from dashboard.services.batch import run_batch
from dashboard.services.delivery import SendEvent
from dashboard.services.execute import ExecOptions, run_exec
from dashboard.services.fleet import Fleet
from dashboard.services.send import CannotResend, SendOptions, resend, send
from dashboard.services.watch import PaneStatus
from dashboard.ui.messages import DiffRequested, ResendRequested, SendFinished, SendProgress
from dashboard.ui.screens import DiffScreen
from dashboard.ui.widgets import BatchPanel, Composer, PaneCard, PaneGrid


class DeliveryActions(App[int]):
    """What the composer and the re-send keys do; the app provides the state declared here."""

    store: SendLog
    fleet: Fleet
    options: SendOptions
    statuses: dict[str, PaneStatus]
    exec_mode: bool
    current: PaneCard | None

    def refresh_panes(self) -> None:
        """A fresh survey (the app's: a send changes what panes show)."""
        raise NotImplementedError

    def selected_cards(self) -> list[PaneCard]:
        """The cards picked with space (the app's selection)."""
        raise NotImplementedError

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
            r = check_target(st.view.pane, cls, known().get(cls.agent), prompt, raw=self.options.raw)
            if r is not None:
                warnings.append(f"{st.view.pane.address}: {r.reason}")
        if warnings:
            self.notify("\n".join(warnings[:6]), title=f"{len(warnings)} will be refused", severity="warning")
        self.query_one(Composer).remember(prompt)  # up on the first line brings it back
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
