"""One prompt to many panes at once: each target verified on its own, all recorded under one batch."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from dashboard.core.guard import normalise_prompt
from dashboard.core.model import PaneInfo, SendRecord, Verdict, batch_ref
from dashboard.core.ports import HostError, SendLog, TmuxHost
from dashboard.core.registry import RegistryError, resolve_target
from dashboard.services.delivery import EventSink, host_verdict
from dashboard.services.fleet import Fleet
from dashboard.services.send import SendOptions, send


@dataclass(slots=True)
class BatchSummary:
    """Counts per verdict; `ok` only when every target was delivered."""

    batch: int
    total: int
    counts: Counter[str] = field(default_factory=Counter)
    elapsed_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.total > 0 and sum(self.counts[v] for v in ("submitted", "queued")) == self.total

    def to_json(self) -> dict[str, object]:
        return {
            "summary": True,
            "batch": batch_ref(self.batch),
            "total": self.total,
            "delivered": sum(self.counts[v] for v in ("submitted", "queued")),
            "verdicts": dict(self.counts),
            "ok": self.ok,
            "elapsed_ms": self.elapsed_ms,
        }


async def run_batch(
    hosts: TmuxHost | Fleet,
    store: SendLog,
    targets: Sequence[str],
    prompt: str,
    opts: SendOptions | None = None,
    *,
    on_event: EventSink | None = None,
    concurrency: int = 128,
) -> AsyncIterator[SendRecord]:
    """Yield each target's record as it finishes (fastest first). The batch id is on every record.

    Targets may span machines (`m1:work:0.1`): each machine's panes are listed once, all machines
    at the same time. A machine that cannot be reached (or is the wrong machine) fails only its own
    targets, each recorded; a target named twice is refused the second time, so one pane never
    gets the prompt twice.
    """
    fleet = Fleet.of(hosts)
    prompt = normalise_prompt(prompt)
    batch = await store.new_batch(prompt, list(targets))
    routed: list[tuple[str, TmuxHost | None, str]] = []
    for target in targets:
        try:
            host, local = fleet.route(target)
            routed.append((target, host, local))
        except RegistryError as exc:
            routed.append((target, None, str(exc)))
    listed = await _list_all({h.name: h for _, h, _ in routed if h is not None})
    gate = asyncio.Semaphore(concurrency)
    seen: set[tuple[str, str]] = set()

    async def record(target: str, machine: str, verdict: Verdict, reason: str, evidence: str) -> SendRecord:
        rec = SendRecord(target=target, prompt=prompt, machine=machine, batch=batch)
        rec.verdict, rec.reason, rec.evidence = verdict, reason, [evidence]
        await store.finish_send(rec)
        return rec

    async def one(target: str, host: TmuxHost | None, local: str) -> SendRecord:
        async with gate:
            if host is None:
                return await record(target, "?", Verdict.REFUSED, local, "guard:unknown-machine")
            panes = listed[host.name]
            if isinstance(panes, HostError):
                return await record(target, host.name, host_verdict(panes), str(panes), f"host:{host_verdict(panes)}")
            pane = resolve_target(panes, local)
            key = (host.name, pane.pane_id if pane else local)
            if key in seen:
                rec = SendRecord(target=target, prompt=prompt, machine=host.name, batch=batch)
                rec.pane_id = pane.pane_id if pane else None
                rec.verdict, rec.reason = Verdict.REFUSED, f"{target} is already in this batch"
                rec.evidence = ["guard:duplicate-target"]
                await store.finish_send(rec)
                return rec
            seen.add(key)
            return await send(host, store, target, prompt, opts, batch=batch, panes=panes, on_event=on_event)

    tasks = [asyncio.ensure_future(one(*r)) for r in routed]
    try:
        for next_done in asyncio.as_completed(tasks):
            yield await next_done
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await store.finish_batch(batch)


async def _list_all(hosts: dict[str, TmuxHost]) -> dict[str, list[PaneInfo] | HostError]:
    """Every host's panes, listed concurrently; a host failure is kept as that host's answer."""

    async def listing(host: TmuxHost) -> list[PaneInfo] | HostError:
        try:
            return await host.list_panes()
        except HostError as exc:
            return exc

    results = await asyncio.gather(*(listing(h) for h in hosts.values()))
    return dict(zip(hosts, results, strict=True))
