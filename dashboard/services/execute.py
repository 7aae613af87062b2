"""The exec path: a shell command into a shell pane at an empty prompt, verified and recorded.

The mirror image of the send path: it refuses agent panes (and anything that is not a shell
waiting at an empty prompt) just as the send path refuses shells, and every command passes the
blocklist first — before any pane is even looked at. Outcomes: `started` (the shell took it),
`finished` with the exit status (`wait`), `refused`, `not-received` (the text never reached the
prompt, so no Enter), `stuck-in-composer` (Enter pressed, the command still sits at the prompt).
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from dashboard.core.agents import known
from dashboard.core.blocklist import check_command
from dashboard.core.classify import classify
from dashboard.core.guard import check_command_text, check_exec_target, foreground_job
from dashboard.core.model import PaneInfo, SendRecord, Verdict
from dashboard.core.ports import SendLog, TmuxHost
from dashboard.core.screen import normalise, parse_capture, strip_ansi
from dashboard.services.delivery import Delivery, EventSink, Stop, deliver, leased, resolve

_DONE = "DISPATCH_DONE_"


@dataclass(frozen=True, slots=True)
class ExecOptions:
    """Knobs of one exec; `wait` adds an exit-status marker after the command and waits for it."""

    wait: bool = False
    timeout: float = 60.0
    dry_run: bool = False
    verify_ms: int = 3000
    paste_wait_ms: int = 1500
    poll_ms: int = 50
    history: int = 2000
    lease_timeout: float = 5.0
    """How long to wait for another sender's lease on the pane before refusing."""


async def run_exec(
    host: TmuxHost,
    store: SendLog | None,
    target: str,
    command: str,
    opts: ExecOptions | None = None,
    *,
    on_event: EventSink | None = None,
) -> SendRecord:
    """Run one command in one shell pane. With `opts.dry_run` nothing is typed and nothing recorded.

    The record has `kind="exec"`; `prompt` holds the command exactly as the operator wrote it.
    """
    opts = opts or ExecOptions()
    rec = SendRecord(target=target, prompt=command, machine=host.name, kind="exec")
    rec.requested = target
    rec.options = {"wait": opts.wait, "timeout": opts.timeout, "dry_run": opts.dry_run}

    async def steps(d: Delivery) -> None:
        # the command itself first: a blocked command is refused before any pane is looked at
        refusal = check_command_text(rec.prompt)
        if refusal:
            raise Stop(Verdict.REFUSED, refusal.reason, [f"guard:{refusal.code}"])
        block = check_command(rec.prompt)
        if block is not None:
            raise Stop(Verdict.REFUSED, str(block), [f"blocklist:{block.rule}"])
        pane = await resolve(d)
        async with leased(d, pane, opts.lease_timeout):
            await _leased(host, rec, opts, d.emit, pane)

    return await deliver(host, None if opts.dry_run else store, rec, steps, on_event=on_event)


async def _leased(
    host: TmuxHost, rec: SendRecord, opts: ExecOptions, emit: Callable[..., None], pane: PaneInfo
) -> None:
    """Everything that types into the shell, while this exec holds the pane's lease (one sender per pane)."""
    before_text, line, after = await _look(host, pane)
    rec.snapshots["before"] = before_text
    screen = parse_capture(before_text, height=pane.height)
    cls = classify(pane, screen)
    rec.agent, rec.state_before = cls.agent, str(cls.state)
    agent_processes = frozenset(p for profile in known().profiles for p in profile.processes)
    refusal = check_exec_target(pane, cls, agent_processes, line, after)
    if refusal:
        raise Stop(Verdict.REFUSED, refusal.reason, [f"guard:{refusal.code}"])
    job = foreground_job(await host.foreground(pane))  # read on the pane's machine, local or over SSH
    if job:
        # the shell is not in the foreground (a script run by the same shell binary looks like a shell)
        reason = f"{pane.pane_id} ({pane.address}): a foreground job is running ({job}), not the prompt"
        raise Stop(Verdict.REFUSED, reason, ["guard:busy"])
    if opts.dry_run:
        raise Stop(Verdict.PENDING, "would run: the blocklist and the guard allow it (dry run, nothing typed)", [])

    if opts.wait and _has_comment(rec.prompt):
        raise Stop(Verdict.REFUSED, "--wait cannot see the end of a command with a # comment: drop the comment",
                    ["guard:comment"])  # fmt: skip
    token = secrets.token_hex(4)
    typed = _with_marker(rec.prompt, token, pane.command) if opts.wait else rec.prompt
    emit("pasting")
    await host.paste(pane.pane_id, typed)
    # the command must be visible at the prompt before Enter is worth pressing
    t = looked = time.monotonic()
    seen = False
    while not seen and (time.monotonic() - t) * 1000 < opts.paste_wait_ms:
        await host.changed(pane, looked, opts.poll_ms / 1000)  # a followed pane: as soon as it echoes
        looked = time.monotonic()
        text, _, _ = await _look(host, pane)
        seen = normalise(typed)[-60:] in normalise(strip_ansi(text))
    rec.timings["paste_seen_ms"] = round((time.monotonic() - t) * 1000)
    rec.snapshots["after-paste"] = text
    if not seen:
        raise Stop(Verdict.NOT_RECEIVED, "the command never showed at the prompt; Enter was not pressed", [])

    emit("submitting")
    await host.send_keys(pane.pane_id, "Enter")
    rec.attempts = 1
    pressed = time.monotonic()
    emit("verifying")
    evidence: list[str] = []
    deadline = pressed + (opts.timeout if opts.wait else opts.verify_ms / 1000)
    looked = pressed
    while time.monotonic() < deadline:
        await host.changed(pane, looked, opts.poll_ms / 1000)
        looked = time.monotonic()
        fresh = await host.pane(pane.pane_id)
        if fresh is None or fresh.dead:
            rec.snapshots["after"] = text
            raise Stop(
                Verdict.STARTED, "the pane ended after the command started (it exited the shell?)", ["pane-gone"]
            )
        text = await host.capture(pane.pane_id, opts.history if opts.wait else 0)
        if opts.wait:
            status = _status(strip_ansi(text), token)
            if status is not None:
                rec.snapshots["after"] = text
                rec.exit_status = status
                rec.timings["run_ms"] = round((time.monotonic() - pressed) * 1000)
                raise Stop(Verdict.FINISHED, f"finished with exit status {status}", [f"exit-status:{status}"])
        if not fresh.is_shell and not any(e.startswith("process:") for e in evidence):
            evidence.append(f"process:{fresh.command}")  # the shell's foreground job is now the command
        if evidence and not opts.wait:
            break
        if not evidence and await _left_prompt(host, pane, typed):
            evidence.append("left-prompt")
            if not opts.wait:
                break
    rec.snapshots["after"] = text
    rec.timings["verify_ms"] = round((time.monotonic() - pressed) * 1000)
    if evidence:
        still = f"; still running after {opts.timeout:g}s" if opts.wait else ""
        raise Stop(Verdict.STARTED, f"the shell took the command ({', '.join(evidence)}){still}", evidence)
    raise Stop(Verdict.STUCK, "Enter was pressed but the command still sits at the prompt", ["command-at-prompt"])


async def _look(host: TmuxHost, pane: PaneInfo) -> tuple[str, str | None, str]:
    """The screen, and the cursor's line split at the cursor (what is typed before / after it)."""
    text, cursor = await asyncio.gather(host.capture(pane.pane_id, 0), host.cursor(pane.pane_id))
    if cursor is None:
        return text, None, ""
    x, y = cursor
    lines = strip_ansi(text).split("\n")
    line = lines[y] if 0 <= y < len(lines) else ""
    return text, line[:x], line[x:]


async def _left_prompt(host: TmuxHost, pane: PaneInfo, typed: str) -> bool:
    """After Enter: the cursor line no longer holds the command (a new prompt, or output)."""
    _, line, after = await _look(host, pane)
    if line is None:
        return False
    return normalise(typed)[-30:] not in normalise(line + after)


def _with_marker(command: str, token: str, shell: str) -> str:
    """The command, then a marker line carrying its exit status (printed, so it can be read back).

    The printed marker (`DISPATCH_DONE_<token> <status>`) never appears in the typed line itself,
    which splits it in two words; a command ending in `&` is joined with a space, not `;`.
    """
    status = "$status" if shell.lstrip("-").rsplit("/", 1)[-1] == "fish" else "$?"
    command = command.rstrip()
    if command.endswith(";") and not command.endswith("\\;"):
        command = command[:-1].rstrip()  # `cmd;; printf` would be a syntax error
    joiner = " " if re.search(r"(?<!&)&$", command) else "; "
    return f"{command}{joiner}printf '\\n%s%s %s\\n' {_DONE} {token} {status}"


def _has_comment(command: str) -> bool:
    """An unquoted `#` starting a word: everything after it, the exit-status marker too, is a comment."""
    quote = ""
    prev = " "
    for ch in command:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and prev in " \t;&|(":
            return True
        prev = ch
    return False


def _status(screen: str, token: str) -> int | None:
    m = re.search(rf"^{_DONE}{token} (\d+)\s*$", screen, re.MULTILINE)
    return int(m.group(1)) if m else None
