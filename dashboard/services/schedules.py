"""Making a schedule: every rule a new schedule must meet, checked before it is stored.

The front ends (the CLI's `schedule add`) only gather what the user asked for; whether it is a
valid schedule — a name, a pane address on a known machine, a prompt or a canary, a spec that
parses, the tmux server its runs go to — is decided here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo

from dashboard.core.model import Schedule
from dashboard.core.ports import ScheduleBook, StoreError
from dashboard.core.registry import LOCAL, Registry, split_target
from dashboard.core.schedule import ScheduleError, next_fire, parse_spec

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")


@dataclass(frozen=True, slots=True)
class ScheduleRequest:
    """A schedule as asked for; `when` is (kind, text): ("every", "5m"), ("cron", "0 3 * * *"), ("at", …)."""

    name: str
    target: str
    when: tuple[str, str]
    prompt: str = ""
    canary: bool = False
    expect: str | None = None
    expect_timeout: float = 120.0
    missed: str = "skip"
    when_idle: bool = False
    fail_after: int = 3
    on_failure: str | None = None


async def add_schedule(
    book: ScheduleBook, request: ScheduleRequest, registry: Registry, tz: tzinfo, local_socket: str | None
) -> Schedule:
    """Validate `request`, store it, and return the stored schedule (ScheduleError says what is wrong).

    `local_socket`: the tmux server a schedule on this machine was made for (the caller's -L/-S/$TMUX):
    its runs go there, whatever server the daemon was started with.
    """
    r = request
    if not _NAME.fullmatch(r.name):
        raise ScheduleError(f"bad schedule name {r.name!r} (letters, digits, '-', '_', '.', ':')")
    if not r.prompt.strip() and not r.canary:
        raise ScheduleError("no prompt: give it as an argument, with -f FILE, or use --canary")
    if r.canary and r.expect:
        raise ScheduleError("--canary generates its own expected token; do not combine it with --expect")
    if r.expect is not None and not r.expect.strip():
        raise ScheduleError("--expect needs a non-empty string")
    machine, rest = split_target(r.target, registry.machines)
    if not rest or rest.strip() != rest or any(c.isspace() for c in rest):
        raise ScheduleError(f"--target {r.target!r} is not a pane address (%12, session:window.pane, machine:…)")
    now = datetime.now(tz)
    spec = parse_spec(*r.when, now)
    s = Schedule(
        name=r.name, target=r.target, kind=spec.kind, spec=spec.text, anchor=spec.anchor, tz=spec.tz,
        prompt=r.prompt, canary=r.canary, expect=r.expect, expect_timeout=r.expect_timeout, missed=r.missed,
        when_idle=r.when_idle, fail_after=r.fail_after, on_failure=r.on_failure,
        server=local_socket if machine == LOCAL else None,
    )  # fmt: skip
    s.next_fire = next_fire(spec, now.timestamp(), tz)
    try:
        return await book.add(s)
    except StoreError as exc:
        if "already exists" in str(exc):
            raise ScheduleError(str(exc)) from None
        raise
