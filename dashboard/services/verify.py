"""The independent verifier: given only the evidence, re-inspect each target now and confirm or refute.

It is handed a read-only fleet (`Fleet.read_only()`: hosts that can list and capture, nothing else)
and the records — from the log or from an exported evidence directory — and never trusts the
original verdict: a delivery is *confirmed* only when the prompt is visible now as submitted input
in the pane's transcript (screen or scrollback), *refuted* with the reason when the pane is gone or
dead, the agent has exited, the text still sits in the composer, or the prompt is not in a
transcript that provably reaches back to before the send, and *unknown* when the machine cannot be
reached, the agent hides the prompt (a collapsed paste) or the prompt may simply have scrolled out
of sight: what the verifier cannot see is never evidence that the send failed.

Where the pane's agent writes receipts (its own hooks, see `hooks install`), the receipt for this
pane, server and text is read too: it confirms a delivery the screen can no longer show, and every
check says whether the agent's hook received the prompt (`receipt`: received / missing / none).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from dashboard.core.classify import classify
from dashboard.core.model import PaneInfo, PaneState, SendRecord, ServerRef, Verdict
from dashboard.core.ports import HostError, TmuxError, TmuxHost
from dashboard.core.receipts import NO_SPOOL, Spool, matching, pane_has_hooks
from dashboard.core.registry import RegistryError
from dashboard.core.screen import normalise, parse_capture
from dashboard.services.fleet import Fleet

HISTORY = 20_000
"""Scrollback lines read per pane (one capture): ten times tmux's default history-limit."""
_ANCHOR_CHARS = 24
"""Characters (blanks removed) the matched lines need between them to say where in a transcript they are."""
_REDRAWN = 2
"""Lines right above a composer an agent may redraw away after a send (a spinner, a tip, a new path)."""
_COLLAPSED = ("[Pasted text", "[Pasted ")
_NOT_IN_TRANSCRIPT = "the prompt is not in the transcript"


@dataclass(slots=True)
class Check:
    """One target's re-inspection."""

    send_id: int | None
    target: str
    machine: str
    pane_id: str | None
    claim: str
    result: str  # confirmed | refuted | unknown
    why: str
    state_now: str | None = None
    agent_now: str | None = None
    receipt: str | None = None
    """"received" (the agent's hook got exactly this text), "missing" (its hooks wrote receipts, not
    this one), None (the pane's agent writes no receipts, or they could not be read)."""

    def to_json(self) -> dict[str, object]:
        return {
            "send": self.send_id,
            "target": self.target,
            "machine": self.machine,
            "pane_id": self.pane_id,
            "claim": self.claim,
            "result": self.result,
            "why": self.why,
            "state_now": self.state_now,
            "agent_now": self.agent_now,
            "receipt": self.receipt,
        }


@dataclass(slots=True)
class Report:
    """Every target's check, in the order of the records, with counts."""

    checks: list[Check] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        return Counter(c.result for c in self.checks)

    def to_json(self) -> dict[str, object]:
        # counts only for results that occurred: a reader grepping for "refuted" finds a refutation
        counts = {r: n for r in ("confirmed", "refuted", "unknown") if (n := self.counts[r])}
        return {
            "summary": True,
            "total": len(self.checks),
            **counts,
            "claimed": sum(1 for c in self.checks if Verdict(c.claim).delivered),
        }


async def verify(fleet: Fleet, records: list[SendRecord]) -> Report:
    """Re-inspect every record's pane now, each machine listed once, machines concurrently."""
    if not fleet.readonly:
        fleet = fleet.read_only()
    # grouped by (machine, tmux server): each record is looked for on the server it went to, never
    # on whichever server the caller's -L/$TMUX names
    by_server: dict[tuple[str, str | None], list[SendRecord]] = {}
    for rec in records:
        by_server.setdefault((rec.machine or "local", rec.server), []).append(rec)
    results = await asyncio.gather(*(_machine(fleet, m, srv, recs) for (m, srv), recs in by_server.items()))
    order = {id(r): i for i, r in enumerate(records)}
    checks = sorted((c for part in results for c in part[1]), key=lambda c: order.get(c[0], 0))
    return Report([c for _, c in checks])


async def _machine(
    fleet: Fleet, machine: str, server: str | None, recs: list[SendRecord]
) -> tuple[str, list[tuple[int, Check]]]:
    out: list[tuple[int, Check]] = []
    ref = ServerRef.parse(server)
    if ref is None:
        why = "logged before tmux servers were recorded (server unknown): its %N could be any server's pane"
        return machine, [(id(rec), _check(rec, "unknown", why)) for rec in recs]
    try:
        host = fleet.host_of(machine, server)
        # a restarted server reuses %N: its panes are not the ones the records name
        panes = {p.pane_id: p for p in await host.list_panes() if p.server == ref}
    except (HostError, RegistryError, TmuxError) as exc:
        for rec in recs:
            out.append((id(rec), _check(rec, "unknown", f"cannot look: {exc}")))
        return machine, out
    try:
        spool = await host.receipts()
    except (HostError, TmuxError):
        spool = NO_SPOOL  # the screen alone, as for an agent without hooks
    checks = await asyncio.gather(*(_one(host, panes, rec) for rec in recs))
    return machine, [(id(r), _with_receipt(c, r, ref, spool)) for r, c in zip(recs, checks, strict=True)]


def _with_receipt(check: Check, rec: SendRecord, ref: ServerRef, spool: Spool) -> Check:
    """The agent's own word beside the screen's: it confirms what the screen can no longer show.

    Only receipts appended after the send's own mark (the spool's length just before its submit
    key) count: a record without one (older, or the key never pressed) gets no receipt judgement.
    """
    mark = rec.options.get("receipt_mark")
    if not rec.verdict.delivered or rec.kind == "exec" or not rec.pane_id or not isinstance(mark, int):
        return check
    where = {"pane": rec.pane_id, "socket": ref.socket}
    mine = [r for r in spool.after(None, rec.pane_id) if r.time >= ref.started]  # a restarted server's %N differs
    if not pane_has_hooks(mine, **where, agent=rec.agent):
        return check
    found = matching(spool.after(mark, rec.pane_id), **where, prompt=rec.prompt)
    if found is None:
        check.receipt = "missing"
        check.why += "; no receipt from the agent's hook for it"
        return check
    check.receipt = "received"
    if check.result == "unknown" or check.why.startswith(_NOT_IN_TRANSCRIPT):
        # the screen cannot show it (scrolled out, collapsed, repeated) or no longer does (cleared)
        check.result = "confirmed"
        check.why = f"the agent's own hook received it ({found.event}); the screen: {check.why}"
    else:  # gone, dead, exited, or the text sits in the composer again: the screen's word stands
        check.why += f"; the agent's hook received it ({found.event})"
    return check


def _check(rec: SendRecord, result: str, why: str, pane: PaneInfo | None = None, **kw: str | None) -> Check:
    return Check(rec.id, rec.target, rec.machine, rec.pane_id, str(rec.verdict), result, why, **kw)


async def _one(host: TmuxHost, panes: dict[str, PaneInfo], rec: SendRecord) -> Check:
    if not rec.verdict.delivered:
        return _check(rec, "unknown", f"no delivery was claimed ({rec.verdict}): nothing to confirm")
    if rec.kind == "exec":
        return _check(rec, "unknown", "a shell command: its effects are not in a transcript to check")
    pane = panes.get(rec.pane_id or "")
    if pane is None:
        return _check(rec, "refuted", f"the pane {rec.pane_id} is gone")
    if pane.dead:
        status = f" (exit status {pane.dead_status})" if pane.dead_status is not None else ""
        return _check(rec, "refuted", f"the pane is dead{status}", state_now="dead")
    try:
        text = await host.capture(pane.pane_id, HISTORY)
    except TmuxError as exc:
        return _check(rec, "unknown", f"cannot capture the pane: {exc}")
    screen = parse_capture(text, height=pane.height)
    cls = classify(pane, screen)
    state, agent = str(cls.state), cls.agent
    if cls.state is PaneState.SHELL:
        return _check(rec, "refuted", f"the agent has exited: {pane.command} runs there now", state_now=state)
    prompt = normalise(rec.prompt)
    composer = normalise(cls.composer or "")
    if composer and (prompt[:80] in composer or (len(composer) >= 20 and composer[:80] in prompt)):
        return _check(
            rec, "refuted", "the prompt is still in the composer, not submitted", state_now=state, agent_now=agent
        )
    # the transcript is the scrollback plus the screen above the composer (the composer's text is not input)
    above = screen.lines[: cls.composer_span[0]] if cls.composer_span is not None else screen.lines
    transcript = "\n".join((*screen.history, *above))
    flat = normalise(transcript)
    head, tail = prompt[:60], prompt[-60:]
    before = normalise("\n".join(parse_capture(rec.snapshots["before"]).lines)) if "before" in rec.snapshots else ""
    seen_before = max(before.count(head), before.count(tail)) if before else 0
    if seen_before and max(flat.count(head), flat.count(tail)) <= seen_before:
        # the same text was on screen before this send (a repeated prompt): it proves nothing now
        return _check(rec, "unknown", "the prompt's text was already on screen before the send; the new copy "
                      "cannot be told apart", state_now=state, agent_now=agent)  # fmt: skip
    if head in flat or tail in flat:
        note = {"working": "working on it", "idle": "done, idle", "dialog": "now waiting on a dialog",
                "rate-limited": "now rate-limited"}.get(state, state)  # fmt: skip
        above_flat = normalise("\n".join(above))
        where = "transcript" if head in above_flat or tail in above_flat else "scrollback"
        return _check(rec, "confirmed", f"the prompt is in the {where} as submitted input; agent {note}",
                      state_now=state, agent_now=agent)  # fmt: skip
    if any(marker in transcript for marker in _COLLAPSED):
        return _check(rec, "unknown", "the agent shows the prompt collapsed; cannot match its text", state_now=state,
                      agent_now=agent)  # fmt: skip
    # not found: that refutes the send only if the search reached back to before it
    earlier = _before_transcript(rec, pane)
    if earlier and _reaches_back(earlier, (*screen.history, *above)):
        return _check(rec, "refuted", f"{_NOT_IN_TRANSCRIPT}, which still shows what preceded the send "
                      "(cleared, or never submitted)", state_now=state, agent_now=agent)  # fmt: skip
    lines = len(screen.history)
    searched = f"in the last {lines} lines of scrollback" if lines >= HISTORY else f"in its {lines} lines of scrollback"
    if not lines:
        searched = "in any scrollback (the pane has none)"
    lost = "the lines that preceded the send are gone too" if earlier else "the record has no before-screen to tell"
    return _check(rec, "unknown", f"the prompt is not on screen or {searched}, and {lost}: it may have scrolled out "
                  "of sight; cannot see it", state_now=state, agent_now=agent)  # fmt: skip


def _before_transcript(rec: SendRecord, pane: PaneInfo) -> list[str]:
    """The transcript lines of the send's before-screen (above its composer; empty when unknown)."""
    text = rec.snapshots.get("before")
    if not text:
        return []
    screen = parse_capture(text, height=pane.height)
    span = classify(pane, screen).composer_span
    # without the composer's place the bottom holds UI furniture (rules, footers) that is on every screen
    return [*screen.history, *screen.lines[: span[0]]] if span is not None else []


def _reaches_back(earlier: Sequence[str], now: Sequence[str]) -> bool:
    """Whether the lines that were right above the composer before the send are still in the capture.

    The prompt entered the transcript just below them, and what a pane shows (scrollback plus screen,
    or an agent's repainted view of its own transcript) is one unbroken stretch of it: if they are
    still there, so is everything after them. The run must end within `_REDRAWN` lines of the
    before-screen's last one, so a block that merely recurs later (the same tool call again) is not
    taken for it. An unfilled scrollback proves nothing by itself: an agent that repaints its own
    view scrolls old turns away without ever writing them to the scrollback.
    """
    old, cur = _content(earlier), _content(now)
    starts: dict[tuple[str, str], list[int]] = {}
    for j, pair in enumerate(pairwise(cur)):
        starts.setdefault(pair, []).append(j)
    for end in range(len(old), max(1, len(old) - _REDRAWN - 1), -1):
        for j in starts.get((old[end - 2], old[end - 1]), []):
            run = 2  # grow the match upwards while both sides agree
            while run < end and run <= j + 1 and old[end - 1 - run] == cur[j + 1 - run]:
                run += 1
            if sum(map(len, old[end - run : end])) >= _ANCHOR_CHARS:
                return True
    return False


def _content(lines: Iterable[str]) -> list[str]:
    """Lines with a letter or digit, blanks removed: rules, borders and empty rows say nothing about where."""
    return [s for s in map(normalise, lines) if any(ch.isalnum() for ch in s)]
