"""One sender process of a race: sends a round's prompt the instant every sender is released.

Run by tests and bench/contention.py through multiprocessing (spawn): each worker has its own
event loop, store connection (or its own state dir: a second controller) and tmux client, as
separate `dispatch` processes would. The barrier is what makes the senders collide.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier
from pathlib import Path

from dashboard.adapters.config import load_registry
from dashboard.adapters.store import Store
from dashboard.adapters.tmux import LocalTmux
from dashboard.core.timing import DelayPolicy
from dashboard.services.fleet import Fleet
from dashboard.services.send import SendOptions, send


@dataclass(frozen=True)
class Job:
    tag: str
    socket: str
    targets: tuple[str, ...]
    rounds: int
    db: str
    out: str
    delay_ms: float = 30.0
    lease_timeout: float = 5.0
    settle: float = 0.0
    """Seconds to wait after each round (the agents finish their turn)."""
    config: str | None = None
    """A registry (config.toml): targets are then routed over SSH like `dispatch` does."""


def run(job: Job, barrier: Barrier) -> None:
    asyncio.run(_run(job, barrier))


async def _run(job: Job, barrier: Barrier) -> None:
    fleet = Fleet(LocalTmux(socket_name=job.socket), load_registry(Path(job.config)) if job.config else None)
    opts = SendOptions(
        delay=DelayPolicy(fixed_ms=job.delay_ms), verify_ms=3000, retry_ms=300, lease_timeout=job.lease_timeout
    )
    rows: list[dict[str, object]] = []
    async with Store(Path(job.db), busy_timeout_ms=10_000) as store:
        for r in range(job.rounds):
            await asyncio.to_thread(barrier.wait, 60)
            released = time.monotonic()

            async def one(target: str, r: int = r, released: float = released) -> None:
                host, _ = fleet.route(target)
                rec = await send(host, store, target, f"round {r} from {job.tag} to {target}", opts)
                rows.append({**rec.to_json(), "round": r, "tag": job.tag, "prompt": rec.prompt,
                             "lease_wait_ms": rec.timings.get("lease_wait_ms"),
                             "since_release_ms": round((time.monotonic() - released) * 1000)})  # fmt: skip

            await asyncio.gather(*(one(t) for t in job.targets))
            if job.settle:
                await asyncio.sleep(job.settle)
    await fleet.close()
    Path(job.out).write_text("\n".join(json.dumps(r) for r in rows) + "\n")
