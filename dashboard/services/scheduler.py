"""The scheduler: fires due runs exactly once, verifies each one, and says loudly when a schedule keeps failing.

One `Scheduler` runs inside the daemon (one per state directory, see `daemon.py`); `dispatch schedule
run NAME` uses the same `fire()` in its own process. Every run goes through the send pipeline (its
verdict is the delivery), then, with an expected string, through the canary check (its result is the
run's outcome). A run is claimed in the database before it fires, and a daemon that starts after a
crash settles what the dead one left half-done without sending anything twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from dashboard.adapters.process import pid_alive
from dashboard.core.model import Run, Schedule, SendRecord, ServerRef, Verdict
from dashboard.core.ports import LogNotWritten, ScheduleBook, SendLog, StoreError
from dashboard.core.registry import RegistryError
from dashboard.core.schedule import ScheduleError, Spec, decide
from dashboard.services.canary import canary_prompt, canary_token, wait_for_canary
from dashboard.services.send import SendOptions, send

if TYPE_CHECKING:
    from dashboard.core.ports import TmuxHost
    from dashboard.services.fleet import Fleet


def spec_of(s: Schedule) -> Spec:
    return Spec(s.kind, s.spec, s.anchor, s.tz)


@dataclass
class Scheduler:
    """Claims and fires due runs; `tick()` is one pass, `serve()` the daemon's loop."""

    store: SendLog
    schedules: ScheduleBook
    fleet_factory: Callable[[], Fleet]
    tz: tzinfo
    clock: Callable[[], float] = time.time
    options: SendOptions = field(default_factory=SendOptions)
    pid: int = field(default_factory=os.getpid)
    log: Callable[[str], None] = print
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    _fleet: Fleet | None = None

    @property
    def fleet(self) -> Fleet:
        if self._fleet is None:
            self._fleet = self.fleet_factory()
        return self._fleet

    async def tick(self) -> list[Run]:
        """Claim every due run (missed ones per policy) and start firing them; returns what was claimed."""
        now = self.clock()
        fired: list[Run] = []
        for s in await self.schedules.due(now):
            assert s.next_fire is not None
            try:
                d = decide(spec_of(s), s.next_fire, now, s.missed, self.tz)
            except ScheduleError as exc:
                self.log(f"schedule {s.name}: {exc}; paused")
                await self.schedules.set_paused(s.name, True)
                continue
            run = await self.schedules.claim(s, s.next_fire, d.fire, list(d.missed), d.next, self.pid)
            if d.missed:
                more = f" (+{d.more_missed} more)" if d.more_missed else ""
                self.log(f"schedule {s.name}: {len(d.missed)} scheduled time(s) missed{more} (daemon down or late)")
            if run is not None:
                fired.append(run)
                self._spawn(self.fire(s, run))
        return fired

    def _spawn(self, coro: Coroutine[Any, Any, object]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float) -> None:
        """Let in-flight runs finish (a clean stop); what does not finish in time is cancelled and recorded."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def fire(self, s: Schedule, run: Run) -> Run:
        """One run: send (verified), then the canary if there is one; record the outcome and the schedule's health."""
        run.fired = self.clock()
        prompt = s.prompt
        expect = s.expect
        if s.canary:
            token = canary_token()
            prompt, expect = canary_prompt(token, s.prompt), token
        run.expect = expect
        await self.schedules.update_run(run)  # the token is on record before anything is sent
        try:
            host = self._host(s)
        except RegistryError as exc:
            return await self._finish(s, run, "failed", f"cannot route {s.target}: {exc}")
        opts = SendOptions(
            delay=self.options.delay,
            when_idle=s.when_idle,
            idle_timeout=max(5.0, min(600.0, s.expect_timeout)),
            verify_ms=self.options.verify_ms,
        )
        try:
            rec = await send(host, self.store, s.target, prompt, opts, meta={"schedule_run": run.id})
        except LogNotWritten as exc:
            # the pane was reached and the verdict is known (the record waits in a spill file): judge the run by it
            assert isinstance(exc.record, SendRecord)
            rec = exc.record
        except StoreError as exc:
            return await self._finish(s, run, "failed", f"the log refused the send before it began: {exc}")
        except asyncio.CancelledError:
            run.detail = "cancelled (daemon stopping) before a verdict"
            await asyncio.shield(self._finish(s, run, "interrupted", run.detail))
            raise
        run.send, run.verdict = rec.id, str(rec.verdict)
        if not rec.verdict.delivered:
            return await self._finish(s, run, "failed", f"not delivered: {rec.verdict} — {rec.reason}")
        if expect is None:
            return await self._finish(s, run, "ok", f"delivered: {rec.verdict}")
        result = await wait_for_canary(host, rec.pane_id or s.target, prompt, expect, s.expect_timeout)
        run.canary = "passed" if result.passed else "failed"
        outcome = "ok" if result.passed else "failed"
        return await self._finish(s, run, outcome, f"{rec.verdict}; canary {run.canary}: {result.evidence}")

    async def _finish(self, s: Schedule, run: Run, outcome: str, detail: str) -> Run:
        run.outcome, run.detail, run.finished = outcome, detail, self.clock()
        old, failures = await self.schedules.record_outcome(s, run)
        self.log(f"schedule {s.name}: run {run.id} {outcome} — {detail}")
        if outcome in ("failed", "interrupted") and failures >= s.fail_after:
            if old != "failing":
                self.log(f"schedule {s.name}: FAILING after {failures} failed runs in a row")
            if s.on_failure and old != "failing":
                await self._on_failure(s, run, failures)
        elif old == "failing" and outcome == "ok":
            self.log(f"schedule {s.name}: recovered")
        return run

    async def _on_failure(self, s: Schedule, run: Run, failures: int) -> None:
        """The operator's hook, once when a schedule turns failing: details in the environment and on stdin."""
        assert s.on_failure is not None
        env = {
            **os.environ,
            "DISPATCH_SCHEDULE": s.name,
            "DISPATCH_TARGET": s.target,
            "DISPATCH_RUN": str(run.id),
            "DISPATCH_FAILURES": str(failures),
            "DISPATCH_REASON": run.detail,
        }
        details = json.dumps({"schedule": s.to_json(), "run": run.to_json(), "failures": failures}).encode()
        try:
            proc = await asyncio.create_subprocess_shell(
                s.on_failure,
                env=env,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
            await asyncio.wait_for(proc.communicate(details), 30)
        except (OSError, TimeoutError) as exc:
            self.log(f"schedule {s.name}: on_failure command failed: {exc}")

    async def recover(self) -> list[Run]:
        """Settle runs a dead daemon claimed and never finished — without ever sending twice.

        No send started: the prompt never left, so the run fires now (within the grace period) or
        follows the missed-run policy. A send that started but has no verdict may or may not have
        arrived: the run is `interrupted`, never re-sent. A send with a verdict: the run is finished
        from it (and its canary looked for once more).
        """
        settled: list[Run] = []
        now = self.clock()
        for run in await self.schedules.unfinished():
            if run.daemon is not None and run.daemon != self.pid and pid_alive(run.daemon):
                continue  # still being fired by a live process (`dispatch schedule run`)
            s = await self.schedules.by_id(run.schedule)
            if s is None:
                continue
            assert run.id is not None
            send_id = await self.schedules.send_of(run.id)
            rec = await self.store.get(send_id, snapshots=False) if send_id is not None else None
            if rec is None:
                if now - run.scheduled <= 60:
                    self.log(f"schedule {s.name}: run {run.id} was claimed but never sent; firing it now")
                    self._spawn(self.fire(s, run))
                else:
                    # long ago: the schedule's own missed-run policy (in tick) decides about catching up, once
                    await self._finish(s, run, "missed", "claimed by a daemon that died before sending")
            elif rec.verdict in (Verdict.PENDING, Verdict.INTERRUPTED):
                # awaited, not spawned: a leftover must be completed before the next run pastes over it
                await self._settle_pending(s, run, rec)
            else:
                await self._conclude(s, run, rec, rec.prompt, " (settled after a restart)")
            settled.append(run)
        return settled

    async def _settle_pending(self, s: Schedule, run: Run, rec: SendRecord) -> None:
        """Settle a send cut off mid-way, without ever sending it twice.

        If its exact text still waits in the composer, the paste happened and the Enter did not: the
        submit key alone completes it, once. Otherwise it may have arrived: `interrupted`, not re-sent.
        """
        rec.verdict = Verdict.INTERRUPTED
        rec.reason = "interrupted: the daemon died before a verdict"
        left = await self._leftover(rec)
        if left is None:
            await self.store.finish_send(rec)
            run.send = rec.id
            why = f"the daemon died mid-send (send #{rec.id}); not re-sent, to avoid a duplicate"
            await self._finish(s, run, "interrupted", why)
            return
        host = self.fleet.host_of(rec.machine, rec.server)
        opts = replace(self.options, leftover=left, leftover_only=True)
        assert rec.pane_id is not None  # _leftover found the pane
        done = await send(
            host, self.store, rec.pane_id, rec.prompt, opts, meta={"schedule_run": run.id}, resend_of=rec.id,
            server=ServerRef.parse(rec.server),
        )  # fmt: skip
        rec.reason = f"interrupted after the paste; completed by send #{done.id} (submit key only)"
        await self.store.finish_send(rec)
        await self._conclude(s, run, done, rec.prompt, " (completed after a restart: submit key only)")

    async def _conclude(self, s: Schedule, run: Run, rec: SendRecord, prompt: str, how: str) -> None:
        """Finish a recovered run from its send's verdict; a canary is looked for in the background."""
        run.send, run.verdict = rec.id, str(rec.verdict)
        if not rec.verdict.delivered:
            await self._finish(s, run, "failed", f"not delivered{how}: {rec.verdict} — {rec.reason}")
        elif run.expect is None:
            await self._finish(s, run, "ok", f"delivered: {rec.verdict}{how}")
        else:
            self._spawn(self._settle_canary(s, run, rec.pane_id or s.target, prompt))

    def _host(self, s: Schedule) -> TmuxHost:
        """The schedule's host: its machine, on the tmux server it was made for (not the daemon's -L)."""
        host, _ = self.fleet.route(s.target)
        return host.for_server(ServerRef(s.server, 0, 0)) if s.server else host

    async def _leftover(self, rec: SendRecord) -> str | None:
        """The composer's text when it is exactly the cut-off send's prompt, on its own pane and server."""
        from dashboard.core.classify import classify
        from dashboard.core.ports import TmuxError
        from dashboard.core.screen import parse_capture
        from dashboard.core.verdict import composer_holds

        server = ServerRef.parse(rec.server)
        if rec.pane_id is None or server is None:
            return None
        try:
            host = self.fleet.host_of(rec.machine, rec.server)
            pane = await host.pane(rec.pane_id)
            if pane is None or pane.server != server:
                return None
            screen = parse_capture(await host.capture(pane.pane_id), height=pane.height)
        except (RegistryError, TmuxError):
            return None
        composer = classify(pane, screen).composer
        return composer if composer_holds(composer, rec.prompt) else None

    async def _settle_canary(self, s: Schedule, run: Run, pane: str, prompt: str) -> None:
        assert run.expect is not None
        try:
            host = self._host(s)
        except RegistryError as exc:
            await self._finish(s, run, "failed", f"cannot route {s.target}: {exc}")
            return
        remaining = max(0.0, s.expect_timeout - (self.clock() - (run.fired or run.scheduled)))
        result = await wait_for_canary(host, pane, prompt, run.expect, remaining)
        run.canary = "passed" if result.passed else "failed"
        await self._finish(s, run, "ok" if result.passed else "failed", f"canary {run.canary}: {result.evidence}")

    async def serve(self, stop: asyncio.Event, *, max_sleep: float = 1.0) -> None:
        """The daemon loop: recover, then tick until `stop` is set; the database is re-read every pass."""
        await self.recover()
        while not stop.is_set():
            try:
                await self.tick()
                upcoming = await self.schedules.next_due()
            except StoreError as exc:
                self.log(f"scheduler: {exc}; retrying")
                upcoming = None
            wait = max_sleep if upcoming is None else min(max_sleep, max(0.05, upcoming - self.clock()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)

    async def close(self) -> None:
        """After `drain()`: in-flight runs keep their connections until they are done."""
        if self._fleet is not None:
            await self._fleet.close()
