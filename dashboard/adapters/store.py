"""The send log: SQLite through aiosqlite, WAL mode, schema versioned by `PRAGMA user_version`.

A send is inserted as `pending` before anything touches the pane and completed afterwards, so a
crash mid-send leaves a visible record, and a locked database stops the send before it starts.
Snapshots are zlib-compressed, the second and third against the first (a send's three snapshots, ~24 KB
raw with scrollback, take ~2.5 KB).
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import sqlite3
import time
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from dashboard.core.model import Owner, SendRecord, Verdict
from dashboard.core.ports import StoreError

__all__ = ["MIGRATIONS", "Store", "StoreError"]


MIGRATIONS: tuple[str, ...] = (
    # 1: sends, batches, snapshots
    """
    CREATE TABLE batches (
        id INTEGER PRIMARY KEY,
        created REAL NOT NULL,
        prompt TEXT NOT NULL,
        targets TEXT NOT NULL,
        finished REAL
    );
    CREATE TABLE sends (
        id INTEGER PRIMARY KEY,
        batch INTEGER REFERENCES batches(id),
        created REAL NOT NULL,
        finished REAL,
        machine TEXT NOT NULL DEFAULT 'local',
        target TEXT NOT NULL,
        pane_id TEXT,
        agent TEXT,
        state_before TEXT,
        prompt TEXT NOT NULL,
        delay_ms INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        verdict TEXT NOT NULL,
        evidence TEXT NOT NULL DEFAULT '[]',
        reason TEXT NOT NULL DEFAULT '',
        elapsed_ms INTEGER NOT NULL DEFAULT 0,
        timings TEXT NOT NULL DEFAULT '{}',
        options TEXT NOT NULL DEFAULT '{}',
        resend_of INTEGER REFERENCES sends(id)
    );
    CREATE INDEX sends_pane ON sends(machine, pane_id, id);
    CREATE INDEX sends_batch ON sends(batch, id);
    CREATE TABLE snapshots (
        send INTEGER NOT NULL REFERENCES sends(id) ON DELETE CASCADE,
        phase TEXT NOT NULL,
        taken REAL NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (send, phase)
    );
    """,
    # 2: shell commands (exec) share the log with prompts
    """
    ALTER TABLE sends ADD COLUMN kind TEXT NOT NULL DEFAULT 'send';
    ALTER TABLE sends ADD COLUMN exit_status INTEGER;
    """,
    # 3: schedules and their runs (one row per scheduled time: the UNIQUE pair is what makes a fire happen once)
    """
    CREATE TABLE schedules (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        target TEXT NOT NULL,
        kind TEXT NOT NULL,
        spec TEXT NOT NULL,
        anchor REAL NOT NULL,
        tz TEXT,
        prompt TEXT NOT NULL DEFAULT '',
        canary INTEGER NOT NULL DEFAULT 0,
        expect TEXT,
        expect_timeout REAL NOT NULL DEFAULT 120,
        missed TEXT NOT NULL DEFAULT 'skip',
        when_idle INTEGER NOT NULL DEFAULT 0,
        fail_after INTEGER NOT NULL DEFAULT 3,
        on_failure TEXT,
        paused INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL DEFAULT 'ok',
        failures INTEGER NOT NULL DEFAULT 0,
        next_fire REAL,
        created REAL NOT NULL
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        schedule INTEGER NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
        scheduled REAL NOT NULL,
        claimed REAL,
        fired REAL,
        finished REAL,
        send INTEGER REFERENCES sends(id),
        verdict TEXT,
        canary TEXT,
        expect TEXT,
        outcome TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '',
        daemon INTEGER,
        manual INTEGER NOT NULL DEFAULT 0,
        UNIQUE (schedule, scheduled)
    );
    CREATE INDEX runs_schedule ON runs(schedule, id);
    """,
    # 4: the tmux server of every send (old rows: NULL, "server unknown"); schedules keep their
    # server's socket; pending rows are found fast (the next command concludes cut-off sends)
    """
    ALTER TABLE sends ADD COLUMN server TEXT;
    ALTER TABLE schedules ADD COLUMN server TEXT;
    CREATE INDEX sends_pending ON sends(id) WHERE verdict = 'pending';
    CREATE INDEX sends_server_pane ON sends(machine, server, pane_id, id);
    """,
)


_DELTA = b"\x01"
"""A snapshot packed against another phase of the same send: `\x01 BASE-PHASE \x00` then a zlib stream
whose preset dictionary is that phase's text (a plain zlib stream starts with 0x78)."""


def _pack_all(snapshots: dict[str, str]) -> list[tuple[str, bytes]]:
    """A send's snapshots, the first plain and the others against it.

    The screens of one send differ in a few lines: packed against the first, the second and third cost
    a few hundred bytes instead of ~2 KB each, and a fast compression level loses nothing.
    """
    out: list[tuple[str, bytes]] = []
    base_phase, base = "", b""
    for phase, text in snapshots.items():
        data = text.encode()
        if not base_phase:
            base_phase, base = phase, data[-32768:]  # zlib's window: the most a dictionary can serve
            out.append((phase, zlib.compress(data, 3)))
            continue
        z = zlib.compressobj(3, zdict=base)  # level 1 barely uses a dictionary
        out.append((phase, _DELTA + base_phase.encode() + b"\x00" + z.compress(data) + z.flush()))
    return out


def _unpack_all(rows: list[tuple[str, bytes]]) -> dict[str, str]:
    plain = {phase: zlib.decompress(blob) for phase, blob in rows if not blob.startswith(_DELTA)}
    out: dict[str, str] = {}
    for phase, blob in rows:
        if blob.startswith(_DELTA):
            name, _, data = blob[1:].partition(b"\x00")
            base = plain.get(name.decode(errors="replace"), b"")[-32768:]
            z = zlib.decompressobj(zdict=base)
            out[phase] = (z.decompress(data) + z.flush()).decode(errors="replace")
        else:
            out[phase] = plain[phase].decode(errors="replace")
    return out


class Store:
    """One connection per process; open() migrates, close() closes. Use as an async context manager."""

    def __init__(self, path: Path, *, busy_timeout_ms: int = 3000) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._db: aiosqlite.Connection | None = None
        # one connection serves every concurrent send of a batch; SQLite transactions must not nest
        self._lock = asyncio.Lock()
        self._writes: list[tuple[Callable[[sqlite3.Connection], None], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Store:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreError("the store is not open")
        return self._db

    async def open(self) -> None:
        try:
            # the log holds every prompt and every screen: a new state directory and log are the user's alone
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not self.path.exists():
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))  # SQLite gives its -wal, -shm the same
            self._db = await aiosqlite.connect(self.path, timeout=self.busy_timeout_ms / 1000)
            self._db.row_factory = sqlite3.Row
            await self._db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            await self._db.execute("PRAGMA foreign_keys = ON")
            await self._db.execute("PRAGMA synchronous = NORMAL")
            await self._prepare()
            await self._replay_spills()
        except (sqlite3.Error, OSError) as exc:
            await self.close()
            raise StoreError(_explain(exc, self.path)) from None
        except BaseException:
            await self.close()  # e.g. a schema newer than this code: never leave the connection open
            raise

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()

    async def _prepare(self) -> None:
        """WAL mode and the newest schema, set up once however many commands open a new log at once.

        Both steps need the database to themselves: SQLite answers "locked" at once (no busy wait) to a
        second connection switching a new file to WAL, and two migrators would both see v0. The one
        that gets this lock does them; the others then find them done.
        """
        if await self._journal_mode() == "wal" and await self._version() == len(MIGRATIONS):
            return
        fd = await asyncio.to_thread(_lock, f"{self.path}.migrate")
        try:
            if await self._journal_mode() != "wal":
                mode = await (await self.db.execute("PRAGMA journal_mode = WAL")).fetchone()
                if mode is None or str(mode[0]).lower() != "wal":
                    raise StoreError(f"could not switch {self.path} to WAL mode")
            await self._migrate_locked(await self._version())
        finally:
            os.close(fd)

    async def _journal_mode(self) -> str:
        row = await (await self.db.execute("PRAGMA journal_mode")).fetchone()
        return str(row[0]).lower() if row else ""

    async def _version(self) -> int:
        row = await (await self.db.execute("PRAGMA user_version")).fetchone()
        return int(row[0]) if row else 0

    async def _migrate_locked(self, version: int) -> None:
        if version > len(MIGRATIONS):
            raise StoreError(f"{self.path} has schema v{version}, newer than this dispatch (v{len(MIGRATIONS)})")
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            await self.db.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any error; lock errors become StoreError."""
        async with self._lock:
            try:
                await self.db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(_explain(exc, self.path)) from None
            try:
                yield self.db
            except BaseException:
                await self.db.rollback()
                raise
            try:
                await self.db.commit()
            except sqlite3.Error as exc:
                raise StoreError(_explain(exc, self.path)) from None

    async def new_batch(self, prompt: str, targets: list[str]) -> int:
        async with self.transaction() as db:
            cur = await db.execute(
                "INSERT INTO batches (created, prompt, targets) VALUES (?, ?, ?)",
                (time.time(), prompt, json.dumps(targets)),
            )
            assert cur.lastrowid is not None
            return cur.lastrowid

    async def finish_batch(self, batch: int) -> None:
        async with self.transaction() as db:
            await db.execute("UPDATE batches SET finished = ? WHERE id = ?", (time.time(), batch))

    async def _write(self, op: Callable[[sqlite3.Connection], None]) -> None:
        """Run `op` in a transaction shared with every write queued in the same loop tick.

        A batch's sends begin and finish together; one transaction for all of them replaces a
        hundred lock round trips (and a hundred fsyncs). The whole transaction — BEGIN, every op,
        COMMIT — is one trip to the connection's thread, not one per statement.
        """
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._writes.append((op, fut))
        if len(self._writes) == 1:
            self._flusher = loop.create_task(self._flush_writes())
        await fut

    async def _flush_writes(self) -> None:
        await asyncio.sleep(0)  # let the rest of this tick's writers queue up
        batch, self._writes = self._writes, []
        try:
            async with self._lock:
                await self._in_thread(_transaction, [op for op, _ in batch])
        except BaseException as exc:
            err = exc if isinstance(exc, StoreError) else StoreError(_explain(exc, self.path))
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(err)
            if not isinstance(exc, Exception):
                raise
            return
        for _, fut in batch:
            if not fut.done():
                fut.set_result(None)

    async def _in_thread(self, fn: Callable[..., None], *args: object) -> None:
        """`fn(connection, *args)` on the connection's own thread, in one trip.

        aiosqlite runs each statement as a trip of its own; its `_execute` (there since 0.17, not
        public) runs a function there instead. Should a release drop it, every write fails loudly
        (StoreError, and the store tests) rather than quietly slower.
        """
        run = getattr(self.db, "_execute", None)
        conn = getattr(self.db, "_connection", None)
        if run is None or conn is None:
            raise StoreError(f"aiosqlite {aiosqlite.__version__} has no way to run a transaction in one trip")
        await run(fn, conn, *args)

    async def begin_send(self, rec: SendRecord) -> int:
        """Insert the send as pending, its pane named (the lock check happens here, before the pane is touched)."""
        try:
            await self._write(lambda db: _insert(db, rec))
        except StoreError:
            rec.id = None  # rolled back with its transaction: no id that another row may take
            raise
        assert rec.id is not None
        return rec.id

    async def pending(self) -> list[SendRecord]:
        """Sends with no verdict yet: in flight, or cut off by a process that died."""
        try:
            rows = await (await self.db.execute("SELECT * FROM sends WHERE verdict = 'pending' ORDER BY id")).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(_explain(exc, self.path)) from None
        return [_record(r) for r in rows]

    def spill(self, rec: SendRecord) -> str | None:
        """Keep a finished record the log refused (locked too long) in a file; `open` logs it later."""
        folder = self.path.parent / "spill"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"send-{rec.id}-{os.getpid()}-{time.time_ns()}.json"
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(_spill_json(rec)), encoding="utf-8")
            tmp.replace(path)
        except OSError:
            return None
        return str(path)

    async def _replay_spills(self) -> None:
        folder = self.path.parent / "spill"
        if not folder.is_dir():
            return
        for path in sorted(folder.glob("send-*.json")):
            try:
                rec = _from_spill(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, KeyError, TypeError):
                continue  # half-written or foreign: leave it for a person to look at
            try:
                # the sender's own verdict, over its row if that is still pending or was concluded as
                # interrupted by another command meanwhile; a row gone (a new log) is not recreated
                await self._finish(rec, over=("pending", "interrupted"))
            except StoreError:
                return  # still locked: the next command tries again
            path.unlink(missing_ok=True)

    async def finish_send(self, rec: SendRecord) -> None:
        """Write the outcome and every snapshot (compressed) in one transaction."""
        await self._finish(rec, over=())

    async def conclude_send(self, rec: SendRecord) -> bool:
        """Write an outcome decided by someone other than the sender, only if the row is still pending.

        Another command concluding a cut-off send, or a spill being replayed, must never overwrite a
        verdict its own sender wrote in the meantime. Returns whether the row was written.
        """
        return await self._finish(rec, over=("pending",))

    async def _finish(self, rec: SendRecord, *, over: tuple[str, ...]) -> bool:
        """`over`: the verdicts the row may hold for this write to apply (empty: any)."""
        now = time.time()
        snapshots = dict(rec.snapshots)
        written = False
        begun = rec.id is not None

        def op(db: sqlite3.Connection) -> None:
            nonlocal written
            if not begun:  # stopped before it was begun (a refused prompt): inserted in the same transaction
                _insert(db, rec)
            cur = db.execute(
                "UPDATE sends SET finished=?, target=?, pane_id=?, server=?, agent=?, state_before=?, delay_ms=?,"
                " attempts=?, verdict=?, evidence=?, reason=?, elapsed_ms=?, timings=?, options=?, exit_status=?"
                " WHERE id=?" + (f" AND verdict IN ({', '.join('?' * len(over))})" if over else ""),
                (
                    now,
                    rec.target,
                    rec.pane_id,
                    rec.server,
                    rec.agent,
                    rec.state_before,
                    rec.delay_ms,
                    rec.attempts,
                    str(rec.verdict),
                    json.dumps(rec.evidence),
                    rec.reason,
                    rec.elapsed_ms,
                    json.dumps(rec.timings),
                    _options_json(rec),
                    rec.exit_status,
                    rec.id,
                    *over,
                ),
            )
            written = cur.rowcount == 1
            if written:  # compressed here, on SQLite's thread (zlib lets go of the GIL): not in the event loop
                packed = [(rec.id, phase, now, blob) for phase, blob in _pack_all(snapshots)]
                db.executemany(
                    "INSERT OR REPLACE INTO snapshots (send, phase, taken, data) VALUES (?, ?, ?, ?)", packed
                )

        try:
            await self._write(op)
        except StoreError:
            if not begun:
                rec.id = None  # rolled back with the rest: a spill of it is inserted when replayed
            raise
        return written

    async def recent(
        self, limit: int = 50, *, batch: int | None = None, machine: str | None = None
    ) -> list[SendRecord]:
        sql = "SELECT * FROM sends"
        where: list[str] = []
        args: list[Any] = []
        if batch is not None:
            where.append("batch = ?")
            args.append(batch)
        if machine is not None:
            where.append("machine = ?")
            args.append(machine)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        try:
            rows = await (await self.db.execute(sql, args)).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(_explain(exc, self.path)) from None
        return [_record(r) for r in rows]

    async def latest_by_pane(self, machine: str, server: str) -> dict[str, SendRecord]:
        """The newest send to each pane of one tmux server (metadata only), for per-pane verdict badges.

        `server` is a `ServerRef.key`: `%N` repeats on every server, so rows of other servers (and
        old rows whose server is unknown) never lend their verdicts to this one's panes.
        """
        sql = (
            "SELECT * FROM sends WHERE id IN (SELECT max(id) FROM sends"
            " WHERE machine = ? AND server = ? AND pane_id IS NOT NULL GROUP BY pane_id)"
        )
        try:
            rows = await (await self.db.execute(sql, (machine, server))).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(_explain(exc, self.path)) from None
        return {r["pane_id"]: _record(r) for r in rows}

    async def get(self, send_id: int, *, snapshots: bool = True) -> SendRecord | None:
        try:
            row = await (await self.db.execute("SELECT * FROM sends WHERE id = ?", (send_id,))).fetchone()
            if row is None:
                return None
            rec = _record(row)
            if snapshots:
                snaps = await (
                    await self.db.execute("SELECT phase, data FROM snapshots WHERE send = ? ORDER BY taken", (send_id,))
                ).fetchall()
                rec.snapshots = _unpack_all([(s["phase"], s["data"]) for s in snaps])
        except sqlite3.Error as exc:
            raise StoreError(_explain(exc, self.path)) from None
        return rec


def _insert(db: sqlite3.Connection, rec: SendRecord) -> None:
    """A send's row, pending; sets `rec.id` (and `rec.created`, unless the caller set it)."""
    rec.created = rec.created or time.time()
    cur = db.execute(
        "INSERT INTO sends (batch, created, machine, target, pane_id, prompt, verdict, options, resend_of,"
        " kind, server) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            rec.batch,
            rec.created,
            rec.machine,
            rec.target,
            rec.pane_id,
            rec.prompt,
            str(Verdict.PENDING),
            _options_json(rec),
            rec.resend_of,
            rec.kind,
            rec.server,
        ),
    )
    rec.id = cur.lastrowid


def _transaction(conn: sqlite3.Connection, ops: list[Callable[[sqlite3.Connection], None]]) -> None:
    """BEGIN IMMEDIATE, the ops, COMMIT — rolled back whole on any error (run on the connection's thread)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for op in ops:
            op(conn)
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def _record(row: sqlite3.Row) -> SendRecord:
    return SendRecord(
        id=row["id"],
        batch=row["batch"],
        created=row["created"],
        machine=row["machine"],
        target=row["target"],
        pane_id=row["pane_id"],
        agent=row["agent"],
        state_before=row["state_before"],
        prompt=row["prompt"],
        delay_ms=row["delay_ms"],
        attempts=row["attempts"],
        verdict=Verdict(row["verdict"]),
        evidence=json.loads(row["evidence"]),
        reason=row["reason"],
        elapsed_ms=row["elapsed_ms"],
        timings=json.loads(row["timings"]),
        **_typed_options(json.loads(row["options"])),
        resend_of=row["resend_of"],
        kind=row["kind"],
        exit_status=row["exit_status"],
        server=row["server"],
    )


_SPILLED = ("id", "batch", "created", "machine", "target", "pane_id", "agent", "state_before", "prompt", "delay_ms",
            "attempts", "reason", "elapsed_ms", "resend_of", "kind", "exit_status", "server")  # fmt: skip


def _spill_json(rec: SendRecord) -> dict[str, object]:
    data: dict[str, object] = {k: getattr(rec, k) for k in _SPILLED}
    data.update(verdict=str(rec.verdict), evidence=rec.evidence, timings=rec.timings,
                options=json.loads(_options_json(rec)), snapshots=rec.snapshots)  # fmt: skip
    return data


def _from_spill(data: dict[str, Any]) -> SendRecord:
    rec = SendRecord(target=data["target"], prompt=data["prompt"])
    for k in _SPILLED:
        setattr(rec, k, data[k])
    rec.verdict = Verdict(data["verdict"])
    rec.evidence, rec.timings = list(data["evidence"]), dict(data["timings"])
    typed = _typed_options(dict(data["options"]))
    rec.options, rec.requested, rec.owner = typed["options"], typed["requested"], typed["owner"]
    rec.reply, rec.reply_source = typed["reply"], typed["reply_source"]
    rec.snapshots = dict(data["snapshots"])
    return rec


def _lock(path: str) -> int:
    """An exclusive flock on `path` (blocking; released when the descriptor closes or the process dies)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _options_json(rec: SendRecord) -> str:
    """The options column: the free-form knobs plus the typed fields kept in it (same keys as ever)."""
    owner = rec.owner.to_json() if rec.owner else None
    reply = {"reply": rec.reply, "reply_source": rec.reply_source} if rec.reply_source is not None else {}
    return json.dumps({**rec.options, "target_arg": rec.requested, "owner": owner, **reply})


def _typed_options(options: dict[str, Any]) -> dict[str, Any]:
    """The options column back into `options`, `requested` and `owner` (SendRecord's keyword arguments)."""
    requested = options.pop("target_arg", "")
    owner = Owner.from_json(options.pop("owner", None))
    reply, source = options.pop("reply", None), options.pop("reply_source", None)
    return {"options": options, "requested": requested if isinstance(requested, str) else "", "owner": owner,
            "reply": reply if isinstance(reply, str) else None,
            "reply_source": source if isinstance(source, str) else None}  # fmt: skip


def _explain(exc: BaseException, path: Path) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return f"the log database is locked by another process: {path}"
    if "not a database" in text or "malformed" in text:
        return f"the log database is corrupt: {path} ({text})"
    return f"the log database cannot be used: {path} ({text})"
