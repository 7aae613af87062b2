"""How results read to a person (the JSON forms are the records' own `to_json`)."""

from __future__ import annotations

import time

from dashboard.core.model import Schedule, SendRecord


def print_schedule(s: Schedule) -> None:
    nxt = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(s.next_fire)) if s.next_fire else "-"
    state = "paused" if s.paused else s.state
    what = "canary (fresh token each run)" if s.canary else (f"expects {s.expect!r}" if s.expect else "no canary")
    print(f"{s.name}: {s.kind} {s.spec} → {s.target} · {state} · next {nxt} · {what} · missed runs: {s.missed}")


RUN_MARKS = {"ok": "✓", "failed": "✗", "missed": "·", "interrupted": "?", "running": "…"}


def human_line(rec: SendRecord) -> str:
    """One line: verdict, where, what was seen, where the evidence is."""
    where = f"{rec.pane_id} ({rec.target})" if rec.pane_id else rec.target
    agent = f" {rec.agent}" if rec.agent else ""
    evidence = f" [{', '.join(rec.evidence)}]" if rec.evidence else ""
    tail = f" · {rec.attempts} attempt{'s' if rec.attempts != 1 else ''}" if rec.attempts else ""
    tail += f" · delay {rec.delay_ms} ms" if rec.delay_ms else ""
    tail += f" · {rec.elapsed_ms} ms"
    show = f" · dispatch show {rec.id}" if rec.id is not None else ""
    return f"{rec.verdict}: {where}{agent} — {rec.reason}{evidence}{tail}{show}"
