"""One prompt to many panes at once: each target verified on its own, all recorded under one batch."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from dashboard.adapters.store import Store
from dashboard.adapters.tmux import TmuxHost, resolve_target
from dashboard.core.guard import normalise_prompt
from dashboard.core.model import SendRecord, Verdict
from dashboard.services.send import EventSink, SendOptions, send


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
            "batch": self.batch,
            "total": self.total,
            "delivered": sum(self.counts[v] for v in ("submitted", "queued")),
            "verdicts": dict(self.counts),
            "ok": self.ok,
            "elapsed_ms": self.elapsed_ms,
        }


async def run_batch(
    host: TmuxHost,
    store: Store,
    targets: Sequence[str],
    prompt: str,
    opts: SendOptions | None = None,
    *,
    on_event: EventSink | None = None,
    concurrency: int = 128,
) -> AsyncIterator[SendRecord]:
    """Yield each target's record as it finishes (fastest first). The batch id is on every record.

    Panes are listed once for the whole batch; a target named twice is refused the second time
    so one pane never gets the prompt twice.
    """
    prompt = normalise_prompt(prompt)
    batch = await store.new_batch(prompt, list(targets))
    panes = await host.list_panes()
    gate = asyncio.Semaphore(concurrency)
    seen: set[str] = set()

    async def one(target: str) -> SendRecord:
        async with gate:
            pane = resolve_target(panes, target)
            key = pane.pane_id if pane else target
            if key in seen:
                rec = SendRecord(target=target, prompt=prompt, machine=host.name, batch=batch)
                rec.pane_id = pane.pane_id if pane else None
                rec.verdict, rec.reason = Verdict.REFUSED, f"{target} is already in this batch"
                rec.evidence = ["guard:duplicate-target"]
                await store.finish_send(rec)
                return rec
            seen.add(key)
            return await send(host, store, target, prompt, opts, batch=batch, panes=panes, on_event=on_event)

    tasks = [asyncio.ensure_future(one(t)) for t in targets]
    try:
        for next_done in asyncio.as_completed(tasks):
            yield await next_done
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await store.finish_batch(batch)
