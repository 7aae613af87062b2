"""Giving each surveyed pane its subscription profile, and spreading a batch across profiles.

The environment of a local agent is read from /proc (the pane's process and its children) once per
process and cached: a config directory is how several accounts of one agent usually coexist.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dashboard.core.model import PaneState
from dashboard.core.profiles import ProfileRule, from_environment, match_rules
from dashboard.services.panes import PaneView


@dataclass
class ProfileResolver:
    """tmux option, then config rules, then the agent's visible environment (local panes only)."""

    rules: tuple[ProfileRule, ...] = ()
    proc: Path = Path("/proc")
    _env_cache: dict[int, str | None] = field(default_factory=dict)

    def attach(self, views: Sequence[PaneView]) -> list[PaneView]:
        out = []
        for v in views:
            name, source = self.resolve(v)
            out.append(v if (name, source) == (v.profile, v.profile_source) else
                       dataclasses.replace(v, profile=name, profile_source=source))  # fmt: skip
        return out

    def resolve(self, view: PaneView) -> tuple[str | None, str | None]:
        p = view.pane
        if p.profile:
            return p.profile, "tmux option"
        ruled = match_rules(self.rules, p.machine, p.session, p.window_index, p.pane_index)
        if ruled:
            return ruled, "config"
        if p.machine == "local" and p.pid and view.cls.agent is not None:
            found = self._from_proc(p.pid)
            if found:
                return found, "environment"
        return None, None

    def _from_proc(self, pid: int) -> str | None:
        if pid in self._env_cache:
            return self._env_cache[pid]
        found = None
        for candidate in (pid, *self._children(pid)):
            env = self._environ(candidate)
            found = from_environment(env) if env else None
            if found:
                break
        if len(self._env_cache) > 4096:
            self._env_cache.clear()
        self._env_cache[pid] = found
        return found

    def _children(self, pid: int) -> list[int]:
        with contextlib.suppress(OSError, ValueError):
            text = (self.proc / str(pid) / "task" / str(pid) / "children").read_text()
            return [int(c) for c in text.split()]
        return []

    def _environ(self, pid: int) -> dict[str, str]:
        try:
            raw = (self.proc / str(pid) / "environ").read_bytes()
        except OSError:
            return {}
        env = {}
        for item in raw.split(b"\0"):
            key, sep, value = item.partition(b"=")
            if sep:
                env[key.decode(errors="replace")] = value.decode(errors="replace")
        return env


@dataclass(frozen=True, slots=True)
class Spread:
    """Which targets a spread batch picked, and which it passed over and why."""

    picked: list[PaneView]
    skipped: list[tuple[PaneView, str]]


def spread(views: Sequence[PaneView], n: int) -> Spread:
    """Up to `n` ready agent panes, taken round-robin across profiles (no one account takes the whole batch).

    Rate-limited panes are passed over with their reset time; busy, dialog, stuck or non-agent panes too.
    Within a profile, panes keep the order they were given in.
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
            queues[v.profile or "(no profile)"].append(v)
    picked: list[PaneView] = []
    while len(picked) < n and any(queues.values()):
        for name in list(queues):
            if queues[name] and len(picked) < n:
                picked.append(queues[name].pop(0))
    leftover = [v for q in queues.values() for v in q]
    skipped += [(v, "not needed: the spread was full") for v in leftover]
    return Spread(picked, skipped)
