"""The one delivery path: resolve → record → lease → (the kind's own steps) → verdict → record.

A prompt to an agent (`send`) and a command to a shell (`exec`) differ only in what they do while
they hold the pane. Everything every delivery must get right the same way lives here once:

- the record exists before the pane is touched, naming its pane — machine, tmux server, `%N` — so a
  send cut off from then on can be concluded (and completed);
- a record is tied to its tmux server: a pane on another (or a restarted) server is not its pane;
- one sender per pane: the lease is taken before the first look and released after the verdict;
- failures say what was reached: a log that refuses the outcome gets a spill file and an error that
  names the stage, never "nothing was sent".
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from dashboard.adapters.process import owner, this_host
from dashboard.core.lease import holder_name
from dashboard.core.model import PaneInfo, SendRecord, ServerRef, Verdict
from dashboard.core.ports import (
    HostError,
    Lease,
    LeaseBusy,
    LeaseUnavailable,
    LogNotWritten,
    SendLog,
    StoreError,
    TmuxError,
    TmuxHost,
    WrongMachine,
)
from dashboard.core.registry import resolve_target


@dataclass(frozen=True, slots=True)
class SendEvent:
    """Progress of one delivery, for live views.

    Phases: inspecting → pasting → waiting → submitting → verifying (→ retrying) → done.
    """

    send_id: int | None
    target: str
    phase: str
    detail: str = ""
    verdict: Verdict | None = None


EventSink = Callable[[SendEvent], None]

_BEFORE_ANY_KEY = ("inspecting", "waiting-idle")
"""Phases in which a delivery has only looked at its pane."""


class Stop(Exception):
    """The delivery reached its verdict early (a refusal, a vanished pane, no paste seen)."""

    def __init__(self, verdict: Verdict, reason: str, evidence: Sequence[str] = ()) -> None:
        super().__init__(reason)
        self.verdict, self.reason, self.evidence = verdict, reason, list(evidence)


@dataclass(slots=True)
class Delivery:
    """One delivery in flight: where it goes, its record, and who is watching."""

    host: TmuxHost
    store: SendLog | None
    """None: nothing is recorded (an exec dry run)."""
    rec: SendRecord
    on_event: EventSink | None
    started: float
    begun: asyncio.Future[int] | None = None
    """resolve's insert of the record once started: it runs to its end even if the delivery is cancelled."""
    phase: str = "inspecting"
    """The last phase announced: every key into the pane is announced first (`pasting`, `submitting`)."""

    def emit(self, phase: str, detail: str = "", verdict: Verdict | None = None) -> None:
        self.phase = phase
        if self.on_event is not None:
            self.on_event(SendEvent(self.rec.id, self.rec.target, phase, detail, verdict))

    def ms(self) -> int:
        return round((time.monotonic() - self.started) * 1000)


Steps = Callable[[Delivery], Awaitable[None]]


async def deliver(
    host: TmuxHost, store: SendLog | None, rec: SendRecord, steps: Steps, *, on_event: EventSink | None = None
) -> SendRecord:
    """Run one delivery's steps between its pending record and its finished one.

    Raises StoreError only when the log cannot take the record (or its pane) before the pane is
    touched — nothing was sent then; LogNotWritten when the outcome is known but the log refused
    it (the record waits in a spill file). Host and tmux failures become the record's verdict.
    """
    rec.owner = rec.owner or owner()
    d = Delivery(host, store, rec, on_event, time.monotonic())
    d.emit("inspecting")
    try:
        await steps(d)
    except Stop as stop:
        rec.verdict, rec.reason = stop.verdict, stop.reason
        rec.evidence = rec.evidence or stop.evidence
    except HostError as exc:
        rec.verdict, rec.reason = host_verdict(exc), str(exc)
        rec.evidence = rec.evidence or [f"host:{rec.verdict}"]
    except TmuxError as exc:
        rec.verdict, rec.reason = Verdict.ERROR, f"tmux: {exc}"
    except asyncio.CancelledError:
        # stopped by its caller (Ctrl-C, a warm client that went away): cut off like a killed sender, and
        # said the same way — what the pane shows now, and whether `resend` can complete it
        rec.verdict, rec.reason = Verdict.INTERRUPTED, "stopped before a verdict"
        rec.evidence = [*rec.evidence, "cancelled"]
        rec.elapsed_ms = d.ms()
        if d.begun is not None:  # cut off while its record was being inserted: that insert settles first
            await asyncio.wait({d.begun})
            if d.begun.cancelled() or d.begun.exception() is not None:
                raise  # the log never took it, and the pane was not touched: nothing to record
        if d.phase in _BEFORE_ANY_KEY:  # this process knows: no key went in, so nothing can have arrived
            rec.reason = "stopped before anything was sent to its pane: nothing was pasted or typed"
            rec.evidence.append("nothing-sent")
            if store is not None:
                await asyncio.shield(_finish(store, rec))
            raise
        await asyncio.shield(_interrupted(host, store, rec))
        raise
    except StoreError:
        raise  # the log refused the record or its pane before the pane was touched: nothing was sent
    except (LeaseUnavailable, OSError, ValueError, RuntimeError) as exc:
        # a fault this path did not foresee: the record says so (never `pending` for a live process), then it
        # propagates so it is seen
        rec.verdict, rec.reason = Verdict.ERROR, f"internal error: {type(exc).__name__}: {exc}"
        rec.elapsed_ms = d.ms()
        if store is not None:
            await _finish(store, rec)
        raise
    rec.elapsed_ms = d.ms()
    rec.timings["total_ms"] = rec.elapsed_ms
    if store is not None:
        await _finish(store, rec)
    d.emit("done", rec.reason, rec.verdict)
    return rec


async def _interrupted(host: TmuxHost, store: SendLog | None, rec: SendRecord) -> None:
    from dashboard.services.recovery import pane_now  # recovery reads panes through the fleet, above this

    try:
        rec.reason += "; " + await asyncio.wait_for(pane_now(host, rec), 5.0)
    except (TimeoutError, HostError, TmuxError):
        rec.reason += "; its pane could not be read: it may or may not have been submitted"
    if store is not None:
        await _finish(store, rec)


async def resolve(d: Delivery, panes: Sequence[PaneInfo] | None = None, server: ServerRef | None = None) -> PaneInfo:
    """Find the target's pane exactly, check it is on `server` (when given), and log the record naming it.

    Finding it reads, never touches: the record is written here, pane and server named, in one
    transaction (a batch's in one for all). A log that cannot take it stops the delivery here,
    before the pane is touched; a target that cannot be resolved is logged with its refusal.
    """
    rec, host = d.rec, d.host
    local = rec.target.removeprefix(f"{host.name}:")
    if panes is None and local.startswith("%"):
        pane = await host.pane(local)  # one pane's facts: cheaper than listing the server
    else:
        pane = resolve_target(panes if panes is not None else await host.list_panes(), local)
    if pane is None:
        raise Stop(Verdict.REFUSED, f"no pane '{local}' on {host.describe()}", ["guard:unknown-target"])
    if server is not None and pane.server != server:
        now = f"now {pane.server}" if pane.server else "which no longer says who it is"
        why = f"{pane.pane_id} is on a different tmux server than {server} ({now}): not the same pane"
        raise Stop(Verdict.REFUSED, why, ["guard:server-changed"])
    rec.pane_id, rec.target = pane.pane_id, pane.address
    rec.server = pane.server.key if pane.server else None
    if d.store is not None:
        d.begun = asyncio.ensure_future(d.store.begin_send(rec))
        await asyncio.shield(d.begun)
    return pane


@contextlib.asynccontextmanager
async def leased(d: Delivery, pane: PaneInfo, timeout: float) -> AsyncIterator[Lease]:
    """Hold the pane's lease for the block; another sender holding it past `timeout` is a refusal."""
    holder = holder_name(f"{d.rec.kind} #{d.rec.id}", os.getpid(), this_host())
    try:
        lease = d.host.lease(pane, holder, timeout)
        async with lease:
            d.rec.timings["lease_wait_ms"] = lease.waited_ms
            d.rec.options["lease"] = {"path": lease.path, "waited_ms": lease.waited_ms, "contended": lease.contended}
            yield lease
    except LeaseBusy as busy:
        d.rec.timings["lease_wait_ms"] = busy.waited_ms
        why = f"busy: {busy.holder} holds {pane.pane_id} ({pane.address}); waited {busy.waited_ms} ms (--lease-timeout)"
        raise Stop(Verdict.REFUSED, why, ["guard:leased"]) from None
    except LeaseUnavailable as exc:
        raise Stop(
            Verdict.REFUSED, f"no lease on {pane.pane_id}: {exc}; nothing was sent", ["guard:no-lease"]
        ) from None


def still_held(lease: Lease, rec: SendRecord, stage: str) -> None:
    """A lease held by a keeper on a far machine is lost with its connection: stop before the next key."""
    if not lease.held:
        why = f"the pane's lease was lost {stage} (connection to {rec.machine} dropped); stopped"
        raise Stop(Verdict.ERROR, why, ["lease-lost"])


def host_verdict(exc: HostError) -> Verdict:
    return Verdict.WRONG_MACHINE if isinstance(exc, WrongMachine) else Verdict.UNREACHABLE


async def _finish(store: SendLog, rec: SendRecord) -> None:
    try:
        await store.finish_send(rec)
    except StoreError as exc:
        spill = store.spill(rec)
        kept = f"; the record was kept in {spill} and is logged by the next dispatch command" if spill else ""
        advice = " — do not re-send" if rec.verdict.delivered or rec.attempts else ""
        raise LogNotWritten(f"{_stage(rec)}, but the log could not be written: {exc}{kept}{advice}", rec) from None


def _stage(rec: SendRecord) -> str:
    """What the delivery reached, in words (for errors that happen after the pane was touched)."""
    what = "the command" if rec.kind == "exec" else "the prompt"
    if rec.verdict.delivered:
        return f"{what} was {rec.verdict} ({rec.reason})"
    if rec.attempts:
        return f"the submit key was pressed {rec.attempts}x and the verdict is {rec.verdict} ({rec.reason})"
    if "after-paste" in rec.snapshots:
        return f"{what} was pasted, not submitted: {rec.verdict} ({rec.reason})"
    return f"nothing was pasted: {rec.verdict} ({rec.reason})"
