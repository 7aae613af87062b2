"""The ports: what services need from the world, as interfaces with their contracts, and the errors they raise.

Adapters implement them (adapters/tmux.py, adapters/ssh.py: the host; adapters/store.py: the log;
adapters/schedules.py: the schedule book); services and the UI depend on these names only, so a
host over SSH, a static host for pictures and a real local tmux server are interchangeable.
Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from dashboard.core.model import PaneInfo, Run, Schedule, SendRecord, ServerRef
from dashboard.core.receipts import SPOOL_TAIL, Spool

# ----- errors -------------------------------------------------------------------------------------


class TmuxError(RuntimeError):
    """A tmux command failed; the message is tmux's own one-line complaint.

    `stdout` keeps what a failed chain printed before it stopped.
    """

    def __init__(self, message: str, stdout: str = "") -> None:
        super().__init__(message)
        self.stdout = stdout


class NoServer(TmuxError):
    """No tmux server is running on the chosen socket."""


class HostError(TmuxError):
    """The machine itself could not be used: unreachable, connection lost, or not who it should be.

    Distinct from a tmux complaint so callers can tell "this pane is gone" from "this box is gone"
    (exit code 5 on the command line).
    """


class WrongMachine(HostError):
    """The machine that answered is not the one that was asked for; nothing was sent to it."""


class LeaseBusy(Exception):
    """Another sender held the pane for the whole wait; `holder` says who."""

    def __init__(self, holder: str, waited_ms: int) -> None:
        super().__init__(holder)
        self.holder, self.waited_ms = holder, waited_ms


class LeaseUnavailable(Exception):
    """The lease could not be taken at all (no lock file, no flock on the far machine)."""


class StoreError(RuntimeError):
    """The log cannot be used (locked, corrupt, unwritable); the message says which and where."""


class LogNotWritten(StoreError):
    """A send reached its pane (and maybe a verdict) but the log refused the outcome.

    The message says what the send reached; the record waits in a spill file that the next
    command opening the log writes. Never reported as "nothing was sent".
    """

    def __init__(self, message: str, record: object) -> None:
        super().__init__(message)
        self.record = record


# ----- the host: one tmux server, local or remote ------------------------------------------------


class Lease(Protocol):
    """One sender's hold on one pane (an async context manager: entering waits, then holds).

    - entering: waits up to the lease timeout for another sender, then raises LeaseBusy naming the holder.
    - `held`: still ours? (a lease kept by a keeper on a far machine is lost with its connection)
    - `waited_ms`, `contended`, `path`: what the evidence records about it.
    """

    path: str
    waited_ms: int
    contended: bool

    @property
    def held(self) -> bool: ...
    async def __aenter__(self) -> Lease: ...
    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class TmuxHost(Protocol):
    """What the services need from a tmux server, local or remote.

    Contract per method:

    - `describe()`: a short human name for the server, for error messages.
    - `list_panes()`: every pane of the server, in one call.
    - `pane(pane_id)`: one pane's facts by `%N` id, or None when there is no such pane.
    - `capture(pane_id, history=0)`: the screen (ANSI kept) plus `history` scrollback lines.
    - `capture_many(ids)`: captures of many panes at once; a vanished pane maps to None.
    - `paste(pane_id, text)`: bracketed paste through a uniquely named buffer, deleted after.
    - `send_keys(pane_id, *keys)`: keys by tmux name (`Enter`, `C-m`), never literal text.
    - `cursor(pane_id)`: the cursor's (x, y) on the visible screen, or None for a vanished pane.
    - `lease(pane, holder, timeout)`: the pane's lease (an async context manager) on the machine where
      the pane lives; entering waits up to `timeout` s, then raises LeaseBusy naming the holder;
      LeaseUnavailable when no lease can be had at all (nothing is sent then).
    - `foreground(pane)`: the command line of the pane's foreground process, or None when unreadable:
      a screen that looks like an agent is only that agent if this is its process.
    - `for_server(server)`: the same machine's client for the tmux server a record names, whatever
      server this host was opened for.
    - `receipts(tail)`: the agents' receipt spool on this machine: its length and its last `tail` bytes
      (empty when there is none, or when it is not this user's own: never read a spool another user made).
    - `environ(pid)`: a process's environment on the pane's machine ({} when unreadable);
      `children(pid)`: its child processes. How an agent's account is told from its config directory.
    - `exists(path)`: whether a file exists on the pane's machine (whether its agent's hooks are armed).
    - `followed(pane)`: a feed in this process follows the pane's own session on its very server.
    - `changed(pane, since, within)`: returns once the pane printed after `since` (a `time.monotonic()`
      stamp) — known only where it is `followed` — or after `within` s at most; without a feed it is a
      plain pause. Either way a look follows: a feed says when to look, never what is there.
    """

    name: str

    def describe(self) -> str: ...
    async def list_panes(self) -> list[PaneInfo]: ...
    async def pane(self, pane_id: str) -> PaneInfo | None: ...
    async def capture(self, pane_id: str, history: int = 0) -> str: ...
    async def capture_many(self, pane_ids: Sequence[str], history: int = 0) -> dict[str, str | None]: ...
    async def paste(self, pane_id: str, text: str) -> None: ...
    async def send_keys(self, pane_id: str, *keys: str) -> None: ...
    async def cursor(self, pane_id: str) -> tuple[int, int] | None: ...
    def lease(self, pane: PaneInfo, holder: str, timeout: float) -> Lease: ...
    async def foreground(self, pane: PaneInfo) -> str | None: ...
    def for_server(self, server: ServerRef) -> TmuxHost: ...
    def followed(self, pane: PaneInfo) -> bool: ...
    async def changed(self, pane: PaneInfo, since: float, within: float) -> None: ...
    async def environ(self, pid: int) -> dict[str, str]: ...
    async def receipts(self, tail: int = SPOOL_TAIL) -> Spool: ...
    async def children(self, pid: int) -> list[int]: ...
    async def exists(self, path: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class Changes:
    """What a feed saw since it was last asked: panes that printed, and whether panes came, went or moved."""

    panes: frozenset[str] = frozenset()
    relist: bool = False
    """Something a list must look at: a window or session added, closed or renamed, a layout or mode
    change, or a gap in the feed (it restarted, or stopped): only a full survey is sure after it."""

    def __bool__(self) -> bool:
        return bool(self.panes) or self.relist


class PaneFeed(Protocol):
    """Pushed changes of one tmux server's panes, so a watcher looks at a pane when it printed.

    Contract:

    - `follow(sessions)`: watch these sessions (by name, as a pane list names them; None: every session
      the server has, now and later) from now on; cheap when nothing changed. A feed that stopped
      (server restart, link dropped) is started again here.
    - `next(timeout)`: the changes since the last call, waiting up to `timeout` s for the first one;
      empty when nothing came.
    - `live`: every followed session is watched right now (False: only a survey would see a change).
    - `note`: why it follows nothing by choice (a tmux it could harm), or "".
    - `close()`: stop watching; nothing is left running on the machine.

    A feed may miss things (a session it could not follow, output during a restart); it never invents
    them. Surveys stay the truth; the feed only says when to look.
    """

    @property
    def live(self) -> bool: ...
    @property
    def note(self) -> str: ...
    async def follow(self, sessions: Collection[str] | None) -> None: ...
    async def next(self, timeout: float) -> Changes: ...
    async def close(self) -> None: ...


# ----- the log and the schedule book ------------------------------------------------------------


class SendLog(Protocol):
    """The send log. Every write is durable when it returns; lock and corruption errors are StoreError.

    - `begin_send(rec)`: insert `rec` as pending, its pane and server named, and set `rec.id` — before
      anything touches the pane.
    - `finish_send(rec)`: write the outcome and the snapshots in one transaction (a record never begun,
      stopped before it reached a pane, is inserted in it).
    - `conclude_send(rec)`: the same, only if the row is still pending (someone else's conclusion never
      overwrites a verdict its sender wrote); returns whether it was written.
    - `spill(rec)`: keep a finished record the log refused in a file (its path, or None); the next
      open of the log writes it.
    - `pending()`: records with no verdict yet (in flight, or cut off by a process that died).
    - `get(id, snapshots=True)`: one record, with its snapshots unless told otherwise; None if absent.
    - `recent(limit, batch=, machine=)`: newest first, metadata only.
    - `latest_by_pane(machine, server)`: the newest record per `%N` of one tmux server.
    - `new_batch(prompt, targets)` / `finish_batch(id)`: a batch's row.
    """

    async def begin_send(self, rec: SendRecord) -> int: ...
    async def finish_send(self, rec: SendRecord) -> None: ...
    async def conclude_send(self, rec: SendRecord) -> bool: ...
    def spill(self, rec: SendRecord) -> str | None: ...
    async def pending(self) -> list[SendRecord]: ...
    async def get(self, send_id: int, *, snapshots: bool = True) -> SendRecord | None: ...
    async def recent(
        self, limit: int = 50, *, batch: int | None = None, machine: str | None = None
    ) -> list[SendRecord]: ...
    async def latest_by_pane(self, machine: str, server: str) -> dict[str, SendRecord]: ...
    async def new_batch(self, prompt: str, targets: list[str]) -> int: ...
    async def finish_batch(self, batch: int) -> None: ...


class ScheduleBook(Protocol):
    """Schedules and their runs. The claim is the rule: a scheduled time fires at most once.

    - `claim(s, due_at, fire, missed, next_fire, pid)`: atomically move `s` on from `due_at` (only if
      it still holds that value), record `missed` times as missed and `fire` as running; None when
      another process claimed it first.
    - `claim_manual(s, pid)`: a run fired by hand now.
    - `update_run(run)` / `record_outcome(s, run)`: a run's progress; its end and the schedule's health
      (returns the previous state and the failure count).
    - `unfinished()`: runs claimed and never finished (their daemon died); `send_of(run_id)`: its send.
    - `due(now)`, `next_due()`, `all()`, `get(name)`, `by_id(id)`, `runs(id, limit)`: reads.
    - `add(s)` (StoreError if the name exists), `set_paused(name, paused)`, `remove(name)`.
    """

    async def add(self, s: Schedule) -> Schedule: ...
    async def get(self, name: str) -> Schedule | None: ...
    async def by_id(self, schedule_id: int) -> Schedule | None: ...
    async def all(self) -> list[Schedule]: ...
    async def due(self, now: float) -> list[Schedule]: ...
    async def next_due(self) -> float | None: ...
    async def set_paused(self, name: str, paused: bool) -> None: ...
    async def remove(self, name: str) -> bool: ...
    async def claim(
        self, s: Schedule, due_at: float, fire: float | None, missed: list[float], next_fire: float | None, pid: int
    ) -> Run | None: ...
    async def claim_manual(self, s: Schedule, pid: int) -> Run: ...
    async def update_run(self, run: Run) -> None: ...
    async def record_outcome(self, s: Schedule, run: Run) -> tuple[str, int]: ...
    async def runs(self, schedule_id: int, limit: int = 20) -> list[Run]: ...
    async def unfinished(self) -> list[Run]: ...
    async def send_of(self, run_id: int) -> int | None: ...
