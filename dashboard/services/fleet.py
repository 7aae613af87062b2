"""The fleet: this machine's tmux server plus every registered machine, each behind one TmuxHost.

Routing a target (`m1:work:0.1`, `m1:%12`, `work:0.1`) gives the host and the pane part; the
send pipeline never learns which kind of host it got. `check()` answers the operator's question
about one machine: reachable? who is it? tmux up? how many agents?
"""

from __future__ import annotations

import asyncio
import os
import shlex
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dashboard.adapters.readonly import ReadOnlyHost
from dashboard.adapters.tmux import TmuxClient
from dashboard.core.model import PaneInfo, ServerRef
from dashboard.core.ports import HostError, NoServer, PaneFeed, TmuxError, TmuxHost, WrongMachine
from dashboard.core.registry import LOCAL, Identity, Registry, split_target

if TYPE_CHECKING:
    from dashboard.adapters.ssh import SshLink


class Fleet:
    """Hosts by machine name; SSH links are opened lazily and shared by every caller."""

    def __init__(
        self, local: TmuxHost, registry: Registry | None = None, hosts: dict[str, TmuxHost] | None = None
    ) -> None:
        """`hosts` adds ready-made hosts by name (static screens for pictures, other local servers)."""
        self.local = local
        self.registry = registry or Registry()
        self._links: dict[str, SshLink] = {}
        self._hosts: dict[str, TmuxHost] = {LOCAL: local, **(hosts or {})}
        self._extra = [n for n in hosts or {} if n not in self.registry.machines]
        self.readonly = False
        """Hosts handed out are read-only views (see `read_only()`)."""

    @classmethod
    def of(cls, host: TmuxHost | Fleet) -> Fleet:
        return host if isinstance(host, Fleet) else cls(host)

    @property
    def names(self) -> list[str]:
        """`local` first, then the registry in its own order."""
        return [LOCAL, *self.registry.machines, *self._extra]

    def host(self, name: str) -> TmuxHost:
        if name not in self._hosts:
            from dashboard.adapters.ssh import SshLink, SshTmux  # asyncssh costs ~0.2 s to import: only when needed

            machine = self.registry.get(name)  # RegistryError for an unknown name
            link = SshLink(machine, self.registry.ssh_config)
            self._links[name] = link
            self._hosts[name] = SshTmux.for_link(link)
            if self.readonly:
                self._hosts[name] = ReadOnlyHost(self._hosts[name])
        return self._hosts[name]

    def host_of(self, machine: str, server: str | None) -> TmuxHost:
        """The host of a logged pane: its machine and the tmux server its record names.

        Never the caller's -L/-S/$TMUX: `%N` repeats on every server. A record from before servers
        were logged (`server` None) gets the machine's default host; callers that act on such a
        record say "server unknown" rather than guess.
        """
        host = self.host(machine or LOCAL)
        ref = ServerRef.parse(server)
        return host.for_server(ref) if ref is not None else host

    async def jump(self, pane: PaneInfo) -> tuple[bool, str]:
        """Bring the operator to a pane.

        (True, what was done) when this process runs inside the pane's own tmux server: its client is
        switched there. Else (False, the command that attaches to it, over ssh for another machine).
        """
        sock = pane.server.socket if pane.server else None
        server = ["-S", sock] if sock else []
        attach = shlex.join(["tmux", *server, "attach", "-t", pane.session, ";", "select-window", "-t", pane.pane_id,
                             ";", "select-pane", "-t", pane.pane_id])  # fmt: skip
        if pane.machine != LOCAL:
            m = self.registry.get(pane.machine)
            where = f"{m.user}@{m.address}" if m.user else m.address
            return False, shlex.join(["ssh", "-t", *(["-p", str(m.port)] if m.port else []), where, attach])
        inside = os.environ.get("TMUX", "").split(",")[0]
        host = self.host(LOCAL)
        if inside and sock and os.path.realpath(inside) == os.path.realpath(sock) and isinstance(host, TmuxClient):
            try:
                await host.run("switch-client", "-t", pane.pane_id)
            except TmuxError as exc:
                return False, f"{attach}  (switching failed: {exc})"
            return True, f"switched to {pane.address}"
        return False, attach

    def feed(self, name: str, *, always: bool = False) -> PaneFeed | None:
        """A feed of the machine's pane changes (tmux control mode), or None for a host that has none.

        `always`: also on a tmux the feed could crash (older than 3.7, see adapters/feed.py).
        """
        host = self.host(name)
        return host.feed(always=always) if isinstance(host, TmuxClient) else None

    def read_only(self) -> Fleet:
        """The same machines through new, read-only clients (this fleet's own clients stay writable)."""
        local = self.local.clone() if isinstance(self.local, TmuxClient) else self.local
        extra = {n: self._hosts[n] for n in self._extra}
        fleet = Fleet(local, self.registry, extra)
        fleet.readonly = True
        fleet._hosts = {n: ReadOnlyHost(h) for n, h in fleet._hosts.items()}
        return fleet

    def link(self, name: str) -> SshLink | None:
        if name != LOCAL:
            self.host(name)
        return self._links.get(name)

    def route(self, target: str) -> tuple[TmuxHost, str]:
        """The host a target lives on and the target's pane part on that host."""
        machine, rest = split_target(target, self._hosts.keys() | self.registry.machines.keys())
        return self.host(machine), rest

    async def __aenter__(self) -> Fleet:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await asyncio.gather(*(link.close() for link in self._links.values()), return_exceptions=True)


@dataclass
class MachineCheck:
    """The answer to `fleet check NAME`."""

    name: str
    address: str
    reachable: bool = False
    identity_ok: bool = False
    identity: Identity | None = None
    mismatches: list[str] = field(default_factory=list)
    tmux_up: bool = False
    panes: int = 0
    agents: int = 0
    error: str = ""
    elapsed_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.reachable and self.identity_ok and not self.error

    def to_json(self) -> dict[str, object]:
        return {
            "machine": self.name,
            "address": self.address,
            "reachable": self.reachable,
            "identity_ok": self.identity_ok,
            "identity": self.identity.to_json() if self.identity else None,
            "mismatches": self.mismatches,
            "tmux": self.tmux_up,
            "panes": self.panes,
            "agent_panes": self.agents,
            "error": self.error or None,
            "ok": self.ok,
            "elapsed_ms": self.elapsed_ms,
        }


async def check(fleet: Fleet, name: str) -> MachineCheck:
    """Connect (verifying identity), then count panes and agents; never raises for host trouble."""
    from dashboard.adapters.ssh import IdentityMismatch
    from dashboard.services.panes import survey  # here, not above: every send imports the fleet (~2.5 ms)

    started = time.perf_counter()
    if name == LOCAL:
        result = MachineCheck(LOCAL, "this machine", reachable=True, identity_ok=True)
    else:
        machine = fleet.registry.get(name)
        result = MachineCheck(name, machine.address)
        link = fleet.link(name)
        assert link is not None
        try:
            await link.connection()
            result.reachable = result.identity_ok = True
            result.identity = link.status.identity
        except IdentityMismatch as exc:
            result.reachable, result.identity = True, exc.actual
            result.mismatches = [str(m) for m in exc.mismatches]
            result.error = str(exc)
        except WrongMachine as exc:
            result.reachable, result.identity, result.error = True, link.status.identity, str(exc)
        except HostError as exc:
            result.error = str(exc)
        if not machine.has_identity and result.identity_ok:
            result.identity_ok = False
            result.error = (
                f"{name} has no recorded identity (run: dispatch fleet add {name} {machine.address} --replace)"
            )
    if result.reachable and result.identity_ok:
        try:
            views = await survey(fleet.host(name))
            result.tmux_up = True
            result.panes = len(views)
            result.agents = sum(1 for v in views if v.cls.agent)
            if not views:
                result.tmux_up = await _server_up(fleet.host(name))
        except NoServer:
            result.tmux_up = False
        except TmuxError as exc:
            result.error = str(exc)
    result.elapsed_ms = round((time.perf_counter() - started) * 1000)
    return result


async def _server_up(host: TmuxHost) -> bool:
    run = getattr(host, "run", None)
    if run is None:
        return False
    try:
        await run("list-sessions", "-F", "#{session_name}")
        return True
    except TmuxError:
        return False
