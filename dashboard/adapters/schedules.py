"""Schedules and runs in the SQLite log: the claim that makes every scheduled time fire at most once.

A due run is claimed by one transaction that moves the schedule's `next_fire` on *only if it still
holds the value the claimer read* and inserts the run row; `UNIQUE(schedule, scheduled)` backs it
up. Two daemons racing (or one restarted mid-fire) therefore cannot both fire the same time.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from dashboard.adapters.store import Store
from dashboard.core.model import Run, Schedule
from dashboard.core.ports import StoreError

_COLUMNS = (
    "name", "target", "kind", "spec", "anchor", "tz", "prompt", "canary", "expect", "expect_timeout", "missed",
    "when_idle", "fail_after", "on_failure", "paused", "state", "failures", "next_fire", "created", "server",
)  # fmt: skip


_UPDATE_RUN = (
    "UPDATE runs SET fired=?, finished=?, send=?, verdict=?, canary=?, expect=?, outcome=?, detail=? WHERE id=?"
)


def _run_values(run: Run) -> tuple[object, ...]:
    return (run.fired, run.finished, run.send, run.verdict, run.canary, run.expect, run.outcome, run.detail, run.id)


def _schedule(row: sqlite3.Row) -> Schedule:
    return Schedule(
        id=row["id"],
        name=row["name"],
        target=row["target"],
        server=row["server"],
        kind=row["kind"],
        spec=row["spec"],
        anchor=row["anchor"],
        tz=row["tz"],
        prompt=row["prompt"],
        canary=bool(row["canary"]),
        expect=row["expect"],
        expect_timeout=row["expect_timeout"],
        missed=row["missed"],
        when_idle=bool(row["when_idle"]),
        fail_after=row["fail_after"],
        on_failure=row["on_failure"],
        paused=bool(row["paused"]),
        state=row["state"],
        failures=row["failures"],
        next_fire=row["next_fire"],
        created=row["created"],
    )


def _run(row: sqlite3.Row) -> Run:
    return Run(
        id=row["id"],
        schedule=row["schedule"],
        scheduled=row["scheduled"],
        claimed=row["claimed"],
        fired=row["fired"],
        finished=row["finished"],
        send=row["send"],
        verdict=row["verdict"],
        canary=row["canary"],
        expect=row["expect"],
        outcome=row["outcome"],
        detail=row["detail"],
        daemon=row["daemon"],
        manual=bool(row["manual"]),
    )


class Schedules:
    """Schedule and run queries on an open Store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        try:
            return list(await (await self.store.db.execute(sql, args)).fetchall())
        except sqlite3.Error as exc:
            raise StoreError(f"the log database cannot be used: {self.store.path} ({exc})") from None

    async def add(self, s: Schedule) -> Schedule:
        s.created = s.created or time.time()
        values = [getattr(s, c) for c in _COLUMNS]
        values = [int(v) if isinstance(v, bool) else v for v in values]
        try:
            async with self.store.transaction() as db:
                cur = await db.execute(
                    f"INSERT INTO schedules ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})", values
                )
                s.id = cur.lastrowid
        except sqlite3.IntegrityError:
            raise StoreError(f"a schedule named '{s.name}' already exists") from None
        return s

    async def get(self, name: str) -> Schedule | None:
        rows = await self._all("SELECT * FROM schedules WHERE name = ?", (name,))
        return _schedule(rows[0]) if rows else None

    async def by_id(self, schedule_id: int) -> Schedule | None:
        rows = await self._all("SELECT * FROM schedules WHERE id = ?", (schedule_id,))
        return _schedule(rows[0]) if rows else None

    async def all(self) -> list[Schedule]:
        return [_schedule(r) for r in await self._all("SELECT * FROM schedules ORDER BY name")]

    async def due(self, now: float) -> list[Schedule]:
        rows = await self._all(
            "SELECT * FROM schedules WHERE paused = 0 AND next_fire IS NOT NULL AND next_fire <= ? ORDER BY next_fire",
            (now,),
        )
        return [_schedule(r) for r in rows]

    async def next_due(self) -> float | None:
        rows = await self._all("SELECT min(next_fire) FROM schedules WHERE paused = 0 AND next_fire IS NOT NULL")
        value = rows[0][0] if rows else None
        return float(value) if value is not None else None

    async def set_paused(self, name: str, paused: bool) -> None:
        async with self.store.transaction() as db:
            await db.execute("UPDATE schedules SET paused = ? WHERE name = ?", (int(paused), name))

    async def remove(self, name: str) -> bool:
        async with self.store.transaction() as db:
            row = await (await db.execute("SELECT id FROM schedules WHERE name = ?", (name,))).fetchone()
            if row is None:
                return False
            await db.execute("DELETE FROM runs WHERE schedule = ?", (row[0],))
            await db.execute("DELETE FROM schedules WHERE id = ?", (row[0],))
        return True

    async def claim(
        self, s: Schedule, due_at: float, fire: float | None, missed: list[float], next_fire: float | None, pid: int
    ) -> Run | None:
        """Move the schedule on from `due_at` and record its runs, atomically; None if someone else did."""
        assert s.id is not None
        now = time.time()
        async with self.store.transaction() as db:
            cur = await db.execute(
                "UPDATE schedules SET next_fire = ? WHERE id = ? AND next_fire = ? AND paused = 0",
                (next_fire, s.id, due_at),
            )
            if cur.rowcount != 1:
                return None
            for t in missed:
                await db.execute(
                    "INSERT OR IGNORE INTO runs (schedule, scheduled, claimed, finished, outcome, detail, daemon)"
                    " VALUES (?, ?, ?, ?, 'missed', ?, ?)",
                    (s.id, t, now, now, "not fired: the daemon was down or late at that time (missed-run policy)", pid),
                )
            if fire is None:
                return None
            try:
                cur = await db.execute(
                    "INSERT INTO runs (schedule, scheduled, claimed, outcome, daemon) VALUES (?, ?, ?, 'running', ?)",
                    (s.id, fire, now, pid),
                )
            except sqlite3.IntegrityError:
                return None  # that scheduled time already has a run: never fire it twice
            return Run(s.id, fire, "running", id=cur.lastrowid, claimed=now, daemon=pid)

    async def claim_manual(self, s: Schedule, pid: int) -> Run:
        assert s.id is not None
        now = time.time()
        async with self.store.transaction() as db:
            cur = await db.execute(
                "INSERT INTO runs (schedule, scheduled, claimed, outcome, daemon, manual)"
                " VALUES (?, ?, ?, 'running', ?, 1)",
                (s.id, now, now, pid),
            )
            return Run(s.id, now, "running", id=cur.lastrowid, claimed=now, daemon=pid, manual=True)

    async def update_run(self, run: Run) -> None:
        async with self.store.transaction() as db:
            await db.execute(_UPDATE_RUN, _run_values(run))

    async def record_outcome(self, s: Schedule, run: Run) -> tuple[str, int]:
        """Finish the run and update the schedule's health in one transaction; returns (old state, failures)."""
        assert s.id is not None
        async with self.store.transaction() as db:
            await db.execute(_UPDATE_RUN, _run_values(run))
            cur = await db.execute("SELECT state, failures, fail_after FROM schedules WHERE id=?", (s.id,))
            row = await cur.fetchone()
            if row is None:
                return "ok", 0
            old, failures, threshold = row[0], row[1], row[2]
            failures = failures + 1 if run.outcome in ("failed", "interrupted") else 0
            state = "failing" if failures >= threshold else "ok"
            await db.execute("UPDATE schedules SET failures=?, state=? WHERE id=?", (failures, state, s.id))
            return old, failures

    async def runs(self, schedule_id: int, limit: int = 20) -> list[Run]:
        rows = await self._all("SELECT * FROM runs WHERE schedule = ? ORDER BY scheduled DESC, id DESC LIMIT ?",
                               (schedule_id, limit))  # fmt: skip
        return [_run(r) for r in rows]

    async def unfinished(self) -> list[Run]:
        """Runs a daemon claimed and never finished (it died mid-fire)."""
        return [_run(r) for r in await self._all("SELECT * FROM runs WHERE outcome = 'running' ORDER BY id")]

    async def send_of(self, run_id: int) -> int | None:
        """The send a run started, found through the tag the scheduler puts in the send's options."""
        rows = await self._all(
            "SELECT id FROM sends WHERE json_extract(options, '$.schedule_run') = ? ORDER BY id DESC LIMIT 1", (run_id,)
        )
        return int(rows[0][0]) if rows else None
