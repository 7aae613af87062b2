"""The words and marks a person reads, the same on the command line and in the dashboard.

One place for each: a verdict's mark, a run's mark, a verifier check's mark, and how a send names
its pane. The CLI prints them plain; the dashboard adds colour (ui/widgets/pane_card.py styles).
"""

from __future__ import annotations

from dashboard.core.model import SendRecord, Verdict

RUN_MARKS = {"ok": "✓", "failed": "✗", "missed": "·", "interrupted": "?", "running": "…"}
"""A scheduled run's outcome, as one character (the last runs of a schedule read as a row of them)."""

CHECK_MARKS = {"confirmed": "✓", "refuted": "✗", "unknown": "?"}
"""The independent verifier's answer for one send."""


def verdict_mark(verdict: Verdict) -> str:
    """✓ delivered, · still pending, ✗ anything else."""
    if verdict.delivered:
        return "✓"
    return "·" if verdict is Verdict.PENDING else "✗"


def where(rec: SendRecord) -> str:
    """How a send names its pane: `%3 (web:1.0)`, or the target as given when it never reached one."""
    return f"{rec.pane_id} ({rec.target})" if rec.pane_id else rec.target


def human_line(rec: SendRecord) -> str:
    """One line: verdict, where, what was seen, where the evidence is."""
    agent = f" {rec.agent}" if rec.agent else ""
    evidence = f" [{', '.join(rec.evidence)}]" if rec.evidence else ""
    tail = f" · {rec.attempts} attempt{'s' if rec.attempts != 1 else ''}" if rec.attempts else ""
    tail += f" · delay {rec.delay_ms} ms" if rec.delay_ms else ""
    tail += f" · {rec.elapsed_ms} ms"
    show = f" · dispatch show {rec.id}" if rec.id is not None else ""
    line = f"{rec.verdict}: {where(rec)}{agent} — {rec.reason}{evidence}{tail}{show}"
    if rec.reply_source is None:
        return line
    if rec.reply is None:
        return f"{line}\nno reply ({rec.reply_source})"
    return f"{line}\n{rec.reply}"
