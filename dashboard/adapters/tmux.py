r"""The tmux host: every tmux command the tool runs goes through here.

Calls are asyncio subprocesses (one event loop, nothing blocks). Reads are coalesced: captures
requested in the same loop tick go out as ONE chained tmux invocation (`a \\; b \\; …`), which is
what keeps a 100-pane batch or a 200-pane listing cheap (one process instead of one per pane).
The server is always named (-L/-S); no code path falls back to the user's default server
unless the caller asked for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import signal
import stat
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dashboard.adapters.lease import LocalLocks, Locks, PaneLease
from dashboard.core.lease import lease_path
from dashboard.core.model import PaneInfo, ServerRef
from dashboard.core.ports import LeaseUnavailable, NoServer, TmuxError
from dashboard.core.receipts import NO_SPOOL, SPOOL_DIR, SPOOL_FILE, SPOOL_TAIL, Spool

if TYPE_CHECKING:
    from dashboard.adapters.feed import ControlFeed, Stream

_FIELDS = (
    "pane_id",
    "session_name",
    "window_index",
    "pane_index",
    "window_name",
    "pane_dead",
    "pane_dead_status",
    "pane_current_command",
    "pane_in_mode",
    "pane_width",
    "pane_height",
    "pane_pid",
    "pane_title",
    "window_activity",
    "pane_active",
    "window_active",
    "?@dispatch_account,#{@dispatch_account},#{@dispatch_profile}",
    "pane_tty",
    "socket_path",
    "pid",
    "start_time",
)
# pane_current_path, cursor and history fields are left out: each field is work tmux does for every pane
# on every refresh (pane_current_command alone reads /proc per pane), and nothing here uses them
_SEP = "\x1f"
PANE_FORMAT = _SEP.join(f"#{{{f}}}" for f in _FIELDS)
DEFAULT_TIMEOUT = 10.0
_CHAIN_BYTES = 12_000
_PASTES_PER_CHAIN = 150  # ~70 bytes of arguments each: stays under tmux's 16 KB command limit


def _token(nbytes: int) -> str:
    """secrets.token_hex, the same bytes: importing secrets (and with it random) cost every command ~2 ms."""
    return os.urandom(nbytes).hex()


@dataclass
class _Pending:
    pane_id: str
    history: int
    future: asyncio.Future[str]
    facts: bool = False
    """A pane's facts (`display-message PANE_FORMAT`) rather than its screen: both ride the same chain."""

    def argv(self) -> list[str]:
        if self.facts:
            return ["display-message", "-p", "-t", self.pane_id, PANE_FORMAT]
        return ["capture-pane", "-p", "-e", "-t", self.pane_id, *(["-S", str(-self.history)] if self.history else [])]


@dataclass
class TmuxClient:
    """The tmux commands the tool runs, with chaining and coalescing; subclasses say where tmux runs.

    A subclass implements `_exec` (one tmux invocation: argv, stdin → exit status, stdout, stderr)
    and `describe`. Everything else (chained captures, shared paste buffers, end markers) is the
    same whether the server is on this machine or at the other end of an SSH connection.
    """

    socket_name: str | None = None
    socket_path: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    name: str = "local"
    calls: int = 0
    _pending: list[_Pending] = field(default_factory=list)
    _flush_scheduled: bool = False
    _tasks: set[asyncio.Future[None]] = field(default_factory=set)
    _commands: list[tuple[list[str], asyncio.Future[None]]] = field(default_factory=list)
    _pastes: list[tuple[str, str, asyncio.Future[None]]] = field(default_factory=list)
    _listed: dict[str, PaneInfo] = field(default_factory=dict)
    """The last listing's panes by their line: a line unchanged since is not parsed again."""

    @property
    def server_args(self) -> list[str]:
        if self.socket_path:
            return ["-S", self.socket_path]
        if self.socket_name:
            return ["-L", self.socket_name]
        return []

    def describe(self) -> str:
        if self.socket_path:
            return f"tmux server -S {self.socket_path}"
        if self.socket_name:
            return f"tmux server -L {self.socket_name}"
        return "the default tmux server"

    async def _exec(self, argv: list[str], stdin: bytes | None) -> tuple[int, bytes, bytes]:
        raise NotImplementedError

    async def stream(self, argv: list[str]) -> Stream:
        """Start a long-running command where tmux runs (the control-mode feed); its output as it comes."""
        raise NotImplementedError

    def followed(self, pane: PaneInfo) -> bool:
        from dashboard.adapters.feed import following

        return following(pane) is not None

    async def changed(self, pane: PaneInfo, since: float, within: float) -> None:
        from dashboard.adapters.feed import following

        feed = following(pane)
        if feed is None:
            await asyncio.sleep(within)
        else:
            await feed.wait(pane.pane_id, since, within)

    def feed(self, *, always: bool = False) -> ControlFeed:
        """Pushed changes of this server's panes (see adapters/feed.py); `always`: on any tmux version."""
        from dashboard.adapters.feed import ControlFeed

        return ControlFeed(self, always=always)

    def clone(self) -> TmuxClient:
        """The same server through a separate client (own queues; an SSH link stays shared)."""
        new = copy.copy(self)
        new._pending, new._commands, new._pastes, new._tasks, new._listed = [], [], [], set(), {}
        new._flush_scheduled = False
        new.calls = 0
        return new

    def for_server(self, server: ServerRef) -> TmuxClient:
        if self.socket_path == server.socket:
            return self
        new = self.clone()
        new.__dict__.pop("run", None)  # a read-only view re-guards its own copy (ReadOnlyHost.for_server)
        new.socket_name, new.socket_path = None, server.socket
        return new

    def _locks(self) -> Locks:
        return _LOCAL_LOCKS

    async def socket(self) -> str | None:
        """The socket path this client's server listens on (as the server says, when it runs)."""
        try:
            return (await self.run("display-message", "-p", "#{socket_path}")).strip() or self.socket_path
        except TmuxError:
            if self.socket_path or not self.socket_name:
                return self.socket_path
            folder = os.environ.get("TMUX_TMPDIR") or "/tmp"
            return f"{folder}/tmux-{os.getuid()}/{self.socket_name}"

    def lease(self, pane: PaneInfo, holder: str, timeout: float) -> PaneLease:
        if pane.server is None:
            raise LeaseUnavailable(f"{pane.pane_id}'s tmux server did not say which one it is; no lease can be had")
        return PaneLease(self._locks(), lease_path(pane.server, pane.pane_id), holder, timeout)

    async def foreground(self, pane: PaneInfo) -> str | None:
        """The foreground process group leader's command line, read with ps(1) on the pane's machine."""
        tty = pane.tty.removeprefix("/dev/")
        if not tty:
            return None
        try:
            _, out, _ = await self._exec(["ps", "-ww", "-t", tty, "-o", "pid=,pgid=,tpgid=,args="], None)
        except TmuxError:
            return None
        rows: list[tuple[int, int, int, str]] = []
        for line in out.decode(errors="replace").splitlines():
            parts = line.split(None, 3)
            if len(parts) == 4 and all(p.lstrip("-").isdigit() for p in parts[:3]):
                rows.append((int(parts[0]), int(parts[1]), int(parts[2]), parts[3]))
        front = [r for r in rows if r[1] == r[2]]
        leader = next((r for r in front if r[0] == r[1]), front[0] if front else None)
        return leader[3] if leader is not None else None

    async def environ(self, pid: int) -> dict[str, str]:
        return parse_environ(await self._read_proc(f"/proc/{int(pid)}/environ"))

    async def children(self, pid: int) -> list[int]:
        text = (await self._read_proc(f"/proc/{int(pid)}/task/{int(pid)}/children")).decode(errors="replace")
        return [int(c) for c in text.split() if c.isdigit()]

    async def receipts(self, tail: int = SPOOL_TAIL) -> Spool:
        """The receipt spool on the server's machine: its length, and its last `tail` bytes.

        Only a spool this user owns, in a directory only this user can write, is read: a spool in
        /tmp that someone else made could carry forged receipts.
        """
        try:
            rc, out, _ = await self._exec(["sh", "-c", _TAIL_SPOOL.replace("@TAIL@", str(int(tail)))], None)
        except TmuxError:
            return NO_SPOOL
        head, _, body = out.partition(b"\n")
        return Spool(int(head), body) if rc == 0 and head.strip().isdigit() else NO_SPOOL

    async def exists(self, path: str) -> bool:
        try:
            rc, _, _ = await self._exec(["test", "-e", path], None)
        except TmuxError:
            return False
        return rc == 0

    async def _read_proc(self, path: str) -> bytes:
        """A /proc file on the pane's machine (b"" when it cannot be read)."""
        try:
            rc, out, _ = await self._exec(["cat", path], None)
        except TmuxError:
            return b""
        return out if rc == 0 else b""

    async def run(self, *args: str, stdin: bytes | None = None, check: bool = True) -> str:
        """Run one tmux invocation (possibly a chain of commands) and return its stdout."""
        self.calls += 1
        # -u: without a UTF-8 locale (an SSH exec usually has none) tmux replaces every non-ASCII
        # and control character of its output with '_', which would garble captures and separators
        rc, out, err = await self._exec(["tmux", "-u", *self.server_args, *args], stdin)
        if rc == 127 and not out:
            raise TmuxError(f"tmux is not installed on {self.name} (no 'tmux' on PATH)")
        if check and rc != 0:
            msg = err.decode(errors="replace").strip() or f"tmux {args[0]} exited {rc}"
            if "no server running" in msg or "error connecting to" in msg or "No such file" in msg:
                raise NoServer(f"no tmux server is running ({self.describe()})")
            raise TmuxError(msg.splitlines()[-1], stdout=out.decode(errors="replace"))
        return out.decode(errors="replace")

    async def list_panes(self) -> list[PaneInfo]:
        try:
            out = await self.run("list-panes", "-a", "-F", PANE_FORMAT)
        except NoServer:
            return []
        # a dashboard lists every second and most lines come back byte for byte: the same line, the same pane
        last, self._listed = self._listed, {}
        panes = []
        for line in out.splitlines():
            pane = last.get(line) or parse_pane_line(line, self.name)
            if pane is not None:
                self._listed[line] = pane
                panes.append(pane)
        return panes

    async def pane(self, pane_id: str) -> PaneInfo | None:
        """Fresh facts about one pane, or None when it does not exist.

        Asked in the same tick as other panes' facts or screens (a batch), they share one tmux process.
        """
        try:
            out = await self._queued(_Pending(pane_id, 0, asyncio.get_running_loop().create_future(), facts=True))
        except NoServer:
            return None
        except TmuxError as exc:
            if "can't find" in str(exc):
                return None
            raise
        # tmux prints an empty format (exit 0) for a pane that does not exist: check the id came back
        info = parse_pane_line(out.rstrip("\n"), self.name)
        return info if info is not None and info.pane_id == pane_id else None

    async def cursor(self, pane_id: str) -> tuple[int, int] | None:
        """Where the cursor is: the exec guard reads the prompt line with it (typed text or not)."""
        try:
            out = await self.run("display-message", "-p", "-t", pane_id, "#{pane_id} #{cursor_x} #{cursor_y}")
        except NoServer:
            return None
        except TmuxError as exc:
            if "can't find" in str(exc):
                return None
            raise
        parts = out.split()
        if len(parts) != 3 or parts[0] != pane_id or not (parts[1].isdigit() and parts[2].isdigit()):
            return None
        return int(parts[1]), int(parts[2])

    async def capture(self, pane_id: str, history: int = 0) -> str:
        return await self._queued(_Pending(pane_id, history, asyncio.get_running_loop().create_future()))

    async def _queued(self, req: _Pending) -> str:
        self._enqueue(req)
        return await req.future

    def _enqueue(self, req: _Pending) -> None:
        """Queue a read for the next chained call (one per loop tick, whoever asked)."""
        self._pending.append(req)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._spawn, self._flush())

    async def capture_many(self, pane_ids: Sequence[str], history: int = 0) -> dict[str, str | None]:
        """Every pane's screen through the same chained calls as `capture`, without a task per pane.

        The requests are queued here and their futures gathered: a thousand-pane survey made a
        thousand tasks only to wait on them.
        """
        loop = asyncio.get_running_loop()
        reqs = [_Pending(p, history, loop.create_future()) for p in pane_ids]
        for req in reqs:
            self._enqueue(req)
        results = await asyncio.gather(*(r.future for r in reqs), return_exceptions=True)
        return {p: (r if isinstance(r, str) else None) for p, r in zip(pane_ids, results, strict=True)}

    async def _flush(self) -> None:
        batch, self._pending, self._flush_scheduled = self._pending, [], False
        # tmux refuses a command line over ~16 KB ("command too long"): split into chains that fit
        chunk: list[_Pending] = []
        size = 0
        for req in batch:
            cost = 2 * len(req.pane_id) + (len(PANE_FORMAT) if req.facts else 0) + 60
            if chunk and size + cost > _CHAIN_BYTES:
                self._spawn(self._capture_chain(chunk))
                chunk, size = [], 0
            chunk.append(req)
            size += cost
        if chunk:
            await self._capture_chain(chunk)

    async def _capture_chain(self, batch: list[_Pending]) -> None:
        token = _token(6)
        args: list[str] = []
        for i, req in enumerate(batch):
            if args:
                args.append(";")
            args += req.argv()
            # an end marker after each capture proves it completed (a chain stops at its first failure)
            args += [";", "display-message", "-p", f"\x1e{token} {i}"]
        error: BaseException | None = None
        try:
            out = await self.run(*args)
        except TmuxError as exc:
            # a chain stops at the first failing command (a pane that vanished): keep what came
            # before it, and ask the panes after it again on their own
            out, error = exc.stdout, exc
        parts = _split_chain(out, token)
        for i, req in enumerate(batch):
            if req.future.done():
                continue
            if i in parts:
                req.future.set_result(parts[i])
            elif error is not None and len(batch) > 1:
                self._spawn(self._single(req))
            else:
                req.future.set_exception(error or TmuxError(f"no capture for {req.pane_id}"))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a background flush; keep a reference so it is not garbage-collected mid-flight."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _single(self, req: _Pending) -> None:
        try:
            req.future.set_result(await self.run(*req.argv()))
        except TmuxError as exc:
            req.future.set_exception(exc)

    async def paste(self, pane_id: str, text: str) -> None:
        # pastes of the same text in the same tick (a batch) share one buffer and one tmux process
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._pastes.append((pane_id, text, fut))
        if len(self._pastes) == 1:
            loop.call_soon(self._spawn, self._flush_pastes())
        await fut

    async def _flush_pastes(self) -> None:
        batch, self._pastes = self._pastes, []
        groups: dict[str, list[tuple[str, asyncio.Future[None]]]] = {}
        for pane_id, text, fut in batch:
            groups.setdefault(text, []).append((pane_id, fut))
        for text, targets in groups.items():
            for start in range(0, len(targets), _PASTES_PER_CHAIN):
                self._spawn(self._paste_chain(text, targets[start : start + _PASTES_PER_CHAIN]))

    async def _paste_chain(self, text: str, targets: list[tuple[str, asyncio.Future[None]]]) -> None:
        buf = f"dispatch-{os.getpid()}-{_token(4)}"
        token = _token(6)
        # load-buffer reads the prompt from stdin (exact bytes: no argv limit, no quoting, no tmux
        # parsing of a trailing ';'); paste-buffer -p wraps it in bracketed-paste markers when the
        # app asked for them; -r keeps LF as LF (tmux would turn it into CR, which some agents take
        # as submit). A marker after each paste proves it ran; the buffer is deleted at the end.
        args = ["load-buffer", "-b", buf, "-"]
        for i, (pane_id, _) in enumerate(targets):
            args += [";", "paste-buffer", "-p", "-r", "-b", buf, "-t", pane_id]
            args += [";", "display-message", "-p", f"\x1e{token} {i}"]
        args += [";", "delete-buffer", "-b", buf]
        try:
            out = await self.run(*args, stdin=text.encode())
            error: TmuxError | None = None
        except TmuxError as exc:
            out, error = exc.stdout, exc
        done = set(_split_chain(out, token))
        rest = [(i, t) for i, t in enumerate(targets) if i not in done]
        for i, (_, fut) in enumerate(targets):
            if i in done:
                fut.set_result(None)
        if error is None:
            return
        with contextlib.suppress(TmuxError):
            await self.run("delete-buffer", "-b", buf)
        if not rest:
            return
        if len(targets) == 1:
            rest[0][1][1].set_exception(error)
            return
        for _, (pane_id, fut) in rest:  # the chain stopped at a vanished pane: the rest one by one
            try:
                await self._paste_chain_single(pane_id, text)
                fut.set_result(None)
            except TmuxError as one:
                fut.set_exception(one)

    async def _paste_chain_single(self, pane_id: str, text: str) -> None:
        buf = f"dispatch-{os.getpid()}-{_token(4)}"
        try:
            await self.run(
                "load-buffer", "-b", buf, "-", ";", "paste-buffer", "-p", "-r", "-d", "-b", buf, "-t", pane_id,
                stdin=text.encode(),
            )  # fmt: skip
        except TmuxError:
            with contextlib.suppress(TmuxError):  # the paste failed, so -d never ran
                await self.run("delete-buffer", "-b", buf)
            raise

    async def send_keys(self, pane_id: str, *keys: str) -> None:
        # many panes submitting in the same tick (a batch) share one tmux process
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._commands.append((["send-keys", "-t", pane_id, *keys], fut))
        if len(self._commands) == 1:
            loop.call_soon(self._spawn, self._flush_commands())
        await fut

    async def _flush_commands(self) -> None:
        batch, self._commands = self._commands, []
        token = _token(6)
        args: list[str] = []
        for i, (argv, _) in enumerate(batch):
            # the marker after each command proves it ran: a chain stops at its first failure,
            # and a key must never be pressed twice by a retry
            args += [*(";" if args else ()), *argv, ";", "display-message", "-p", f"\x1e{token} {i}"]
        try:
            out = await self.run(*args)
            error: TmuxError | None = None
        except TmuxError as exc:
            out, error = exc.stdout, exc
        ran = set(_split_chain(out, token))
        for i, (argv, fut) in enumerate(batch):
            if i in ran or error is None:
                fut.set_result(None)
            elif len(batch) == 1:
                fut.set_exception(error)
            else:
                try:
                    await self.run(*argv)
                    fut.set_result(None)
                except TmuxError as one:
                    fut.set_exception(one)


@dataclass
class LocalTmux(TmuxClient):
    """A tmux server on this machine, chosen like tmux's own -L NAME / -S PATH flags."""

    async def receipts(self, tail: int = SPOOL_TAIL) -> Spool:
        folder = SPOOL_DIR.format(uid=os.getuid())
        try:  # on this machine: no process needed
            st = os.lstat(folder)
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
                return NO_SPOOL  # not this user's own private folder: whatever is in it proves nothing
            fd = os.open(f"{folder}/{SPOOL_FILE}", os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return NO_SPOOL
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
                return NO_SPOOL
            f.seek(max(0, info.st_size - tail))
            return Spool(info.st_size, f.read(max(0, tail)) if tail else b"")

    async def exists(self, path: str) -> bool:
        return os.path.exists(path)

    async def foreground(self, pane: PaneInfo) -> str | None:
        """Read from /proc on this machine (no ps process per pane: a batch of 100 spawned 100 of them).

        The pane's first process names its terminal's foreground process group; that group's leader,
        on the same terminal, is the answer. Anything unusual (a leaderless group, no /proc) asks ps.
        """
        if pane.pid:
            mine = _proc_stat(await self._read_proc(f"/proc/{int(pane.pid)}/stat"))
            if mine is not None and mine[1] > 0:
                tty, tpgid = mine
                leader = _proc_stat(await self._read_proc(f"/proc/{tpgid}/stat"))
                cmdline = await self._read_proc(f"/proc/{tpgid}/cmdline")
                if leader is not None and leader[0] == tty and cmdline:
                    return cmdline.rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")
        return await super().foreground(pane)

    async def _read_proc(self, path: str) -> bytes:
        try:
            with open(path, "rb") as f:  # /proc on this machine: no process needed
                return f.read()
        except OSError:
            return b""

    async def stream(self, argv: list[str]) -> Stream:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                start_new_session=True,  # its own group: closing it never signals ours, and vice versa
            )
        except OSError as exc:
            raise TmuxError(f"cannot start {argv[0]}: {exc}") from None
        return _LocalStream(proc)

    async def _exec(self, argv: list[str], stdin: bytes | None) -> tuple[int, bytes, bytes]:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except FileNotFoundError:
            return 127, b"", b"tmux: not found"
        try:
            out, err = await asyncio.wait_for(proc.communicate(stdin), self.timeout)
        except TimeoutError:
            proc.kill()
            # a tmux client hung on a stopped server may have handed its pipes to that server: waiting
            # for them to close could take forever, so the wait is bounded and the pipes let go
            try:
                await asyncio.wait_for(proc.wait(), 1.0)
            except TimeoutError:
                transport = getattr(proc, "_transport", None)
                if transport is not None:
                    transport.close()
            what = argv[len(self.server_args) + 2]
            raise TmuxError(f"tmux did not answer within {self.timeout:g}s ({what})") from None
        return proc.returncode or 0, out, err


class _LocalStream:
    """A local process: its stdin to write, its stdout to read; closing its stdin ends it."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def read(self) -> bytes:
        assert self.proc.stdout is not None
        return await self.proc.stdout.read(65536)

    def write(self, data: bytes) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.write(data)

    async def close(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 2.0)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()


_LOCAL_LOCKS = LocalLocks()
_TAIL_SPOOL = (
    'd="/tmp/dispatch-receipts-$(id -u)"; f="$d/' + SPOOL_FILE + '"; '
    # this user's own private folder and plain file only (find's -user/-perm work on GNU and BSD alike)
    '[ ! -L "$d" ] && [ -n "$(find "$d" -maxdepth 0 -type d -user "$(id -u)" -perm 700 2>/dev/null)" ] '
    '&& [ -f "$f" ] && [ ! -L "$f" ] && [ -O "$f" ] && { wc -c < "$f"; tail -c @TAIL@ "$f"; } && exit 0; echo 0'
)


def _proc_stat(raw: bytes) -> tuple[int, int] | None:
    """A /proc/PID/stat line's terminal (tty_nr) and its foreground process group (tpgid), or None."""
    fields = raw.rpartition(b")")[2].split()  # the command name in (…) may hold spaces and parentheses
    if len(fields) < 6 or not fields[4].lstrip(b"-").isdigit() or not fields[5].lstrip(b"-").isdigit():
        return None
    return int(fields[4]), int(fields[5])


def parse_environ(raw: bytes) -> dict[str, str]:
    """A /proc/PID/environ file into a dict."""
    env = {}
    for item in raw.split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            env[key.decode(errors="replace")] = value.decode(errors="replace")
    return env


def parse_pane_line(line: str, machine: str = "local") -> PaneInfo | None:
    """One `list-panes -F PANE_FORMAT` line into a PaneInfo (None for a malformed line)."""
    parts = line.split(_SEP)
    if len(parts) != len(_FIELDS) or not parts[0].startswith("%"):
        return None
    f = dict(zip(_FIELDS, parts, strict=True))

    def num(key: str, default: int = 0) -> int:
        try:
            return int(f[key])
        except ValueError:
            return default

    return PaneInfo(
        pane_id=f["pane_id"],
        session=f["session_name"],
        window_index=num("window_index"),
        pane_index=num("pane_index"),
        window_name=f["window_name"],
        dead=f["pane_dead"] == "1",
        dead_status=int(f["pane_dead_status"]) if f["pane_dead_status"].lstrip("-").isdigit() else None,
        command=f["pane_current_command"],
        in_mode=f["pane_in_mode"] == "1",
        width=num("pane_width", 80),
        height=num("pane_height", 24),
        pid=num("pane_pid") or None,
        title=f["pane_title"],
        activity=num("window_activity"),
        active=f["pane_active"] == "1" and f["window_active"] == "1",
        pane_active=f["pane_active"] == "1",
        machine=machine,
        account=f["?@dispatch_account,#{@dispatch_account},#{@dispatch_profile}"],
        tty=f["pane_tty"],
        server=ServerRef(f["socket_path"], num("pid"), num("start_time")) if f["socket_path"] else None,
    )


def _split_chain(out: str, token: str) -> dict[int, str]:
    """Outputs of a marked chain: the text before end marker i (after marker i-1) is command i's."""
    parts: dict[int, str] = {}
    marker = f"\x1e{token} "
    pos = 0
    while True:
        at = out.find(marker, pos)
        if at < 0:
            return parts
        eol = out.find("\n", at)
        eol = len(out) if eol < 0 else eol
        index = out[at + len(marker) : eol]
        if index.isdigit():
            parts[int(index)] = out[pos:at]
        pos = eol + 1
