"""Concluding sends whose process died before a verdict: no record stays `pending` forever.

Every command that opens the log calls `conclude_interrupted`. A pending send whose owner (host,
pid, start time) is gone from this machine was cut off; it becomes `interrupted`, with what its
pane shows now. Its text still waiting in the composer is named, so `dispatch resend N` can
complete it with the submit key alone; anything else may or may not have arrived and is never
sent again on its own.
"""

from __future__ import annotations

from dashboard.adapters.process import owner_alive
from dashboard.core.classify import classify
from dashboard.core.model import SendRecord, ServerRef, Verdict
from dashboard.core.ports import SendLog, TmuxError, TmuxHost
from dashboard.core.registry import RegistryError
from dashboard.core.screen import parse_capture
from dashboard.core.verdict import composer_holds
from dashboard.services.fleet import Fleet


async def conclude_interrupted(store: SendLog, fleet: Fleet) -> list[SendRecord]:
    """Conclude this machine's cut-off sends; returns them (already written to the log)."""
    done: list[SendRecord] = []
    for rec in await store.pending():
        if owner_alive(rec.owner) is not False:
            continue  # still running, or sent from another machine (its own commands conclude it)
        pid = rec.owner.pid if rec.owner else "?"
        rec.verdict = Verdict.INTERRUPTED
        rec.reason = f"the sending process (pid {pid}) stopped before a verdict; " + await _now(fleet, rec)
        rec.evidence = [*rec.evidence, "owner-gone"]
        if owner_alive(rec.owner) is not False:
            continue  # looked at again after reading the pane: never conclude a send whose sender lives
        if await store.conclude_send(rec):  # only if still pending: its sender may have finished meanwhile
            done.append(rec)
    return done


async def _now(fleet: Fleet, rec: SendRecord) -> str:
    """What the record's pane shows now, in the words an operator needs to decide what to do."""
    if not rec.pane_id or ServerRef.parse(rec.server) is None:
        return "it had not reached a pane: nothing was sent"
    try:
        host = fleet.host_of(rec.machine, rec.server)
    except RegistryError as exc:
        return f"its pane could not be read ({exc}); it may or may not have been submitted"
    return await pane_now(host, rec)


async def pane_now(host: TmuxHost, rec: SendRecord) -> str:
    """What a cut-off send's pane shows now (kept as its `after` snapshot), and what the operator can do."""
    server = ServerRef.parse(rec.server)
    if not rec.pane_id or server is None:
        return "it had not reached a pane: nothing was sent"
    try:
        pane = await host.pane(rec.pane_id)
        if pane is None or pane.server != server:
            return f"its pane {rec.pane_id} is gone; it may or may not have been submitted"
        text = await host.capture(pane.pane_id)
    except (TmuxError, RegistryError) as exc:
        return f"its pane could not be read ({exc}); it may or may not have been submitted"
    rec.snapshots["after"] = text
    cls = classify(pane, parse_capture(text, height=pane.height))
    if rec.kind == "send" and composer_holds(cls.composer, rec.prompt):
        rec.evidence.append("text-in-composer")
        return f"its text waits in the composer: `dispatch resend {rec.id}` completes it with the submit key alone"
    return f"its pane now shows {cls.state}; it may or may not have been submitted (not sent again)"
