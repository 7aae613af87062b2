"""Pushed pane changes from tmux control mode: one feed per tmux server, local or over SSH.

tmux sends a control client `%output` only for the panes of the session it is attached to, so the
feed is one process (one SSH channel remotely) running one read-only control client per session:
`attach-session -r -f ignore-size` — it types nothing and never changes a window's size. The clients
share the process's stdin; closing it detaches them all, so nothing outlives the feed, not even over a
dropped link. Sessions with `destroy-unattached` on are never attached (our detach would destroy them).

Only the pane ids and the kinds of notification are read: the screen itself is still captured by the
watcher, so a missed or garbled line costs a late look, never a wrong one.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import time
from collections.abc import Collection
from typing import TYPE_CHECKING, Protocol

from dashboard.core.ports import Changes, HostError, NoServer, TmuxError

if TYPE_CHECKING:
    from dashboard.adapters.tmux import TmuxClient


class Stream(Protocol):
    """A long-running command's output (local process or SSH channel): read until b""; close detaches."""

    async def read(self) -> bytes: ...
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
_LIST = f"#{{session_id}}{_SEP}#{{session_name}}{_SEP}#{{destroy-unattached}}"


def attach_script(server_args: list[str]) -> str:
    """The shell line that attaches one read-only control client per session id given as arguments.

    fd 3 keeps the line's stdin: a background job's own stdin would be /dev/null, and a control
    client ends at EOF on stdin — which is how closing the feed detaches every client at once.
    """
    # -E: attaching must not copy our environment into the user's session (update-environment)
    tmux = shlex.join(["tmux", *server_args, "-C", "attach-session", "-E", "-r", "-f", "ignore-size", "-t"])
    return f'exec 3<&0; for s do {tmux} "$s" <&3 2>/dev/null & done; wait'


class ControlFeed:
    """A `PaneFeed` over tmux control mode for the server a `TmuxClient` talks to."""

    def __init__(self, client: TmuxClient, *, backoff: float = 2.0) -> None:
        self.client = client
        self.backoff = backoff
        self.skipped: list[str] = []
        """Sessions not followed, by name (destroy-unattached): their changes are seen by surveys only."""
        self._names: frozenset[str] | None = None
        self._stream: Stream | None = None
        self._reader: asyncio.Task[None] | None = None
        self._dirty: set[str] = set()
        self._relist = False
        self._wake = asyncio.Event()
        self._started = 0.0
        self._failures = 0
        self._not_before = 0.0
        self._attached = self._wanted = 0
        self._ready = asyncio.Event()
        self._lock = asyncio.Lock()

    attach_timeout = 5.0

    @property
    def live(self) -> bool:
        running = self._reader is not None and not self._reader.done()
        return running and self._attached >= self._wanted and not self.skipped

    async def follow(self, sessions: Collection[str]) -> None:
        async with self._lock:  # one restart at a time: two would leave clients behind
            await self._follow(frozenset(sessions))

    async def _follow(self, names: frozenset[str]) -> None:
        running = self._reader is not None and not self._reader.done()
        if running and names == self._names:
            return
        if not running and time.monotonic() < self._not_before:
            return  # it keeps ending as soon as it starts: surveys carry on alone until the back-off ends
        await self._stop()
        self._names = names
        if not names:
            return
        try:
            out = await self.client.run("list-sessions", "-F", _LIST)
        except (NoServer, HostError, TmuxError):
            self._give_up()
            return
        ids, self.skipped = [], []
        for line in out.splitlines():
            sid, _, rest = line.partition(_SEP)
            name, _, destroy = rest.rpartition(_SEP)
            if destroy in ("1", "on"):
                self.skipped.append(name)
            elif sid.startswith("$"):
                ids.append(sid)
        if not ids:
            return
        try:
            self._stream = await self.client.stream(["sh", "-c", attach_script(self.client.server_args), "sh", *ids])
        except (HostError, TmuxError, OSError):
            self._give_up()
            return
        self._started = time.monotonic()
        self._attached, self._wanted = 0, len(ids)
        self._ready.clear()
        self._reader = asyncio.ensure_future(self._read(self._stream))
        with contextlib.suppress(TimeoutError):  # live only once every client says it is attached
            await asyncio.wait_for(self._ready.wait(), self.attach_timeout)
        self._changed(relist=True)  # whatever printed before the clients were attached was not seen

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

    async def close(self) -> None:
        async with self._lock:
            await self._stop()
            self._names = None

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
            if self._stream is stream:  # it ended by itself (not stopped for a new session list)
                if time.monotonic() - self._started < 2.0:
                    self._give_up()
                else:
                    self._failures = 0
                self._names = None
                self._changed(relist=True)  # the feed stopped: only a survey knows what happened since

    def _take(self, line: bytes) -> None:
        if line.startswith(_OUTPUT):
            parts = line.split(b" ", 2)
            if len(parts) > 1 and parts[1].startswith(b"%"):
                self._changed(pane=parts[1].decode("ascii", "replace"))
        elif line.startswith(_RELIST):
            self._changed(relist=True)
        elif line.startswith(b"%exit"):  # a client ended (its session was killed): no longer all followed
            self._attached -= 1
            self._changed(relist=True)
        elif line.startswith(b"%session-changed "):  # a client's first word once it is attached
            self._attached += 1
            if self._attached >= self._wanted:
                self._ready.set()

    def _changed(self, pane: str | None = None, relist: bool = False) -> None:
        if pane is not None:
            self._dirty.add(pane)
        self._relist = self._relist or relist
        self._wake.set()

    def _give_up(self) -> None:
        self._failures += 1
        self._not_before = time.monotonic() + min(60.0, self.backoff * 2 ** (self._failures - 1))

    async def _stop(self) -> None:
        stream, reader = self._stream, self._reader
        self._stream, self._reader = None, None
        if stream is not None:
            await stream.close()
        if reader is not None:
            if not reader.done():
                reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
