"""The verified send of a prompt: inspect, guard, paste, check, wait, submit, verify. Host-agnostic.

Only positive evidence read from the pane after the submit key yields `submitted`; every other
outcome is named and its snapshots are kept in the log. Recording, resolution, identity and the
lease are the delivery path's (services/delivery.py); this module is what a prompt does with them.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from dashboard.core.agents import AgentProfile, known
from dashboard.core.classify import classify, classify_as
from dashboard.core.guard import (
    DEFAULT_MAX_BYTES,
    Refusal,
    check_process,
    check_prompt,
    check_target,
    normalise_prompt,
)
from dashboard.core.model import Classification, PaneInfo, PaneState, SendRecord, ServerRef, Verdict
from dashboard.core.ports import Lease, SendLog, TmuxError, TmuxHost
from dashboard.core.receipts import matching, pane_has_hooks
from dashboard.core.screen import parse_capture
from dashboard.core.timing import DelayPolicy, look_waits
from dashboard.core.verdict import Judgement, Observation, composer_holds, give_up, judge
from dashboard.hooks.wiring import SCRIPT as HOOK_SCRIPT
from dashboard.hooks.wiring import SYSTEMS as HOOK_SYSTEMS
from dashboard.hooks.wiring import config_dir as hook_config_dir
from dashboard.services.delivery import Delivery, EventSink, Stop, deliver, leased, resolve, still_held


@dataclass(frozen=True, slots=True)
class SendOptions:
    """Knobs of one send; defaults are what a careful operator would pick."""

    delay: DelayPolicy = field(default_factory=DelayPolicy)
    raw: bool = False
    when_idle: bool = False
    idle_timeout: float = 120.0
    queue: bool = False
    allow_limited: bool = False
    retries: int = 2
    retry_ms: int = 600
    verify_ms: int = 5000
    paste_wait_ms: int = 1500
    poll_ms: int = 40
    history: int = 200
    max_bytes: int = DEFAULT_MAX_BYTES
    leftover: str | None = None
    """Composer text a failed earlier send left behind (set by `resend`)."""
    leftover_only: bool = False
    """Only complete the leftover (press the submit key); never paste: refuse if it is gone."""
    lease_timeout: float = 5.0
    """How long to wait for another sender's lease on the pane before refusing (--lease-timeout)."""

    def to_dict(self) -> dict[str, object]:
        return {
            "raw": self.raw,
            "when_idle": self.when_idle,
            "queue": self.queue,
            "allow_limited": self.allow_limited,
            "retries": self.retries,
            "verify_ms": self.verify_ms,
        }


# --when-idle waits these out: a busy agent, or a program still drawing its first screen
_NOT_READY_YET = (PaneState.WORKING, PaneState.UNKNOWN)


async def send(
    host: TmuxHost,
    store: SendLog,
    target: str,
    prompt: str,
    opts: SendOptions | None = None,
    *,
    batch: int | None = None,
    panes: Sequence[PaneInfo] | None = None,
    on_event: EventSink | None = None,
    resend_of: int | None = None,
    meta: dict[str, object] | None = None,
    server: ServerRef | None = None,
) -> SendRecord:
    """Send one prompt to one target and return the recorded outcome.

    `server`: the tmux server the target must be on (a re-send goes to the server its record
    names; a restarted server with the same `%N` is refused, not mistaken for the old one).
    Raises StoreError only when the log cannot take the record (or its pane) before the pane is
    touched — nothing is sent then; LogNotWritten when the outcome is known but could not be
    logged (it is kept in a spill file instead). tmux failures become an `error` verdict.
    """
    opts = opts or SendOptions()
    prompt = normalise_prompt(prompt)
    rec = SendRecord(target=target, prompt=prompt, machine=host.name, batch=batch, resend_of=resend_of)
    rec.requested = target
    rec.options = {**opts.to_dict(), **(meta or {})}

    async def steps(d: Delivery) -> None:
        refusal = check_prompt(rec.prompt, opts.max_bytes)
        if refusal:
            raise Stop(Verdict.REFUSED, refusal.reason, [f"guard:{refusal.code}"])
        pane = await resolve(d, panes, server)
        async with leased(d, pane, opts.lease_timeout) as lease:
            await _leased(host, rec, opts, pane, lease, d.emit, d.started)

    return await deliver(host, store, rec, steps, on_event=on_event)


async def _leased(
    host: TmuxHost,
    rec: SendRecord,
    opts: SendOptions,
    pane: PaneInfo,
    lease: Lease,
    emit: Callable[..., None],
    started: float,
) -> None:
    """Everything that touches the pane, while this send holds its lease."""
    # facts and screen read after the lease (another sender may have changed them), asked together: one tmux call
    fresh, before_text = await _facts_and_screen(host, pane, opts.history)
    if fresh is None or before_text is None or fresh.server != pane.server:
        # gone, or its server restarted since it was resolved (a new %N under the same id): not our pane
        rec.evidence = ["guard:vanished"]
        raise Stop(Verdict.REFUSED, f"{pane.pane_id} went away (or its tmux server restarted) before the send began")
    pane = fresh
    before = _reading(pane, before_text, None)
    rec.snapshots["before"] = before_text
    profile = known().get(before.cls.agent)
    if before.cls.state in _NOT_READY_YET and opts.when_idle and not opts.queue:
        emit("waiting-idle", f"waiting up to {opts.idle_timeout:g}s for the agent to finish")
        before_text, before = await _wait_idle(host, pane, opts, profile, before_text, before)
        rec.snapshots["before"] = before_text
        profile = known().get(before.cls.agent)
    rec.agent, rec.state_before = before.cls.agent, str(before.cls.state)
    rec.timings["inspect_ms"] = _ms(started)

    # a re-send into a composer that still holds exactly what our failed send left there only needs
    # the submit key again: pasting a second copy would be refused (or merged) as operator text
    leftover = (
        opts.leftover is not None
        and before.cls.state is PaneState.STUCK
        and composer_holds(before.cls.composer, rec.prompt)
    )
    # the process before the screen: a monitor showing the agent is refused as what it is
    refusal = await _look_alike(host, rec, pane, profile) if before.cls.agent else None
    refusal = refusal or check_target(
        pane,
        replace(before.cls, state=PaneState.IDLE) if leftover else before.cls,
        profile,
        rec.prompt,
        raw=opts.raw,
        allow_busy=opts.queue,
        allow_limited=opts.allow_limited,
    )
    if refusal or profile is None:
        refusal = refusal or Refusal("unknown", "no agent profile")
        rec.evidence = [f"guard:{refusal.code}"]
        raise Stop(Verdict.REFUSED, refusal.reason)
    if opts.leftover_only and not leftover:
        rec.evidence = ["guard:leftover-gone"]
        raise Stop(
            Verdict.REFUSED,
            "the text to complete is no longer in the composer (it may have been submitted before its sender"
            " stopped); nothing was pasted — `dispatch send` sends it anew",
        )

    if leftover:
        rec.snapshots["after-paste"] = before_text
        still_held(lease, rec, "before the submit key")
        keyed = await _mark(host, rec)
        judgement, last = await _submit_and_verify(host, pane, profile, rec, opts, before, emit)
        judgement = await _reconcile(host, pane, rec, judgement, keyed)
        rec.snapshots["after"] = "\n".join(last.screen.ansi or last.screen.lines)
        assert judgement.verdict is not None
        rec.verdict, rec.reason = judgement.verdict, judgement.reason
        rec.evidence = ["resubmitted-leftover", *judgement.evidence]
        return

    emit("pasting")
    still_held(lease, rec, "before the paste")
    t = time.monotonic()
    await host.paste(pane.pane_id, rec.prompt)
    rec.timings["paste_ms"] = _ms(t)

    busy_before = before.cls.state is PaneState.WORKING
    rec.delay_ms = opts.delay.delay_ms(rec.prompt)
    emit("waiting", f"{rec.delay_ms} ms")
    await asyncio.sleep(rec.delay_ms / 1000)

    # The submit key goes only into a composer that shows exactly our text: an Enter into an agent
    # that never saw it submits nothing now (or something later), and an Enter under a merged text
    # (another sender's, an operator's) would submit words that are not ours.
    t = looked = time.monotonic()
    pasted = await _observe(host, pane, profile)
    while not composer_holds(pasted.cls.composer, rec.prompt) and _ms(t) < opts.paste_wait_ms:
        if pasted.cls.state in (PaneState.DEAD, PaneState.WORKING) and not busy_before:
            break
        await host.changed(pane, looked, opts.poll_ms / 1000)
        looked = time.monotonic()
        pasted = await _observe(host, pane, profile)
    rec.timings["paste_seen_ms"] = _ms(t)
    rec.snapshots["after-paste"] = "\n".join(pasted.screen.ansi or pasted.screen.lines)
    if not composer_holds(pasted.cls.composer, rec.prompt):
        rec.snapshots["after"] = rec.snapshots["after-paste"]
        raise Stop(*_not_ours(before, pasted))
    still_held(lease, rec, "before the submit key")

    keyed = await _mark(host, rec)
    judgement, last = await _submit_and_verify(host, pane, profile, rec, opts, before, emit)
    judgement = await _reconcile(host, pane, rec, judgement, keyed)
    rec.snapshots["after"] = "\n".join(last.screen.ansi or last.screen.lines)
    assert judgement.verdict is not None
    rec.verdict, rec.evidence, rec.reason = judgement.verdict, list(judgement.evidence), judgement.reason


RECEIPT_GRACE = 1.0
"""How long after the screen's verdict a pane whose agent writes receipts gets for this send's receipt."""


async def _mark(host: TmuxHost, rec: SendRecord) -> tuple[float, int]:
    """Just before the submit key: the time, and how long the pane machine's receipt spool is now.

    Only receipts appended after this mark can be this send's (an earlier identical prompt's cannot),
    and no clocks are compared; the mark is kept for the verifier.
    """
    size = (await host.receipts(tail=0)).size
    rec.options["receipt_mark"] = size
    return time.time(), size


_ARMED: dict[tuple[str, int, str], tuple[float, bool]] = {}


async def _armed(host: TmuxHost, pane: PaneInfo, agent: str | None) -> bool:
    """Has the pane's agent Dispatch's hooks in its config directory (read from its own environment)?

    Then its first send already waits for its receipt, although the pane has written none yet. The
    answer is kept for a minute per process: it changes only when hooks are installed or removed.
    """
    system = HOOK_SYSTEMS.get(agent or "")
    if system is None or not pane.pid:
        return False
    key = (host.describe(), pane.pid, system.agent)
    cached = _ARMED.get(key)
    if cached is not None and time.monotonic() - cached[0] < 60:
        return cached[1]
    armed = False
    for pid in (pane.pid, *await host.children(pane.pid)):
        env = await host.environ(pid)
        if env and await host.exists(str(hook_config_dir(system, env, None) / HOOK_SCRIPT)):
            armed = True
            break
    _ARMED[key] = (time.monotonic(), armed)
    return armed


async def _reconcile(
    host: TmuxHost, pane: PaneInfo, rec: SendRecord, j: Judgement, keyed: tuple[float, int]
) -> Judgement:
    """Screen evidence and the agent's own receipt, reconciled; a disagreement is recorded, never hidden.

    A pane whose agent has never written a receipt has only the screen. Otherwise a receipt written
    after our submit key for our pane, our server and our text's hash is the strongest evidence there
    is: it confirms a screen verdict, or overrules a screen that showed nothing (`screen-disagrees:…`)
    — but never a composer that still holds our text. A delivery the screen saw with no receipt says
    `receipt-missing`. Queued prompts get their receipt when their turn comes.
    """
    if pane.server is None:
        return j
    at, mark = keyed
    where = {"pane": pane.pane_id, "socket": pane.server.socket}
    spool = await host.receipts()
    mine = pane.pane_id
    if not pane_has_hooks(spool.after(None, mine), **where, agent=rec.agent) and not await _armed(
        host, pane, rec.agent
    ):
        return j
    deadline = time.monotonic() + RECEIPT_GRACE
    found = matching(spool.after(mark, mine), **where, prompt=rec.prompt)
    while found is None and j.verdict is not Verdict.QUEUED and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        found = matching((await host.receipts()).after(mark, mine), **where, prompt=rec.prompt)
    if found is not None:
        rec.timings["receipt_ms"] = round((found.time - at) * 1000)  # submit key → the agent's hook (its clock)
        seen = f"receipt:{found.event}"
        if j.verdict in (Verdict.SUBMITTED, Verdict.QUEUED):
            return Judgement(j.verdict, (*j.evidence, seen), f"{j.reason}; the agent's hook received it")
        if j.verdict is Verdict.STUCK:  # the text is on screen, unsubmitted: a receipt cannot make that a delivery
            why = f"{j.reason}; the agent's hook reported this text, yet it is still in the composer"
            return Judgement(j.verdict, (*j.evidence, seen, "receipt-disagrees"), why)
        why = f"the agent's own hook received this prompt ({found.event}); the screen showed {j.verdict}: {j.reason}"
        return Judgement(Verdict.SUBMITTED, (seen, f"screen-disagrees:{j.verdict}"), why)
    if j.verdict is Verdict.SUBMITTED:
        return Judgement(j.verdict, (*j.evidence, "receipt-missing"), f"{j.reason}; no receipt from the agent's hook")
    return j


async def _look_alike(host: TmuxHost, rec: SendRecord, pane: PaneInfo, profile: AgentProfile | None) -> Refusal | None:
    if profile is None:
        return None
    cmdline = None if pane.command.rsplit("/", 1)[-1] in profile.processes else await host.foreground(pane)
    if cmdline is not None:
        rec.options["process"] = cmdline[:300]
    return check_process(pane, profile, cmdline)


def _not_ours(before: Observation, pasted: Observation) -> tuple[Verdict, str, list[str]]:
    """Why no submit key was sent after the paste: nothing arrived, or the composer is not just ours."""
    if pasted.cls.composer:
        return (
            Verdict.UNRECOGNISED,
            f"the composer does not show exactly our text after the paste (it shows {_clip(pasted.cls.composer)}); "
            "no submit key was sent",
            ["composer-mismatch"],
        )
    if pasted.cls.state is PaneState.WORKING and before.cls.state is not PaneState.WORKING:
        return (
            Verdict.UNRECOGNISED,
            "the agent started working before our text showed in its composer (not our doing); no submit key was sent",
            ["working-without-our-text"],
        )
    verdict = give_up(before, pasted, pasted_seen=False)
    reason = verdict.reason
    if verdict.verdict is Verdict.NOT_RECEIVED:
        reason = "the paste never showed in the composer; no submit key was sent (nothing changed on screen)"
    return verdict.verdict or Verdict.NOT_RECEIVED, reason, list(verdict.evidence)


def _clip(text: str, n: int = 80) -> str:
    one = " ⏎ ".join(text.splitlines())
    return repr(one if len(one) <= n else one[: n - 1] + "…")


async def _submit_and_verify(
    host: TmuxHost,
    pane: PaneInfo,
    profile: AgentProfile,
    rec: SendRecord,
    opts: SendOptions,
    before: Observation,
    emit: Callable[..., None],
) -> tuple[Judgement, Observation]:
    """Press the submit key, watch, and press it again (with backoff) while the text stays put."""
    first_enter = time.monotonic()
    last = before
    # a busy agent gets its queue key where it has one (Codex: Enter while busy interrupts the turn)
    busy = before.cls.state is PaneState.WORKING
    key = profile.queue_key if busy and profile.queue_key else profile.submit_key
    rec.options["submit_key"] = key
    while True:
        emit("submitting" if rec.attempts == 0 else "retrying", f"attempt {rec.attempts + 1}")
        await host.send_keys(pane.pane_id, key)
        rec.attempts += 1
        pressed = time.monotonic()
        emit("verifying")
        retry_after = opts.retry_ms * 2 ** (rec.attempts - 1) if rec.attempts <= opts.retries else None
        stuck_seen = False
        # followed by a feed, a look comes as the agent redraws; otherwise soon, then further apart
        fed = host.followed(pane)
        rec.options["looks"] = "feed" if fed else "polled"
        waits = itertools.repeat(opts.poll_ms / 1000) if fed else look_waits(opts.poll_ms / 1000)
        looked = pressed
        for wait in waits:
            await host.changed(pane, looked, wait)
            looked = time.monotonic()
            try:
                last = await _observe(host, pane, profile)
            except TmuxError as exc:
                return Judgement(Verdict.UNRECOGNISED, ("pane-vanished",), f"the pane went away: {exc}"), last
            j = judge(profile, rec.prompt, before, last)
            if j.verdict in (Verdict.SUBMITTED, Verdict.QUEUED):
                rec.timings["reaction_ms"] = _ms(pressed)
                rec.timings["verify_ms"] = _ms(first_enter)
                return j, last
            stuck_seen = j.verdict is Verdict.STUCK
            if retry_after is not None and stuck_seen and _ms(pressed) >= retry_after:
                break  # press again
            if _ms(first_enter) >= opts.verify_ms and (retry_after is None or not stuck_seen):
                rec.timings["verify_ms"] = _ms(first_enter)
                info = await _refresh(host, pane)
                if info is not None and info.dead:
                    last = Observation(last.screen, Classification(None, PaneState.DEAD))
                return give_up(before, last, pasted_seen=True), last


async def _facts_and_screen(host: TmuxHost, pane: PaneInfo, history: int) -> tuple[PaneInfo | None, str | None]:
    """A pane's facts and screen asked in one tick (a TmuxClient chains them into one tmux process).

    (None, None) when the pane is gone; a capture that fails for another reason raises as ever.
    """
    facts, text = await asyncio.gather(
        host.pane(pane.pane_id), host.capture(pane.pane_id, history), return_exceptions=True
    )
    if isinstance(facts, BaseException):
        raise facts
    if facts is None:
        return None, None
    if isinstance(text, BaseException):
        raise text
    return facts, text


async def _look(host: TmuxHost, pane: PaneInfo, history: int, profile: AgentProfile | None) -> tuple[str, Observation]:
    text = await host.capture(pane.pane_id, history)
    return text, _reading(pane, text, profile)


def _reading(pane: PaneInfo, text: str, profile: AgentProfile | None) -> Observation:
    """A capture of the pane, parsed and classified (by screen unless the agent is already known)."""
    screen = parse_capture(text, height=pane.height)
    return Observation(screen, classify(pane, screen, profile))


async def _observe(host: TmuxHost, pane: PaneInfo, profile: AgentProfile) -> Observation:
    """A visible-screen look, classified as the agent we are talking to."""
    text = await host.capture(pane.pane_id, 0)
    screen = parse_capture(text, height=pane.height)
    return Observation(screen, classify_as(profile, screen))


async def _wait_idle(
    host: TmuxHost,
    pane: PaneInfo,
    opts: SendOptions,
    profile: AgentProfile | None,
    text: str,
    obs: Observation,
) -> tuple[str, Observation]:
    """Look until the pane has been ready for half a second, or refuse after --timeout.

    One ready-looking screen is not enough: between a turn and a queued follow-up some agents
    (Gemini) look exactly idle for 50-200 ms.
    """
    deadline = time.monotonic() + opts.idle_timeout
    ready_since: float | None = None
    while True:
        now = time.monotonic()
        if obs.cls.state in _NOT_READY_YET:
            ready_since = None
            if now >= deadline:
                raise Stop(
                    Verdict.REFUSED,
                    f"{pane.pane_id} was still {obs.cls.state} after {opts.idle_timeout:g}s (--timeout)",
                    ["guard:busy-timeout"],
                )
        elif ready_since is None:
            ready_since = now
        elif now - ready_since >= 0.5:
            return text, obs
        await asyncio.sleep(0.25)
        fresh = await _refresh(host, pane)
        if fresh is None:
            raise Stop(Verdict.REFUSED, f"{pane.pane_id} went away while waiting for idle", ["guard:vanished"])
        text, obs = await _look(host, fresh, opts.history, profile)


async def _refresh(host: TmuxHost, pane: PaneInfo) -> PaneInfo | None:
    return await host.pane(pane.pane_id)  # one pane's facts, not the whole server's


def _ms(since: float) -> int:
    return round((time.monotonic() - since) * 1000)


def leftover_of(rec: SendRecord) -> str | None:
    """What a failed or cut-off send may have left in the composer: the text to complete with the key alone.

    A stuck send's own `after` snapshot shows it; a send cut off mid-way (`interrupted`) pasted,
    at most, its own prompt — `send` checks the composer still shows exactly that before pressing.
    """
    if rec.verdict is Verdict.INTERRUPTED:  # unless its own sender knew it stopped before any key
        return None if "nothing-sent" in rec.evidence else rec.prompt
    profile = known().get(rec.agent)
    after = rec.snapshots.get("after")
    if profile is None or after is None or rec.verdict is not Verdict.STUCK:
        return None
    screen = parse_capture(after)
    return classify_as(profile, screen).composer or None


class CannotResend(Exception):
    """A logged send that cannot be sent again as it stands (no pane, unknown server, still running)."""


async def resend(
    host: TmuxHost,
    store: SendLog,
    rec: SendRecord,
    opts: SendOptions | None = None,
    *,
    on_event: EventSink | None = None,
) -> SendRecord:
    """Send a logged prompt again to the same pane on the same tmux server, verified like any send.

    `host` must be the record's own (`Fleet.host_of`). When the earlier send's text still sits in
    the composer, only the submit key is pressed. `rec` must carry its snapshots (`SendLog.get`).
    """
    if rec.verdict is Verdict.PENDING:
        raise CannotResend(f"send #{rec.id} is still in progress (no verdict yet); wait for it")
    if not rec.pane_id:
        raise CannotResend(f"send #{rec.id} never reached a pane; there is nothing to re-send to")
    server = ServerRef.parse(rec.server)
    if server is None:
        raise CannotResend(
            f"send #{rec.id} was logged before tmux servers were recorded (server unknown): {rec.pane_id} could be"
            " any server's pane; send again with an explicit target"
        )
    # a cut-off send may have been submitted before its sender died: complete it, never paste it again
    only = rec.verdict is Verdict.INTERRUPTED and "nothing-sent" not in rec.evidence
    opts = replace(opts or SendOptions(), leftover=leftover_of(rec), leftover_only=only)
    return await send(host, store, rec.pane_id, rec.prompt, opts, on_event=on_event, resend_of=rec.id, server=server)
