"""A read-only view of a tmux host: the only kind of host the verifier is ever given.

Two walls. The view has no paste, key or exec methods at all (there is nothing to call by mistake),
and the client underneath refuses, before anything is run, every tmux command that is not on a
short list of read commands — so not even a future edit that reaches through the view can type.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dashboard.adapters.tmux import TmuxClient
from dashboard.core.model import PaneInfo, ServerRef
from dashboard.core.ports import TmuxError, TmuxHost
from dashboard.core.receipts import SPOOL_TAIL, Spool

READ_COMMANDS = frozenset({"list-panes", "capture-pane", "display-message", "list-sessions", "show-options"})


class WriteRefused(TmuxError):
    """A tmux command that could change a pane was asked of a read-only host."""


def guard_client(client: TmuxClient) -> None:
    """Make a tmux client refuse anything but read commands, whatever calls it from now on."""
    original = client.run

    async def run(*args: str, stdin: bytes | None = None, check: bool = True) -> str:
        if any(a != ";" and a.endswith(";") and not a.endswith("\\;") for a in args):
            raise WriteRefused("read-only host: refused an argument ending in ';' (tmux would start a new command)")
        commands = _commands(args)
        forbidden = [c for c in commands if c not in READ_COMMANDS]
        if forbidden or stdin is not None:
            raise WriteRefused(f"read-only host: refused tmux {', '.join(forbidden) or 'input'}")
        return await original(*args, stdin=stdin, check=check)

    client.run = run  # type: ignore[method-assign]


def _commands(args: Sequence[str]) -> list[str]:
    """The command names of a tmux invocation (`a … ; b …` chains included)."""
    out: list[str] = []
    expect = True
    for a in args:
        if a == ";":
            expect = True
        elif expect:
            out.append(a)
            expect = False
    return out


class ReadOnlyHost:
    """Lists, captures and reads cursors; that is all it can do."""

    __slots__ = ("_host", "name")

    def __init__(self, host: TmuxHost) -> None:
        if isinstance(host, TmuxClient):
            host = host.clone()  # never restrict the writable client someone else holds
            guard_client(host)
        self._host = host
        self.name = host.name

    def describe(self) -> str:
        return f"{self._host.describe()} (read-only)"

    async def list_panes(self) -> list[PaneInfo]:
        return await self._host.list_panes()

    async def pane(self, pane_id: str) -> PaneInfo | None:
        return await self._host.pane(pane_id)

    async def capture(self, pane_id: str, history: int = 0) -> str:
        return await self._host.capture(pane_id, history)

    async def capture_many(self, pane_ids: Sequence[str], history: int = 0) -> dict[str, str | None]:
        return await self._host.capture_many(pane_ids, history)

    async def cursor(self, pane_id: str) -> tuple[int, int] | None:
        return await self._host.cursor(pane_id)

    async def environ(self, pid: int) -> dict[str, str]:
        return await self._host.environ(pid)

    def followed(self, pane: PaneInfo) -> bool:
        return self._host.followed(pane)

    async def changed(self, pane: PaneInfo, since: float, within: float) -> None:
        await self._host.changed(pane, since, within)

    async def receipts(self, tail: int = SPOOL_TAIL) -> Spool:
        return await self._host.receipts(tail)

    async def children(self, pid: int) -> list[int]:
        return await self._host.children(pid)

    async def exists(self, path: str) -> bool:
        return await self._host.exists(path)

    def for_server(self, server: ServerRef) -> ReadOnlyHost:
        return ReadOnlyHost(self._host.for_server(server))

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"read-only host has no '{name}'")
