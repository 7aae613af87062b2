"""Giving each surveyed pane its account (subscription), and spreading a batch across accounts.

An agent's environment is read on its own machine through the host port (the pane's process and
its children), once per process, and cached: a config directory is how several accounts of one
agent usually coexist (`CLAUDE_CONFIG_DIR=~/.claude-work`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from dashboard.core.accounts import AccountRule, from_environment, match_rules
from dashboard.core.model import PaneState
from dashboard.core.ports import HostError, TmuxError, TmuxHost
from dashboard.core.registry import resolve_target
from dashboard.services.fleet import Fleet
from dashboard.services.panes import PaneView, survey


@dataclass
class AccountResolver:
    """tmux option, then config rules, then the agent's own environment (read on its machine)."""

    rules: tuple[AccountRule, ...] = ()
    _env_cache: dict[tuple[str, int], str | None] = field(default_factory=dict)

    async def attach(self, host_of: Callable[[str], TmuxHost], views: Sequence[PaneView]) -> list[PaneView]:
        """The views with their accounts; `host_of(machine)` reads a pane's process environment.

        Only agents whose environment was not read yet get a task (a thousand-pane survey made a
        thousand tasks a second to learn nothing new).
        """
        found = [self._settled(v) for v in views]
        ask = [i for i, f in enumerate(found) if f is None]
        if ask:
            panes = [views[i].pane for i in ask]
            read = await asyncio.gather(
                *(self._from_environment(host_of(p.machine), p.machine, p.pid or 0) for p in panes)
            )
            for i, name in zip(ask, read, strict=True):
                found[i] = (name, "environment") if name else (None, None)
        out = []
        for v, f in zip(views, found, strict=True):
            name, source = f or (None, None)
            same = (name, source) == (v.account, v.account_source)
            out.append(v if same else dataclasses.replace(v, account=name, account_source=source))
        return out

    def _settled(self, view: PaneView) -> tuple[str | None, str | None] | None:
        """The account from the tmux option, then config rules, then the environment already read.

        None: the agent's environment must be read first.
        """
        p = view.pane
        if p.account:
            return p.account, "tmux option"
        ruled = match_rules(self.rules, p.machine, p.session, p.window_index, p.pane_index)
        if ruled:
            return ruled, "config"
        if p.pid and view.cls.agent is not None:
            key = (p.machine, p.pid)
            if key not in self._env_cache:
                return None
            cached = self._env_cache[key]
            return (cached, "environment") if cached else (None, None)
        return None, None

    async def _from_environment(self, host: TmuxHost, machine: str, pid: int) -> str | None:
        """The account the agent's config directory names: the pane's process, else its children."""
        key = (machine, pid)
        if key in self._env_cache:
            return self._env_cache[key]
        found = None
        with contextlib.suppress(TmuxError):
            for candidate in (pid, *await host.children(pid)):
                env = await host.environ(candidate)
                found = from_environment(env) if env else None
                if found:
                    break
        if len(self._env_cache) > 4096:
            self._env_cache.clear()
        self._env_cache[key] = found
        return found


@dataclass(frozen=True, slots=True)
class Spread:
    """Which targets a spread batch picked, and which it passed over and why."""

    picked: list[PaneView]
    skipped: list[tuple[PaneView, str]]


def spread(views: Sequence[PaneView], n: int) -> Spread:
    """Up to `n` ready agent panes, taken round-robin across accounts (no one account takes the whole batch).

    Rate-limited panes are passed over with their reset time; busy, dialog, stuck or non-agent panes too.
    Within an account, panes keep the order they were given in.
    """
    queues: dict[str, list[PaneView]] = defaultdict(list)
    skipped: list[tuple[PaneView, str]] = []
    for v in views:
        state = v.cls.state
        if state is PaneState.RATE_LIMITED:
            skipped.append((v, f"rate-limited{f', resets {v.cls.reset}' if v.cls.reset else ''}"))
        elif v.cls.agent is None or state is not PaneState.IDLE:
            skipped.append((v, f"not ready ({state})"))
        else:
            queues[v.account or "(no account)"].append(v)
    picked: list[PaneView] = []
    while len(picked) < n and any(queues.values()):
        for name in list(queues):
            if queues[name] and len(picked) < n:
                picked.append(queues[name].pop(0))
    leftover = [v for q in queues.values() for v in q]
    skipped += [(v, "not needed: the spread was full") for v in leftover]
    return Spread(picked, skipped)


async def spread_over(fleet: Fleet, targets: Sequence[str], n: int) -> tuple[Spread, list[str]]:
    """Survey the machines `targets` name (every machine when none) and spread `n` sends over their accounts.

    Returns the spread and one line per machine that could not be surveyed and per named target that
    is no pane (each passed over).
    """
    resolver = AccountResolver(fleet.registry.accounts)
    machines = sorted({fleet.route(t)[0].name for t in targets}) if targets else fleet.names
    unreachable: list[str] = []

    async def one(name: str) -> list[PaneView]:
        try:
            return await resolver.attach(fleet.host, await survey(fleet.host(name)))
        except HostError as exc:
            unreachable.append(str(exc))
            return []

    views = [v for part in await asyncio.gather(*(one(m) for m in machines)) for v in part]
    if targets:
        wanted = []
        for t in targets:
            host, local = fleet.route(t)
            pane = resolve_target([v.pane for v in views if v.pane.machine == host.name], local)
            if pane is None and not any(host.name in u for u in unreachable):
                unreachable.append(f"{t}: no such pane; passed over")  # named, so never dropped without a word
            wanted += [v for v in views if pane is not None and v.pane == pane]
        views = wanted
    return spread(views, n), unreachable
