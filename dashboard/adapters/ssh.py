"""Remote tmux servers over SSH: one reused asyncssh connection per machine, identity-checked.

Each machine gets one `SshLink` (one connection, opened lazily, re-opened when it dies) and one
`SshTmux`, which is the local `TmuxClient` with its subprocess swapped for an exec on that
connection. The chained, coalesced tmux invocations stay the same, so a 50-pane refresh is one
exec per machine.

Trust: the SSH host key must be trusted by known_hosts (from ~/.ssh/config's UserKnownHostsFile or
~/.ssh/known_hosts) or be the key recorded in the registry. There is no way to turn this off: a
config that says `UserKnownHostsFile none` just means "the registry only". Every (re)connection
then reads the machine's identity (hostname, /etc/machine-id, the tmux server's host) before the
first command runs; a mismatch refuses every call on that link with the expected and actual values.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncssh

from dashboard.adapters.lease import Locks
from dashboard.adapters.tmux import TmuxClient
from dashboard.core.ports import HostError, LeaseUnavailable, WrongMachine
from dashboard.core.registry import Identity, Machine, Mismatch

if TYPE_CHECKING:
    from collections.abc import Sequence

MAX_CHANNELS = 8
"""Concurrent execs per connection: OpenSSH's default MaxSessions is 10."""

_SEP = "--dispatch-identity--"


class Unreachable(HostError):
    """The machine could not be reached, or its connection died (exit 5)."""


class UntrustedHostKey(Unreachable):
    """The SSH host key is neither in known_hosts nor the one recorded for this machine."""

    def __init__(self, message: str, fingerprint: str | None) -> None:
        super().__init__(message)
        self.fingerprint = fingerprint


class IdentityMismatch(WrongMachine):
    """The machine that answered is not the one in the registry (exit 5); nothing was sent."""

    def __init__(self, machine: str, mismatches: Sequence[Mismatch], actual: Identity) -> None:
        super().__init__(f"{machine} is not who it should be: " + "; ".join(str(m) for m in mismatches))
        self.mismatches = list(mismatches)
        self.actual = actual


class _Client(asyncssh.SSHClient):
    """Trusts the registry's pinned key on top of known_hosts, and remembers what was presented."""

    def __init__(self, pinned: str | None) -> None:
        self.pinned = pinned
        self.presented: str | None = None
        self.lost = False

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        # only asked when known_hosts did not already trust the key
        self.presented = key.get_fingerprint("sha256")
        return self.pinned is not None and self.presented == self.pinned

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True


@dataclass
class LinkStatus:
    """What the dashboard and `fleet check` show per machine."""

    state: str = "not connected"  # not connected | connected | unreachable | mismatch
    detail: str = ""
    identity: Identity | None = None
    connect_ms: float | None = None
    since: float = field(default_factory=time.time)


class SshLink:
    """One machine's connection: opened once, shared by every call, re-opened after it dies."""

    def __init__(self, machine: Machine, ssh_config: str | None = None, *, verify: bool = True) -> None:
        self.machine = machine
        self.ssh_config = ssh_config
        self.verify = verify
        self.status = LinkStatus()
        self._conn: asyncssh.SSHClientConnection | None = None
        self._client: _Client | None = None
        self._connecting: asyncio.Future[asyncssh.SSHClientConnection] | None = None
        self._gate = asyncio.Semaphore(MAX_CHANNELS)
        self.locks = RemoteLocks(self)
        """Pane leases on this machine, held by one keeper process per connection."""

    @property
    def name(self) -> str:
        return self.machine.name

    def where(self) -> str:
        m = self.machine
        addr = f"{m.address}:{m.port}" if m.port else m.address
        return m.name if addr == m.name else f"{m.name} ({addr})"

    async def connection(self) -> asyncssh.SSHClientConnection:
        """The live, identity-checked connection; concurrent callers share one connect attempt."""
        if self._conn is not None and self._client is not None and not self._client.lost:
            return self._conn
        if self._connecting is None or self._connecting.done():
            self._connecting = asyncio.ensure_future(self._open())
        return await asyncio.shield(self._connecting)

    async def _open(self) -> asyncssh.SSHClientConnection:
        self._drop()
        started = time.perf_counter()
        try:
            conn, client = await self._connect()
            identity = await self._identity(conn)
        except HostError as exc:
            self.status = LinkStatus("mismatch" if isinstance(exc, IdentityMismatch) else "unreachable", str(exc))
            raise
        if self.verify and not self.machine.has_identity:
            conn.close()
            unknown = WrongMachine(
                f"{self.machine.name} has no recorded identity, so it cannot be verified"
                f" (run: dispatch fleet add {self.machine.name} {self.machine.address} --replace)"
            )
            self.status = LinkStatus("mismatch", str(unknown), identity)
            raise unknown
        if self.verify:
            wrong = self.machine.mismatches(identity)
            if wrong:
                conn.close()
                refused = IdentityMismatch(self.machine.name, wrong, identity)
                self.status = LinkStatus("mismatch", str(refused), identity)
                raise refused
        self._conn, self._client = conn, client
        ms = (time.perf_counter() - started) * 1000
        self.status = LinkStatus("connected", "identity verified" if self.verify else "", identity, ms)
        return conn

    async def _connect(self) -> tuple[asyncssh.SSHClientConnection, _Client]:
        m = self.machine
        client = _Client(m.host_key)
        kwargs: dict[str, Any] = {
            "host": m.address,
            "client_factory": lambda: client,
            "connect_timeout": m.connect_timeout,
            "login_timeout": m.connect_timeout,
            "keepalive_interval": 15,
            "keepalive_count_max": 3,
            "config": [self.ssh_config] if self.ssh_config else (),
        }
        if m.port is not None:
            kwargs["port"] = m.port
        if m.user is not None:
            kwargs["username"] = m.user
        try:
            opts = await asyncssh.SSHClientConnectionOptions.construct(None, **kwargs)
            if opts.known_hosts is None:
                # `UserKnownHostsFile none` would switch checking off in asyncssh: trust the registry only
                opts = await asyncssh.SSHClientConnectionOptions.construct(opts, known_hosts=b"")
            conn = await asyncio.wait_for(
                asyncssh.connect(m.address, options=opts), m.connect_timeout + 1
            )  # fmt: skip
        except asyncssh.HostKeyNotVerifiable:
            fp = client.presented
            raise UntrustedHostKey(
                f"{self.where()}: host key {fp or '(unknown)'} is not trusted"
                + (f" (the registry expects {m.host_key})" if m.host_key else " (not in known_hosts)"),
                fp,
            ) from None
        except TimeoutError:
            raise Unreachable(f"{self.where()}: no answer within {m.connect_timeout:g}s") from None
        except asyncssh.PermissionDenied as exc:
            raise Unreachable(f"{self.where()}: SSH login refused ({exc.reason})") from None
        except ConnectionRefusedError:
            raise Unreachable(f"{self.where()}: connection refused (no SSH server on that port)") from None
        except (OSError, asyncssh.Error) as exc:
            reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise Unreachable(f"{self.where()}: cannot connect ({reason})") from None
        return conn, client

    async def _identity(self, conn: asyncssh.SSHClientConnection) -> Identity:
        key = conn.get_server_host_key()
        fingerprint = key.get_fingerprint("sha256") if key is not None else ""
        tmux = shlex.join(["tmux", *self.machine.socket_args, "display-message", "-p", "#{host}"])
        # a marker first: whatever the login shell prints on start-up (a banner, an rc file's echo) comes
        # before it and is ignored
        script = (
            f"echo {_SEP}; uname -n; echo {_SEP}; cat /etc/machine-id 2>/dev/null ||"
            f" cat /var/lib/dbus/machine-id 2>/dev/null; echo {_SEP}; {tmux} 2>/dev/null"
        )
        try:
            result = await asyncio.wait_for(conn.run(script, check=False), self.machine.timeout)
        except TimeoutError:
            conn.close()
            raise Unreachable(
                f"{self.where()}: identity check got no answer within {self.machine.timeout:g}s"
            ) from None
        except (OSError, asyncssh.Error) as exc:
            conn.close()
            raise Unreachable(f"{self.where()}: identity check failed ({exc})") from None
        parts = str(result.stdout or "").split(_SEP + "\n")
        if len(parts) != 4:
            conn.close()
            raise Unreachable(f"{self.where()}: identity check printed something unexpected")
        hostname, machine_id, tmux_host = (p.strip() for p in parts[1:])
        if not hostname or "\n" in hostname or "\n" in machine_id or "\n" in tmux_host:
            conn.close()
            raise Unreachable(f"{self.where()}: identity check got a malformed answer ({hostname!r})")
        return Identity(hostname, machine_id, fingerprint, tmux_host or None)

    async def exec(self, command: str, stdin: bytes | None, timeout: float) -> tuple[int, bytes, bytes]:
        """Run one shell command on the machine.

        Never retried: once the request may have left, it may have run (a key must never be pressed
        twice). A dead connection is re-opened by the next call.
        """
        conn = await self.connection()
        async with self._gate:
            try:
                proc = await asyncio.wait_for(
                    conn.create_process(command, encoding=None, stderr=asyncssh.PIPE), timeout
                )  # fmt: skip
            except TimeoutError:
                self._drop()
                raise Unreachable(f"{self.where()}: no answer within {timeout:g}s") from None
            except asyncssh.ChannelOpenError as exc:
                self._drop()
                raise Unreachable(f"{self.where()}: connection lost ({exc.reason})") from None
            except (OSError, asyncssh.Error) as exc:
                self._drop()
                raise Unreachable(f"{self.where()}: connection lost ({exc})") from None
            try:
                if stdin:
                    proc.stdin.write(stdin)
                proc.stdin.write_eof()  # tmux must never wait on an open stdin
                out, err = await asyncio.wait_for(proc.communicate(), timeout)
            except TimeoutError:
                proc.close()
                self._drop()  # a stalled channel usually means a stalled connection
                raise Unreachable(f"{self.where()}: no answer within {timeout:g}s") from None
            except (OSError, asyncssh.Error) as exc:
                self._drop()
                raise Unreachable(f"{self.where()}: connection lost mid-command ({exc})") from None
            status = proc.exit_status
            if status is None:
                self._drop()
                raise Unreachable(f"{self.where()}: connection lost mid-command")
            return status, bytes(out or b""), bytes(err or b"")

    async def stream(self, command: str) -> _SshStream:
        """A long-running command on the machine, on a channel of its own outside the exec gate."""
        conn = await self.connection()
        try:
            proc = await conn.create_process(command, encoding=None, stderr=asyncssh.DEVNULL)
        except (OSError, asyncssh.Error) as exc:
            raise Unreachable(f"{self.where()}: cannot start a feed ({exc})") from None
        return _SshStream(proc)

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn, self._client = None, None
        if self.status.state == "connected":
            self.status = LinkStatus("not connected", "connection closed")

    async def close(self) -> None:
        self.locks.close()
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
            await conn.wait_closed()


class _SshStream:
    """A remote command: its stdin to write, its stdout to read; EOF on its stdin ends it, as does the link's end."""

    def __init__(self, proc: asyncssh.SSHClientProcess[bytes]) -> None:
        self.proc = proc

    async def read(self) -> bytes:
        try:
            return await self.proc.stdout.read(65536)
        except (OSError, asyncssh.Error):
            return b""

    def write(self, data: bytes) -> None:
        with contextlib.suppress(OSError, asyncssh.Error):
            self.proc.stdin.write(data)

    async def close(self) -> None:
        with contextlib.suppress(OSError, asyncssh.Error):
            self.proc.stdin.write_eof()
        try:
            await asyncio.wait_for(self.proc.wait_closed(), 2.0)
        except (TimeoutError, OSError, asyncssh.Error):
            self.proc.close()


# The keeper: one bash per connection that takes and drops flock(1) locks on request. Its locks die
# with it, and it dies with the connection (EOF on stdin), so a controller that crashes or loses the
# network never leaves a pane leased. Requests: "T id path holder" (try), "R id" (release).
_KEEPER = r"""
declare -A F
while IFS=$'\t' read -r op id path who; do
  case $op in
    T) mkdir -p -m 700 "${path%/*}" 2>/dev/null
       if exec {fd}>>"$path"; then
         if flock -n "$fd"; then F[$id]=$fd; printf '%s\n' "$who" >"$path.who"; echo "ok $id"
         else exec {fd}>&-; printf 'busy %s %s\n' "$id" "$(head -c 300 "$path.who" 2>/dev/null | tr '\n' ' ')"; fi
       else echo "err $id cannot open $path"; fi ;;
    R) fd=${F[$id]}; [ -n "$fd" ] && exec {fd}>&-; unset "F[$id]" ;;
  esac
done
"""


class _Keeper:
    """One keeper process and the locks it holds: they all die with it."""

    def __init__(self, proc: asyncssh.SSHClientProcess[str]) -> None:
        self.proc = proc
        self.answers: dict[int, asyncio.Future[str]] = {}
        self.held: set[int] = set()
        self.alive = True
        self.reader: asyncio.Future[None] | None = None

    def release(self, num: int) -> None:
        self.held.discard(num)
        if self.alive and not self.proc.is_closing():
            with contextlib.suppress(OSError, asyncssh.Error):
                self.proc.stdin.write(f"R\t{num}\n")


class RemoteLocks(Locks):
    """Leases on a remote machine: requests to its keeper, answers matched by request id.

    A token is (keeper, request id): a lock is held only while the keeper that took it lives, so a
    keeper restarted after a lost connection never vouches for its predecessor's locks. An answer
    that comes after its asker gave up is released at once (it would otherwise hold the pane until
    the connection closes).
    """

    def __init__(self, link: SshLink) -> None:
        self.link = link
        self._keeper_now: _Keeper | None = None
        self._starting: asyncio.Lock = asyncio.Lock()
        self._seq = 0

    async def _keeper(self) -> _Keeper:
        async with self._starting:
            k = self._keeper_now
            if k is not None and k.alive and not k.proc.is_closing():
                return k
            conn = await self.link.connection()
            # the keeper holds a channel for the connection's life, outside the exec gate
            try:
                proc = await conn.create_process("exec bash -c " + shlex.quote(_KEEPER), encoding="utf-8")
            except (OSError, asyncssh.Error) as exc:
                raise LeaseUnavailable(f"{self.link.where()}: cannot start the lease keeper ({exc})") from None
            k = _Keeper(proc)
            self._keeper_now = k
            k.reader = asyncio.ensure_future(self._read(k))
            return k

    async def _read(self, k: _Keeper) -> None:
        try:
            async for line in k.proc.stdout:
                kind, _, rest = line.rstrip("\n").partition(" ")
                num, _, detail = rest.partition(" ")
                if not num.isdigit():
                    continue
                fut = k.answers.pop(int(num), None)
                if fut is not None and not fut.done():
                    fut.set_result(f"{kind} {detail}")
                elif kind == "ok":
                    k.release(int(num))  # its asker stopped waiting: never keep a lock nobody holds
        except (OSError, asyncssh.Error):
            pass
        finally:
            k.alive = False
            k.held.clear()  # the keeper is gone, and every lock with it
            err = ""
            with contextlib.suppress(Exception):
                err = (await asyncio.wait_for(k.proc.stderr.read(), 0.5)).strip()
            for fut in k.answers.values():
                if not fut.done():
                    fut.set_exception(LeaseUnavailable(f"{self.link.where()}: the lease keeper stopped {err}".strip()))
            k.answers.clear()

    async def try_lock(self, path: str, holder: str) -> tuple[object | None, str]:
        if "\t" in path or "\n" in path:
            # the keeper's requests are tab-separated lines: such a path would lock another file
            raise LeaseUnavailable(f"{self.link.where()}: the lease path {path!r} holds a tab or a newline")
        k = await self._keeper()
        self._seq += 1
        num = self._seq
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        k.answers[num] = fut
        clean = " ".join(holder.split())
        try:
            k.proc.stdin.write(f"T\t{num}\t{path}\t{clean}\n")
            answer = await asyncio.wait_for(fut, self.link.machine.timeout)
        except TimeoutError:
            k.answers.pop(num, None)  # a late "ok" is released by the reader
            raise LeaseUnavailable(f"{self.link.where()}: the lease keeper did not answer") from None
        except (OSError, asyncssh.Error) as exc:
            k.answers.pop(num, None)
            raise LeaseUnavailable(f"{self.link.where()}: the lease keeper cannot be reached ({exc})") from None
        except asyncio.CancelledError:
            k.answers.pop(num, None)
            raise
        kind, _, detail = answer.partition(" ")
        if kind == "ok":
            k.held.add(num)
            return (k, num), ""
        if kind == "busy":
            return None, detail.strip() or "another sender"
        raise LeaseUnavailable(f"{self.link.where()}: {detail or answer}")

    def release(self, token: object) -> None:
        assert isinstance(token, tuple)
        k, num = token
        assert isinstance(k, _Keeper) and isinstance(num, int)
        if num in k.held:
            k.release(num)

    def held(self, token: object) -> bool:
        assert isinstance(token, tuple)
        k, num = token
        return isinstance(k, _Keeper) and k.alive and num in k.held

    def close(self) -> None:
        k, self._keeper_now = self._keeper_now, None
        if k is not None:
            k.alive = False
            k.held.clear()
            k.proc.close()


@dataclass
class SshTmux(TmuxClient):
    """A tmux server on another machine, through that machine's `SshLink`."""

    link: SshLink | None = None

    @classmethod
    def for_link(cls, link: SshLink) -> SshTmux:
        m = link.machine
        path = m.socket if m.socket and m.socket.startswith("/") else None
        return cls(socket_name=None if path else m.socket, socket_path=path, timeout=m.timeout, name=m.name, link=link)

    def describe(self) -> str:
        return f"{super().describe()} on {self.name}"

    def _locks(self) -> Locks:
        assert self.link is not None
        return self.link.locks

    async def stream(self, argv: list[str]) -> _SshStream:
        assert self.link is not None
        return await self.link.stream(shlex.join(argv))

    async def _exec(self, argv: list[str], stdin: bytes | None) -> tuple[int, bytes, bytes]:
        assert self.link is not None
        # the remote login shell parses the line: quote every argument (';' chain separators included)
        return await self.link.exec(shlex.join(argv), stdin, self.timeout)
