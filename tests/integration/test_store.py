"""The SQLite log: schema versioning, pending-first records, clear errors on bad files."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from dashboard.adapters.store import MIGRATIONS, Store
from dashboard.core.model import SendRecord, Verdict
from dashboard.core.ports import StoreError


async def test_pending_first_then_finished_with_snapshots(tmp_path: Path) -> None:
    async with Store(tmp_path / "d.db") as store:
        rec = SendRecord(target="w:1.0", prompt="hello")
        send_id = await store.begin_send(rec)
        # a crash here leaves the send visible as pending
        pending = await store.get(send_id)
        assert pending is not None and pending.verdict is Verdict.PENDING
        rec.verdict, rec.evidence, rec.attempts = Verdict.SUBMITTED, ["left-composer"], 1
        rec.snapshots = {"before": "\x1b[1mold\x1b[0m screen", "after": "new screen"}
        await store.finish_send(rec)
    async with Store(tmp_path / "d.db") as store:
        got = await store.get(send_id)
        assert got is not None and got.verdict is Verdict.SUBMITTED and got.evidence == ["left-composer"]
        assert got.snapshots == {"before": "\x1b[1mold\x1b[0m screen", "after": "new screen"}
        assert [r.id for r in await store.recent(10)] == [send_id]


async def test_schema_is_versioned_and_wal(tmp_path: Path) -> None:
    async with Store(tmp_path / "d.db"):
        pass
    db = sqlite3.connect(tmp_path / "d.db")
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer than this dispatch"):
        await Store(tmp_path / "d.db").open()


async def test_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "d.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=r"corrupt|cannot be used"):
        await Store(path).open()
    assert path.read_bytes().startswith(b"this is not a database")  # never overwritten


@contextlib.asynccontextmanager
async def _locked(path: Path) -> AsyncIterator[None]:
    """A log another connection holds an exclusive lock on, for the block."""
    async with Store(path):
        pass
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        holder.rollback()
        holder.close()


async def test_locked_database_refuses_begin(tmp_path: Path) -> None:
    path = tmp_path / "d.db"
    async with _locked(path), Store(path, busy_timeout_ms=100) as store:
        with pytest.raises(StoreError, match="locked"):
            await store.begin_send(SendRecord(target="x", prompt="y"))


def _open_fresh(path: str, barrier: Any, results: Any) -> None:
    """One process opening the log the instant the others do (a second `dispatch` on a fresh install)."""

    async def go() -> None:
        barrier.wait()
        try:
            async with Store(Path(path)) as s:
                await s.recent(1)
            results.put("ok")
        except Exception as exc:
            results.put(f"{type(exc).__name__}: {exc}")

    asyncio.run(go())


def test_several_processes_opening_a_new_log_at_once(tmp_path: Path) -> None:
    """WAL switch and migrations happen once, whoever wins; nobody is told the log is locked."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    for i in range(8):
        path = str(tmp_path / f"fresh-{i}.db")
        barrier, results = ctx.Barrier(3), ctx.Queue()
        procs = [ctx.Process(target=_open_fresh, args=(path, barrier, results)) for _ in range(3)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        assert [results.get(timeout=5) for _ in procs] == ["ok"] * 3


async def test_a_conclusion_never_overwrites_the_senders_own_verdict(tmp_path: Path) -> None:
    """Another command concluding a cut-off send loses to the sender that finished meanwhile."""
    async with Store(tmp_path / "x.db") as store:
        rec = SendRecord(target="a:0.0", prompt="p")
        await store.begin_send(rec)
        late = SendRecord(target="a:0.0", prompt="p", id=rec.id)
        late.verdict, late.reason = Verdict.INTERRUPTED, "the sending process stopped"
        rec.verdict, rec.reason = Verdict.SUBMITTED, "working indicator appeared"
        await store.finish_send(rec)  # the sender, just before the concluder writes
        assert await store.conclude_send(late) is False
        got = await store.get(rec.id or 0)
        assert got is not None and got.verdict is Verdict.SUBMITTED


async def test_snapshots_packed_against_the_first_read_back_whole_and_old_rows_still_read(tmp_path: Path) -> None:
    """A send's later screens are stored against its first (a few hundred bytes each); rows written the old way
    (each screen its own zlib stream) read as before."""
    import zlib

    words = ["const", "return", "await", "function", "import", "the", "error", "test", "passed", "✓", "│", "src/a.ts"]
    screen = "\n".join(" ".join(words[(i * 7 + j * 3) % 12] for j in range(i % 15)) + f" {i}" for i in range(240))
    snaps = {"before": screen, "after-paste": screen + "\n> the prompt", "after": screen.replace(" 9\n", " nine\n")}
    async with Store(tmp_path / "d.db") as store:
        rec = SendRecord(target="w:1.0", prompt="hello", verdict=Verdict.SUBMITTED, snapshots=dict(snaps))
        new_id = await store.finish_send(rec) or rec.id
        old = SendRecord(target="w:1.0", prompt="older")
        old_id = await store.begin_send(old)
    db = sqlite3.connect(tmp_path / "d.db")
    sizes = dict(db.execute("SELECT phase, length(data) FROM snapshots WHERE send = ?", (new_id,)).fetchall())
    for phase in ("after-paste", "after"):  # far less than the screen packed alone
        assert sizes[phase] < len(zlib.compress(snaps[phase].encode(), 6)) / 2
    db.executemany(  # the former format: every phase a zlib stream of its own
        "INSERT INTO snapshots (send, phase, taken, data) VALUES (?, ?, 0, ?)",
        [(old_id, phase, zlib.compress(text.encode(), 6)) for phase, text in snaps.items()],
    )
    db.commit()
    db.close()
    async with Store(tmp_path / "d.db") as store:
        for send_id in (new_id, old_id):
            got = await store.get(send_id)
            assert got is not None and got.snapshots == snaps


async def test_a_new_log_and_its_folder_are_the_users_alone(tmp_path: Path) -> None:
    """Every prompt and every screen is in the log: nobody else on the machine may read it."""
    import stat

    async with Store(tmp_path / "state" / "d.db") as store:
        await store.begin_send(SendRecord(target="w:1.0", prompt="a private prompt"))
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    for f in (tmp_path / "state").glob("d.db*"):
        assert stat.S_IMODE(f.stat().st_mode) & 0o077 == 0, f


async def test_a_send_stopped_before_it_was_begun_is_inserted_with_its_outcome(tmp_path: Path) -> None:
    """A refused prompt never reached a pane: its row and its verdict are written in one transaction."""
    async with Store(tmp_path / "d.db") as store:
        rec = SendRecord(target="w:1.0", prompt="")
        rec.verdict, rec.reason, rec.evidence = Verdict.REFUSED, "empty prompt", ["guard:empty"]
        await store.finish_send(rec)
        assert rec.id is not None
        got = await store.get(rec.id)
        assert got is not None and got.verdict is Verdict.REFUSED and got.reason == "empty prompt"
        assert await store.pending() == []


async def test_a_never_begun_send_the_log_refused_is_inserted_when_its_spill_is_replayed(tmp_path: Path) -> None:
    path = tmp_path / "d.db"
    rec = SendRecord(target="w:1.0", prompt="p")
    rec.verdict, rec.reason = Verdict.REFUSED, "no pane 'w:1.0'"
    async with _locked(path), Store(path, busy_timeout_ms=100) as store:
        with pytest.raises(StoreError, match="locked"):
            await store.finish_send(rec)
        assert rec.id is None  # the insert was rolled back with the rest: no id that names nothing
        assert store.spill(rec) is not None
    async with Store(path) as store:  # the next command logs the spill
        [got] = await store.recent(5)
        assert got.verdict is Verdict.REFUSED and got.reason == "no pane 'w:1.0'"
