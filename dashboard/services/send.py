"""The verified send: inspect, guard, paste, wait, submit, verify, record. Host-agnostic.

Only positive evidence read from the pane after the submit key yields `submitted`; every other
outcome is named and its snapshots are kept in the log.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from dashboard.adapters.store import Store
from dashboard.adapters.tmux import HostError, TmuxError, TmuxHost, WrongMachine, resolve_target
from dashboard.core.agents import BY_NAME, AgentProfile
from dashboard.core.classify import classify, classify_as
from dashboard.core.guard import DEFAULT_MAX_BYTES, Refusal, check_prompt, check_target, normalise_prompt
from dashboard.core.model import Classification, PaneInfo, PaneState, SendRecord, Verdict
from dashboard.core.screen import parse_capture
from dashboard.core.timing import DelayPolicy
from dashboard.core.verdict import Judgement, Observation, give_up, judge


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

    def to_dict(self) -> dict[str, object]:
        return {
            "raw": self.raw,
            "when_idle": self.when_idle,
            "queue": self.queue,
            "allow_limited": self.allow_limited,
            "retries": self.retries,
            "verify_ms": self.verify_ms,
        }


@dataclass(frozen=True, slots=True)
class SendEvent:
    """Progress of one send, for live views.

    Phases: inspecting → pasting → waiting → submitting → verifying (→ retrying) → done.
    """

    send_id: int | None
    target: str
    phase: str
    detail: str = ""
    verdict: Verdict | None = None


EventSink = Callable[[SendEvent], None]


# --when-idle waits these out: a busy agent, or a program still drawing its first screen
_NOT_READY_YET = (PaneState.WORKING, PaneState.UNKNOWN)


class _Done(Exception):
    """Internal: the pipeline reached a verdict early (refusal, vanished pane)."""

    def __init__(self, verdict: Verdict, reason: str, evidence: Sequence[str] = ()) -> None:
        super().__init__(reason)
        self.verdict, self.reason, self.evidence = verdict, reason, list(evidence)


async def send(
    host: TmuxHost,
    store: Store,
    target: str,
    prompt: str,
    opts: SendOptions | None = None,
    *,
    batch: int | None = None,
    panes: Sequence[PaneInfo] | None = None,
    on_event: EventSink | None = None,
    resend_of: int | None = None,
    meta: dict[str, object] | None = None,
) -> SendRecord:
    """Send one prompt to one target and return the recorded outcome.

    Raises StoreError only when the log cannot take the record before the pane is touched
    (nothing is sent then); tmux failures become an `error` verdict in the record.
    """
    opts = opts or SendOptions()
    prompt = normalise_prompt(prompt)
    rec = SendRecord(target=target, prompt=prompt, machine=host.name, batch=batch, resend_of=resend_of)
    rec.options = {**opts.to_dict(), "target_arg": target, **(meta or {})}
    started = time.monotonic()
    await store.begin_send(rec)

    def emit(phase: str, detail: str = "", verdict: Verdict | None = None) -> None:
        if on_event is not None:
            on_event(SendEvent(rec.id, rec.target, phase, detail, verdict))

    emit("inspecting")
    try:
        await _pipeline(host, rec, opts, panes, emit, started)
    except _Done as done:
        rec.verdict, rec.reason = done.verdict, done.reason
        rec.evidence = rec.evidence or done.evidence
    except HostError as exc:
        rec.verdict, rec.reason = host_verdict(exc), str(exc)
        rec.evidence = rec.evidence or [f"host:{rec.verdict}"]
    except TmuxError as exc:
        rec.verdict, rec.reason = Verdict.ERROR, f"tmux: {exc}"
    except asyncio.CancelledError:
        rec.verdict, rec.reason = Verdict.ERROR, "cancelled before a verdict"
        rec.elapsed_ms = _ms(started)
        await asyncio.shield(store.finish_send(rec))
        raise
    rec.elapsed_ms = _ms(started)
    rec.timings["total_ms"] = rec.elapsed_ms
    await store.finish_send(rec)
    emit("done", rec.reason, rec.verdict)
    return rec


async def _pipeline(
    host: TmuxHost,
    rec: SendRecord,
    opts: SendOptions,
    panes: Sequence[PaneInfo] | None,
    emit: Callable[..., None],
    started: float,
) -> None:
    refusal = check_prompt(rec.prompt, opts.max_bytes)
    if refusal:
        rec.evidence = [f"guard:{refusal.code}"]
        raise _Done(Verdict.REFUSED, refusal.reason)

    local = rec.target.removeprefix(f"{host.name}:")
    if panes is None and local.startswith("%"):
        pane = await host.pane(local)  # one pane's facts: cheaper than listing the server
    else:
        pane = resolve_target(panes if panes is not None else await host.list_panes(), local)
    if pane is None:
        rec.evidence = ["guard:unknown-target"]
        raise _Done(Verdict.REFUSED, f"no pane '{local}' on {host.describe()}")
    rec.pane_id, rec.target = pane.pane_id, pane.address

    before_text, before = await _look(host, pane, opts.history, None)
    rec.snapshots["before"] = before_text
    profile = BY_NAME.get(before.cls.agent or "")
    if before.cls.state in _NOT_READY_YET and opts.when_idle and not opts.queue:
        emit("waiting-idle", f"waiting up to {opts.idle_timeout:g}s for the agent to finish")
        before_text, before = await _wait_idle(host, pane, opts, profile, before_text, before)
        rec.snapshots["before"] = before_text
        profile = BY_NAME.get(before.cls.agent or "")
    rec.agent, rec.state_before = before.cls.agent, str(before.cls.state)
    rec.timings["inspect_ms"] = _ms(started)

    # a re-send into a composer that still holds exactly what our failed send left there only needs
    # the submit key again: pasting a second copy would be refused (or merged) as operator text
    leftover = (
        opts.leftover is not None
        and before.cls.state is PaneState.STUCK
        and bool(before.cls.composer)
        and before.cls.composer == opts.leftover
    )
    refusal = check_target(
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
        raise _Done(Verdict.REFUSED, refusal.reason)
    if opts.leftover_only and not leftover:
        rec.evidence = ["guard:leftover-gone"]
        raise _Done(Verdict.REFUSED, "the text to complete is no longer in the composer; nothing was pasted")

    if leftover:
        rec.snapshots["after-paste"] = before_text
        judgement, last = await _submit_and_verify(host, pane, profile, rec, opts, before, emit)
        rec.snapshots["after"] = "\n".join(last.screen.ansi or last.screen.lines)
        assert judgement.verdict is not None
        rec.verdict, rec.reason = judgement.verdict, judgement.reason
        rec.evidence = ["resubmitted-leftover", *judgement.evidence]
        return

    emit("pasting")
    t = time.monotonic()
    await host.paste(pane.pane_id, rec.prompt)
    rec.timings["paste_ms"] = _ms(t)

    rec.delay_ms = opts.delay.delay_ms(rec.prompt)
    emit("waiting", f"{rec.delay_ms} ms")
    await asyncio.sleep(rec.delay_ms / 1000)

    # The paste must have reached the composer before a submit key is worth sending: an Enter
    # into an agent that never saw the text submits nothing now and may submit something later.
    t = time.monotonic()
    pasted = await _observe(host, pane, profile)
    while not pasted.cls.composer and _ms(t) < opts.paste_wait_ms:
        if pasted.cls.state in (PaneState.DEAD, PaneState.WORKING):
            break
        await asyncio.sleep(opts.poll_ms / 1000)
        pasted = await _observe(host, pane, profile)
    rec.timings["paste_seen_ms"] = _ms(t)
    rec.snapshots["after-paste"] = "\n".join(pasted.screen.ansi or pasted.screen.lines)
    if not pasted.cls.composer and pasted.cls.state is not PaneState.WORKING:
        verdict = give_up(before, pasted, pasted_seen=False)
        rec.snapshots["after"] = rec.snapshots["after-paste"]
        reason = verdict.reason
        if verdict.verdict is Verdict.NOT_RECEIVED:
            reason = "the paste never showed in the composer; no submit key was sent (nothing changed on screen)"
        rec.evidence = list(verdict.evidence)
        raise _Done(verdict.verdict or Verdict.NOT_RECEIVED, reason)

    judgement, last = await _submit_and_verify(host, pane, profile, rec, opts, before, emit)
    rec.snapshots["after"] = "\n".join(last.screen.ansi or last.screen.lines)
    assert judgement.verdict is not None
    rec.verdict, rec.evidence, rec.reason = judgement.verdict, list(judgement.evidence), judgement.reason


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
        wait = 0.01  # the first look comes quickly: most agents react within a few milliseconds
        while True:
            await asyncio.sleep(wait)
            wait = opts.poll_ms / 1000
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


async def _look(host: TmuxHost, pane: PaneInfo, history: int, profile: AgentProfile | None) -> tuple[str, Observation]:
    text = await host.capture(pane.pane_id, history)
    screen = parse_capture(text, height=pane.height)
    cls = classify(pane, screen, profile)
    return text, Observation(screen, cls)


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
                raise _Done(
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
            raise _Done(Verdict.REFUSED, f"{pane.pane_id} went away while waiting for idle", ["guard:vanished"])
        text, obs = await _look(host, fresh, opts.history, profile)


async def _refresh(host: TmuxHost, pane: PaneInfo) -> PaneInfo | None:
    return await host.pane(pane.pane_id)  # one pane's facts, not the whole server's


def _ms(since: float) -> int:
    return round((time.monotonic() - since) * 1000)


def leftover_of(rec: SendRecord) -> str | None:
    """What a failed send left in the composer, read from its own `after` snapshot."""
    profile = BY_NAME.get(rec.agent or "")
    after = rec.snapshots.get("after")
    if profile is None or after is None or rec.verdict is not Verdict.STUCK:
        return None
    screen = parse_capture(after)
    return classify_as(profile, screen).composer or None


async def resend(
    host: TmuxHost,
    store: Store,
    rec: SendRecord,
    opts: SendOptions | None = None,
    *,
    on_event: EventSink | None = None,
) -> SendRecord:
    """Send a logged prompt again to the same pane, verified like any send.

    When the failed send's text still sits in the composer, only the submit key is pressed.
    `rec` must carry its snapshots (`Store.get`).
    """
    if not rec.pane_id:
        raise ValueError(f"send #{rec.id} never reached a pane; there is nothing to re-send to")
    opts = replace(opts or SendOptions(), leftover=leftover_of(rec))
    return await send(host, store, rec.pane_id, rec.prompt, opts, on_event=on_event, resend_of=rec.id)


def host_verdict(exc: HostError) -> Verdict:
    return Verdict.WRONG_MACHINE if isinstance(exc, WrongMachine) else Verdict.UNREACHABLE
