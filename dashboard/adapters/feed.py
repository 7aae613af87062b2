"""Pushed pane changes from tmux control mode: one feed per tmux server, local or over SSH.

tmux sends a control client `%output` only for the panes of the session it is attached to, so the
feed is one shell (one SSH channel remotely) running one read-only control client per session:
`attach-session -r -f ignore-size` — it types nothing and never changes a window's size — plus one
`no-output` keeper per server (see ControlFeed). Each client writes into a pipe of its own, passed on
as short whole lines by a relay (see attach_script).

Attaching is where tmux is fragile: before 3.7 (commit e5a2a25, issue #4980) the server crashes when a
notification meets a control client still identifying itself — a session created, closed or renamed,
a pane entering copy mode, a client detaching. Measured on 3.3a, attaching one client at a time did
not make it safe. So a server older than 3.7 is only followed when asked (`always`), and then
carefully: clients start one at a time, each once tmux lists the previous one, and only for sessions
not yet followed — a new session costs one attach, never a restart of them all.

The clients' stdin is a FIFO whose only writer is the feed's own shell; it ends with that shell —
closed, killed or cut off with its SSH link — and at that EOF every client detaches (and one still
there a second later is ended). `pause-after` bounds what tmux keeps for a reader that lags (a
flooding pane): tmux pauses that pane, the feed reports it changed and lets it go on.

Sessions with `destroy-unattached` are not followed (our detach could be their last one and tmux would
destroy them); a followed session that gains the option has our client detached at the next check, as
tmux would have if we were not there. A client someone else detached is attached again.

Only pane ids and the kinds of notification are read: the screen itself is still captured by the
watcher, so a missed or garbled line costs a late look, never a wrong one.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shlex
import time
from collections.abc import Collection, Coroutine
from typing import TYPE_CHECKING, Any, Protocol

from dashboard.core.model import PaneInfo, ServerRef
from dashboard.core.ports import Changes, HostError, NoServer, TmuxError

if TYPE_CHECKING:
    from dashboard.adapters.tmux import TmuxClient


class Stream(Protocol):
    """A long-running command (local process or SSH channel): write its stdin, read its stdout until b""."""

    async def read(self) -> bytes: ...
    def write(self, data: bytes) -> None: ...
    async def close(self) -> None: ...


_OUTPUT = (b"%output ", b"%extended-output ")
_RELIST = (
    b"%window-add",
    b"%window-close",
    b"%unlinked-window-add",
    b"%unlinked-window-close",
    b"%layout-change",
    b"%sessions-changed",
    b"%session-renamed",
    b"%window-renamed",  # automatic-rename follows the pane's command: an agent started or quit
    b"%unlinked-window-renamed",
    b"%pane-mode-changed",
    b"%window-pane-changed",
    b"%session-window-changed",
)
_SEP = "\t"
_LIST = _SEP.join(
    [
        "#{session_id}",
        "#{session_name}",
        "#{destroy-unattached}",
        "#{version}",
        "#{socket_path}",
        "#{pid}",
        "#{start_time}",
    ]
)
_SESSION_ID = re.compile(r"\$\d+")
_KEEPER = "+"
_EVERY: frozenset[str] = frozenset({"\0every session"})
"""`follow(None)`: whatever sessions the server has, now and later."""
PAUSE_AFTER = 2
"""Seconds of output tmux keeps for a lagging feed before it pauses that pane (and says so)."""
RECHECK = 10.0
"""Seconds between looks at the server's sessions when nothing prompted one."""
SAFE_FROM = (3, 7)
"""The first tmux whose server survives a notification during a control client's attach."""


def safe_to_attach(version: str) -> bool:
    """Whether a tmux server of this version (`#{version}`: "3.3a", "next-3.8", "3.7-rc") survives our attach.

    Unknown spellings ("master", "openbsd-7.6") are not known to be safe.
    """
    found = re.fullmatch(r"(?:next-)?(\d+)\.(\d+)[a-z]?(?:-rc\d*)?", version.strip())
    return found is not None and (int(found[1]), int(found[2])) >= SAFE_FROM


_FOLLOWING: dict[tuple[str, str], ControlFeed] = {}
"""This process's running feeds by (machine, server key): how a send on that server finds one."""


def following(pane: PaneInfo) -> ControlFeed | None:
    """The feed in this process following the pane's session on exactly its server (socket, pid, start)."""
    feed = _FOLLOWING.get((pane.machine, pane.server.key)) if pane.server is not None else None
    return feed if feed is not None and feed.follows(pane.session) else None


_RELAY = (
    r'/^%/ { s = t " " $1 " " $2 "\n"; printf "%s", s; fflush() } '
    r'END { s = "%dispatch-ended " c " " t "\n"; printf "%s", s }'
)
"""Each client's lines as `TOKEN KIND ARG`: short whole lines (never a screen's bytes), flushed at once.

A line is made whole, then written with one printf of one string: unbuffered mawk (`-W interactive`)
writes every piece of `print a, b` or `printf "%s %s", a, b` on its own, and pieces from several
relays would splice; one write this short is never split or interleaved on a pipe."""


def attach_script(server_args: list[str]) -> str:
    """The shell that attaches one read-only control client per session id read from its stdin.

    A line `$3` attaches a client that reports output; `+$3` the keeper (`no-output`, see ControlFeed).

    Each client writes into a pipe of its own, read by an awk relay that passes on only the first two
    words of each notification, prefixed by the client's line. tmux writes a control client's output
    itself, into that client's stdout, and the blocking mode of a pipe is shared by all who write it:
    one shared pipe would let an ending client (it makes its stdout blocking) stall the whole server
    behind a reader that lags, and lets long output lines splice the short ones. The relays' lines are
    short (atomic on a pipe); what lags behind a slow reader is a relay, never tmux (`pause-after`).

    One at a time: the next client starts once tmux lists the previous one (or it ended, or a second
    passed). The shell says `%dispatch-client PID LINE` as a client starts, then `%dispatch-attached`
    or `%dispatch-failed`; its relay says `%dispatch-ended` when it exits. fd 4 is the only writer of
    the clients' stdin (a FIFO opened both ways, its name removed), kept by this shell alone: when it
    ends — stdin closed, killed, its link cut — every client reads EOF and detaches; at stdin's end it
    also ends any client still there a second later (tmux 3.3a keeps one whose output it could not
    deliver, and with it the server, from ever exiting).
    """
    tmux = shlex.join(["tmux", *server_args])
    attach = f'{tmux} -C attach-session -E -r -f "$f" -t "${{t#+}}" <&5 >"$o" 2>/dev/null 4>&-'
    listed = f"{tmux} list-clients -F '#{{client_pid}}' 2>/dev/null | grep -qx \"$c\""
    return (
        'd=$(mktemp -d) && mkfifo "$d/in" && exec 4<>"$d/in" 5<"$d/in" || exit 1; '
        # mawk reads a pipe in blocks unless told otherwise; a variable, not a function (a function's
        # redirections would leave dash holding copies of fds 4 and 5 in the background job)
        "r=awk; if awk -W version 2>&1 | grep -q mawk; then r='awk -W interactive'; fi; "
        "n=0; pids=; "
        "while read -r t; do "
        f"case $t in +*) f=ignore-size,no-output;; *) f=ignore-size,pause-after={PAUSE_AFTER};; esac; "
        'n=$((n+1)); o="$d/o$n"; mkfifo "$o" || continue; '
        f'{attach} & c=$!; pids="$pids $c"; '
        f'$r -v t="$t" -v c="$c" {shlex.quote(_RELAY)} <"$o" 4>&- 5<&- & '
        'echo "%dispatch-client $c $t"; k=0; '
        f"until {listed}; do "
        "k=$((k+1)); if [ $k -gt 100 ] || ! kill -0 $c 2>/dev/null; then k=x; break; fi; "
        "sleep 0.01 2>/dev/null || sleep 1; done; "
        'rm -f "$o"; '
        'if [ $k = x ]; then echo "%dispatch-failed $c $t"; else echo "%dispatch-attached $c $t"; fi; '
        "done; "
        'exec 4>&- 5<&-; rm -rf "$d"; sleep 1; kill $pids 2>/dev/null; wait'
    )


class ControlFeed:
    """A `PaneFeed` over tmux control mode for the server a `TmuxClient` talks to.

    Besides a client per followed session it keeps one more per server, the keeper (`no-output`). tmux
    stops reading a pane when every client attached anywhere on the server is a control client that
    cannot take more output (server_client_check_pane_buffer): with agents in detached sessions, a feed
    that stopped reading — a suspended dashboard, a stalled link — would stall the agents themselves.
    A no-output client always counts as able, so tmux reads on; a reader that lags gets `pause-after`.
    """

    def __init__(self, client: TmuxClient, *, always: bool = False, backoff: float = 2.0) -> None:
        self.client = client
        self.always = always
        """Follow a tmux older than 3.7 too (the user accepts the risk named in this module's docstring)."""
        self.backoff = backoff
        self.skipped: list[str] = []
        """Sessions not followed, by name (destroy-unattached): their changes are seen by surveys only."""
        self.note = ""
        """Why nothing is followed, when that is by choice (an unsafe tmux), for the user to read."""
        self.paused = 0
        """How often tmux paused a pane because this feed lagged (pause-after) and it was let go on."""
        self.server: ServerRef | None = None
        """The tmux server followed (socket, pid, start), as its sessions were last listed."""
        self._waiters: dict[str, set[asyncio.Future[None]]] = {}
        self._printed: dict[str, float] = {}
        """Pane → when it last printed (time.monotonic()), for `wait`."""
        self._names: frozenset[str] | None = None
        self._sessions: dict[str, str] = {}
        """Session id → name, as last listed."""
        self._stream: Stream | None = None
        self._reader: asyncio.Task[None] | None = None
        self._clients: dict[str, str] = {}
        """Session id (`+id`: the keeper) → pid of our client there, from its start until it is seen gone."""
        self._attached: set[str] = set()
        self._asked: set[str] = set()
        self._refused: dict[str, float] = {}
        """Session id → when its client last failed to attach: not asked again for RECHECK seconds."""
        self._wanted: frozenset[str] = frozenset()
        self._look = True
        self._looked = 0.0
        self._dirty: set[str] = set()
        self._relist = False
        self._wake = asyncio.Event()
        self._settled = asyncio.Event()
        self._started = 0.0
        self._failures = 0
        self._not_before = 0.0
        self._lock = asyncio.Lock()
        self._chores: set[asyncio.Task[None]] = set()

    attach_timeout = 5.0

    @property
    def live(self) -> bool:
        every = bool(self._wanted) and self._wanted <= self._attached and not self.skipped
        return self._running and self._kept and every

    async def follow(self, sessions: Collection[str] | None) -> None:
        async with self._lock:  # one change of what is followed at a time
            await self._follow(_EVERY if sessions is None else frozenset(sessions))

    def follows(self, session: str) -> bool:
        """Whether the session (by name) is followed right now, the keeper in place."""
        followed = any(self._sessions.get(sid) == session for sid in self._attached)
        return self._running and self._kept and followed

    @property
    def _running(self) -> bool:
        return self._reader is not None and not self._reader.done()

    @property
    def _kept(self) -> bool:
        """The keeper is attached: tmux reads every pane on even while this feed lags."""
        return any(t.startswith(_KEEPER) for t in self._attached)

    async def _follow(self, names: frozenset[str]) -> None:
        running = self._running
        if not running and time.monotonic() < self._not_before:
            return  # it keeps ending as soon as it starts: surveys carry on alone until the back-off ends
        stale = names != self._names or self._look or time.monotonic() - self._looked > RECHECK
        due = stale or (not running and not self.note)  # a feed held back by choice waits for the next look
        if not due:
            return
        self._names, self._look, self._looked = names, False, time.monotonic()
        if not names:
            await self._stop()
            return
        try:
            out = await self.client.run("list-sessions", "-F", _LIST)
        except (NoServer, HostError, TmuxError):
            await self._stop()
            self._give_up()
            return
        sessions: dict[str, tuple[str, bool]] = {}
        version, server = "", self.server
        for line in out.splitlines():
            sid, _, rest = line.partition(_SEP)
            name, destroy, version, socket, pid, started = [*rest.rsplit(_SEP, 5), "", "", "", "", ""][:6]
            if _SESSION_ID.fullmatch(sid):
                sessions[sid] = (name, destroy in ("1", "on"))
            if pid.isdigit() and started.isdigit():
                server = ServerRef(socket, int(pid), int(started))
        if server != self.server:  # another server answers on that socket now: the old one's feed is no help
            await self._stop()
            self.server = server
        if not self.always and sessions and not safe_to_attach(version):
            self.note = f"tmux {version or '(unknown)'} can crash as a control client attaches (fixed in 3.7)"
            await self._stop()
            return
        self.note = ""
        self._sessions = {sid: name for sid, (name, _) in sessions.items()}
        chosen = {sid: info for sid, info in sessions.items() if names is _EVERY or info[0] in names}
        self.skipped = sorted(name for name, destroy in chosen.values() if destroy)
        self._wanted = frozenset(sid for sid, (_, destroy) in chosen.items() if not destroy)
        await self._let_go(sessions)
        if not self._wanted:
            return
        if (not running or self._stream is None) and not await self._start():
            return
        now = time.monotonic()
        self._refused = {s: t for s, t in self._refused.items() if now - t < RECHECK}
        new = sorted(self._wanted - self._clients.keys() - self._asked - self._refused.keys())
        keeper = _KEEPER + min(self._wanted)
        if not any(t.startswith(_KEEPER) for t in (*self._clients, *self._asked)) and keeper not in self._refused:
            new.insert(0, keeper)  # before any client that reports output
        if not new:
            return
        self._asked.update(new)
        self._settled.clear()
        assert self._stream is not None
        self._stream.write("".join(f"{s}\n" for s in new).encode())
        with contextlib.suppress(TimeoutError):  # live once every client is attached
            await asyncio.wait_for(self._settled.wait(), self.attach_timeout)
        self._changed(relist=True)  # whatever printed before the clients were attached was not seen

    async def _let_go(self, sessions: dict[str, tuple[str, bool]]) -> None:
        """Detach our clients from sessions no longer followed: those that now die unattached, are gone, or unasked.

        The first is tmux's rule, kept as if we were not there; gone, because with `detach-on-destroy off`
        tmux moves a killed session's clients to another session instead of ending them. The keeper may
        stay on any session that lives on and may be left.
        """

        def unwanted(token: str) -> bool:
            if token.startswith(_KEEPER):
                return sessions.get(token[len(_KEEPER) :], ("", True))[1]
            return token not in self._wanted

        doomed = [pid for token, pid in self._clients.items() if unwanted(token)]
        for pid in doomed:  # one call each: in a chain, one client gone meanwhile would stop the rest
            with contextlib.suppress(NoServer, HostError, TmuxError):
                await self.client.run("detach-client", "-t", f"client-{pid}", check=False)

    async def _start(self) -> bool:
        await self._stop()
        try:
            self._stream = await self.client.stream(["sh", "-c", attach_script(self.client.server_args)])
        except (HostError, TmuxError, OSError):
            self._give_up()
            return False
        self._started = time.monotonic()
        self._reader = asyncio.ensure_future(self._read(self._stream))
        if self.server is not None:
            _FOLLOWING[(self.client.name, self.server.key)] = self
        return True

    async def next(self, timeout: float) -> Changes:
        if not self._dirty and not self._relist:
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                return Changes()
        out = Changes(frozenset(self._dirty), self._relist)
        self._dirty, self._relist = set(), False
        return out

    async def wait(self, pane: str, since: float, within: float) -> bool:
        """Until `pane` printed after `since` (True) or `within` s pass (False); a relist or stop ends it too.

        For a look that should come as soon as the pane changed (a send's verification): the caller
        looks either way, so a wait the feed cannot end is a plain pause. `since` (time.monotonic())
        covers output that came between the caller's last look and this wait.
        """
        if self._printed.get(pane, -1.0) > since:
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters = self._waiters.setdefault(pane, set())
        waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter, within)
            return True
        except TimeoutError:
            return False
        finally:
            waiters.discard(waiter)
            if not waiters and self._waiters.get(pane) is waiters:
                del self._waiters[pane]

    async def close(self) -> None:
        async with self._lock:
            await self._stop()
            self._names = None
        for chore in list(self._chores):
            chore.cancel()
        await asyncio.gather(*self._chores, return_exceptions=True)

    # ----- inside ---------------------------------------------------------------------------------

    async def _read(self, stream: Stream) -> None:
        tail = b""
        try:
            while chunk := await stream.read():
                lines = (tail + chunk).split(b"\n")
                tail = lines.pop()
                for line in lines:
                    self._take(line)
        except (OSError, HostError, TmuxError):
            pass  # a dropped link ends the feed like an exit does
        finally:
            if self._stream is stream:  # it ended by itself (not stopped by us)
                if time.monotonic() - self._started < 2.0:
                    self._give_up()
                else:
                    self._failures = 0
                self._forget()
                self._names = None
                self._changed(relist=True)  # the feed stopped: only a survey knows what happened since

    def _take(self, line: bytes) -> None:
        """A line from the shell (`%dispatch-…`) or a client's relay (`TOKEN %kind arg`)."""
        if line.startswith(b"%dispatch-"):
            self._client_said(line.decode("ascii", "replace").split())
            return
        token, _, rest = line.partition(b" ")
        if rest.startswith(_OUTPUT):
            printed = rest.partition(b" ")[2]
            if printed.startswith(b"%"):
                self._changed(pane=printed.decode("ascii", "replace"))
        elif rest.startswith(_RELIST):
            if rest.startswith((b"%sessions-changed", b"%session-renamed")):
                self._look = True  # which sessions there are, or what they are called, changed
            self._changed(relist=True)
        elif rest.startswith(b"%pause "):  # we lagged: tmux dropped this pane's output for this client
            pane = rest.partition(b" ")[2].decode("ascii", "replace")
            self.paused += 1
            self._changed(pane=pane)
            pid = self._clients.get(token.decode("ascii", "replace"))
            if pid is not None:
                self._chore(self._continue(pid, pane))

    def _client_said(self, words: list[str]) -> None:
        if len(words) != 3:
            return
        what, pid, sid = words
        if what == "%dispatch-client":
            self._clients[sid] = pid
            return
        if what == "%dispatch-ended":  # its session ended, or someone detached it: attached again if wanted
            if self._clients.get(sid) == pid:
                del self._clients[sid]
                self._attached.discard(sid)
            self._look = True
            self._changed(relist=True)
            return
        self._asked.discard(sid)
        if what == "%dispatch-attached":
            self._attached.add(sid)
        else:  # no such session by now, or a tmux that refuses the flags (before 3.2)
            self._clients.pop(sid, None)
            self._refused[sid] = time.monotonic()
        if not self._asked:
            self._settled.set()

    async def _continue(self, pid: str, pane: str) -> None:
        """Let the client that paused the pane have its output again (the relay says which client it was)."""
        with contextlib.suppress(NoServer, HostError, TmuxError):
            await self.client.run("refresh-client", "-t", f"client-{pid}", "-A", f"{pane}:continue", check=False)

    def _chore(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)

    def _changed(self, pane: str | None = None, relist: bool = False) -> None:
        if pane is not None:
            self._dirty.add(pane)
            self._printed[pane] = time.monotonic()
        self._relist = self._relist or relist
        self._wake.set()
        for key in self._waiters if relist else (pane,) if pane in self._waiters else ():
            for waiter in self._waiters[key]:
                if not waiter.done():
                    waiter.set_result(None)

    def _give_up(self) -> None:
        self._failures += 1
        self._not_before = time.monotonic() + min(60.0, self.backoff * 2 ** (self._failures - 1))

    def _forget(self) -> None:
        if self.server is not None and _FOLLOWING.get((self.client.name, self.server.key)) is self:
            del _FOLLOWING[(self.client.name, self.server.key)]
        self._clients.clear()
        self._attached.clear()
        self._asked.clear()
        self._settled.set()

    async def _stop(self) -> None:
        stream, reader = self._stream, self._reader
        self._stream, self._reader = None, None
        self._forget()
        if stream is not None:
            await stream.close()
        if reader is not None:
            if not reader.done():
                reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
