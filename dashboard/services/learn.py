"""`dispatch agents learn`: record a live agent, propose its profile, and prove the proposal.

On the pane (holding its lease, like any sender): the idle screen; a harmless marker pasted into the
composer — not submitted — and taken out again with as many BackSpaces as it has characters (our own
text: the only text Dispatch ever removes); a short prompt submitted; screens while the turn runs and
after it. The proposal (core/learn.py) is written as a profile file with the recorded screens and
their expectations beside it, then checked against those screens as `agents test` would.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from dashboard.adapters.process import this_host
from dashboard.core.agents import parse_profile
from dashboard.core.classify import classify_as
from dashboard.core.learn import Learned, derive, to_toml
from dashboard.core.lease import holder_name
from dashboard.core.model import PaneInfo, PaneState
from dashboard.core.ports import TmuxHost
from dashboard.core.screen import parse_capture
from dashboard.core.verdict import squash

LEARN_PROMPT = "Reply with exactly: OK"


@dataclass
class LearnResult:
    """The proposal, where it was written, and how it reads the screens it was made from."""

    learned: Learned
    profile_file: Path | None = None
    screens: Path | None = None
    checks: list[tuple[str, str, str]] = field(default_factory=list)
    """(screen, expected state, state the new profile reads) for every recorded screen."""

    @property
    def ok(self) -> bool:
        return self.learned.ok and all(want == got for _, want, got in self.checks)


async def _screen(host: TmuxHost, pane: PaneInfo) -> list[str]:
    return list(parse_capture(await host.capture(pane.pane_id), height=pane.height).lines)


async def _settled(host: TmuxHost, pane: PaneInfo, quiet: float = 0.8, limit: float = 60.0) -> list[str]:
    """The screen once it has not changed for `quiet` seconds (or at `limit`)."""
    last, since, deadline = await _screen(host, pane), time.monotonic(), time.monotonic() + limit
    while time.monotonic() < deadline:
        await asyncio.sleep(0.15)
        now = await _screen(host, pane)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


def _stopped(name: str, why: str) -> LearnResult:
    return LearnResult(Learned({"name": name}, [why], ok=False))


async def learn(host: TmuxHost, pane: PaneInfo, name: str, out_dir: Path, prompt: str = LEARN_PROMPT) -> LearnResult:
    """Record `pane`, write `out_dir/NAME.toml` and `out_dir/NAME-screens/`, and check the proposal on them."""
    holder = holder_name(f"agents learn {name}", os.getpid(), this_host())
    async with host.lease(pane, holder, 5.0):
        idle = await _settled(host, pane)
        marker = f"dispatch-learn-{secrets.token_hex(3)}"
        await host.paste(pane.pane_id, marker)
        await asyncio.sleep(0.6)
        typed = await _screen(host, pane)
        if not any(marker in ln for ln in typed):
            # nothing to learn from, and nothing is submitted into a pane whose composer we cannot see
            return LearnResult(derive(name, pane.command, None, idle, typed, marker, [], typed))
        for _ in marker:  # one key per write: some agents read a burst of DELs as text (Continue CLI 1.5)
            await host.send_keys(pane.pane_id, "BSpace")
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.4)
        if any(marker in ln for ln in await _screen(host, pane)):
            why = f"the marker {marker!r} could not be taken out again; nothing was submitted (its composer may still"
            return _stopped(name, f"{why} hold it: clear it by hand)")
        cmdline = await host.foreground(pane)
        working: list[list[str]] = []
        await host.paste(pane.pane_id, prompt)
        await asyncio.sleep(0.4)
        shown = squash("\n".join(await _screen(host, pane)))
        if squash(prompt) not in shown:
            return _stopped(name, "the learning prompt did not show on screen after its paste; no submit key was sent")
        await host.send_keys(pane.pane_id, "Enter")
        before, since, deadline = typed, time.monotonic(), time.monotonic() + 90
        while time.monotonic() < deadline:
            await asyncio.sleep(0.15)
            now = await _screen(host, pane)
            if now != before:
                working.append(now)
                before, since = now, time.monotonic()
            elif working and time.monotonic() - since >= 1.5:
                break
        done = before
    learned = derive(name, pane.command, cmdline, idle, typed, marker, working[: max(1, len(working) - 2)], done)
    result = LearnResult(learned)
    if not learned.ok:
        return result
    out_dir.mkdir(parents=True, exist_ok=True)
    result.profile_file = out_dir / f"{name}.toml"
    result.profile_file.write_text(to_toml(learned.data, learned.notes), encoding="utf-8")
    profile = parse_profile(learned.data, str(result.profile_file))
    shots = out_dir / f"{name}-screens"
    shots.mkdir(exist_ok=True)
    result.screens = shots
    recorded = {"idle": (idle, PaneState.IDLE), "typed": (typed, PaneState.STUCK), "done": (done, PaneState.IDLE)}
    busy = [w for w in working if any(p.search(ln) for p in profile.working for ln in w)]
    if busy:
        recorded["working"] = (busy[len(busy) // 2], PaneState.WORKING)  # a screen that shows the turn running
    for stem, (lines, state) in recorded.items():
        (shots / f"{stem}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        sidecar = f'agent = "{name}"\nstate = "{state}"\ncommand = "{pane.command}"\n'
        (shots / f"{stem}.expect.toml").write_text(sidecar, encoding="utf-8")
        got = classify_as(profile, parse_capture("\n".join(lines))).state
        result.checks.append((stem, str(state), str(got)))
    return result
