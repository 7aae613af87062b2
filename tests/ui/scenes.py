"""Deterministic scenes for snapshot tests: fixed screens (real captures), fixed clock, fixed log."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from dashboard.adapters.store import Store
from dashboard.core.model import PaneInfo, SendRecord, Verdict
from dashboard.services.bundle import services_for
from dashboard.ui.app import DispatchApp
from tests.conftest import CAPTURES
from tests.ui.static import STATIC_SERVER, StaticHost

NOW = 1_795_500_000.0  # fixed clock (UTC)
PANES = [
    ("api", 0, "claude", "claude/working", "claude"),
    ("api", 1, "codex", "codex/idle", "node"),
    ("api", 2, "gemini", "gemini/done", "node"),
    ("web", 0, "claude", "claude/typed", "claude"),
    ("web", 1, "codex", "codex/pasted_not_submitted", "node"),
    ("web", 2, "opencode", "opencode/working", "opencode"),
    ("ops", 0, "shell", "", "bash"),
    ("ops", 1, "gemini", "gemini/working", "node"),
]
PROMPT = "Summarise the open TODOs in this repository, then reply with exactly CANARY-demo1"


def static_host() -> StaticHost:
    host = StaticHost()
    for n, (session, window, name, capture, command) in enumerate(PANES):
        text = (CAPTURES / f"{capture}.ansi.txt").read_text() if capture else "$ make test\nok\n$ \n"
        pane = PaneInfo(f"%{n}", session, window, 0, window_name=name, command=command, width=120, height=40)
        host.panes.append((pane, text))
    return host


def records() -> list[SendRecord]:
    """A batch to six panes with the verdicts the screens tell, plus one refused shell send."""
    out = []
    outcomes = [
        ("%0", "api:0.0", "claude", Verdict.SUBMITTED, ["working-indicator: ✢ Manifesting…", "left-composer"], 1),
        ("%1", "api:1.0", "codex", Verdict.SUBMITTED, ["left-composer"], 1),
        ("%2", "api:2.0", "gemini", Verdict.SUBMITTED, ["working-indicator: ⠙ Thinking... (esc to cancel, 0s)"], 1),
        ("%4", "web:1.0", "codex", Verdict.STUCK, ["composer-text"], 3),
        ("%5", "web:2.0", "opencode", Verdict.SUBMITTED, ["working-indicator: ■■■■⬝⬝⬝⬝ esc interrupt"], 1),
        ("%7", "ops:1.0", "gemini", Verdict.SUBMITTED, ["working-indicator: ⠙ Thinking..."], 2),
        ("%6", "ops:0.0", None, Verdict.REFUSED, ["guard:shell"], 0),
    ]
    for i, (pane, target, agent, verdict, evidence, attempts) in enumerate(outcomes):
        rec = SendRecord(target=target, prompt=PROMPT, pane_id=pane, agent=agent, batch=1 if i < 6 else None)
        rec.server = STATIC_SERVER.key
        rec.created = NOW - 40 + i
        rec.verdict, rec.evidence, rec.attempts = verdict, evidence, attempts
        rec.state_before = "shell" if agent is None else "idle"
        rec.delay_ms, rec.elapsed_ms = (0, 4) if agent is None else (182, 240 + 600 * (attempts - 1))
        rec.reason = {
            Verdict.SUBMITTED: "working indicator appeared",
            Verdict.STUCK: "text still in the composer: 'Summarise the open TODOs in this repository…'",
            Verdict.REFUSED: "%6 (ops:0.0) is a shell (bash): prompts go only to agent composers",
        }[verdict]
        before = (CAPTURES / "codex/idle.ansi.txt").read_text()
        after = CAPTURES / ("codex/pasted_not_submitted" if verdict is Verdict.STUCK else "codex/pasted_working")
        rec.snapshots = {"before": before}
        if agent is not None:
            rec.snapshots["after-paste"] = (CAPTURES / "codex/pasted_not_submitted.ansi.txt").read_text()
            rec.snapshots["after"] = Path(f"{after}.ansi.txt").read_text()
        out.append(rec)
    return out


async def _fill(db: Path) -> None:
    async with Store(db) as store:
        batch = await store.new_batch(PROMPT, [r.target for r in records()[:6]])
        assert batch == 1
        for rec in records():
            rec.created = rec.created
            await store.begin_send(rec)
            await store.finish_send(rec)


def scene_app(tmp: Path) -> DispatchApp:
    """The dashboard on fixed screens and a fixed log; nothing moves between frames."""
    db = tmp / "scene.db"
    asyncio.run(_fill(db))
    return DispatchApp(services_for(static_host(), db), clock=lambda: NOW, live=False)


def fleet_scene_app(tmp: Path) -> DispatchApp:
    """This machine plus three others: one healthy, one answering under another identity, one down."""
    from dashboard.core.ports import HostError, WrongMachine
    from dashboard.services.fleet import Fleet

    local = StaticHost()
    gpu1 = StaticHost(name="gpu1")
    for n, (session, window, name, capture, command) in enumerate(PANES[:6]):
        text = (CAPTURES / f"{capture}.ansi.txt").read_text()
        host = local if session == "api" else gpu1
        machine = "local" if host is local else "gpu1"
        pane = PaneInfo(f"%{n}", session, window, 0, window_name=name, command=command, width=120, height=40)
        account = "work" if n % 2 == 0 else "personal"  # as `tmux set -p @dispatch_account …` would say
        host.panes.append((dataclasses.replace(pane, machine=machine, account=account), text))
    gpu2 = StaticHost(name="gpu2")
    gpu2.failure = WrongMachine(
        "gpu2 is not who it should be: hostname expected 'gpu2', got 'build7';"
        " machine-id expected '3d1219c7c4c5404aaa1f6d2a48adfda4', got '9a0c44e1b2d34f0c8e6a7b1d2c3e4f5a'"
    )
    gpu3 = StaticHost(name="gpu3")
    gpu3.failure = HostError("gpu3 (gpu3.tailnet.ts.net): no answer within 5s")
    fleet = Fleet(local, hosts={"gpu1": gpu1, "gpu2": gpu2, "gpu3": gpu3})
    db = tmp / "fleet.db"
    asyncio.run(_empty(db))
    return DispatchApp(services_for(fleet, db), clock=lambda: NOW, live=False)


async def _empty(db: Path) -> None:
    async with Store(db):
        pass


def schedules_scene_app(tmp: Path) -> DispatchApp:
    """Three schedules: a healthy canary, one FAILING after its target vanished, one paused."""
    from dashboard.adapters.schedules import Schedules
    from dashboard.core.model import Run, Schedule

    db = tmp / "schedules.db"

    async def fill() -> None:
        async with Store(db) as store:
            sch = Schedules(store)
            specs = [
                Schedule("nightly-review", "api:0.0", "cron", "0 3 * * *", NOW - 86400 * 3, canary=True,
                         next_fire=NOW + 3600 * 5),
                Schedule("deps-check", "gpu1:web:1.0", "every", "30m", NOW - 7200, prompt="check for outdated deps",
                         expect="DEPS-OK", next_fire=NOW + 600),
                Schedule("weekly-report", "ops:1.0", "cron", "0 9 * * 1", NOW - 86400 * 20, prompt="weekly report",
                         paused=True, next_fire=NOW + 86400 * 2),
            ]  # fmt: skip
            for s in specs:
                await sch.add(s)
            outcomes = {
                "nightly-review": [("ok", "submitted; canary passed: found in the pane transcript after the prompt")]
                * 3,
                "deps-check": [("ok", "delivered: submitted")] * 2
                + [("failed", "not delivered: refused — no pane 'web:1.0' on tmux server -L agents on gpu1")] * 3,
                "weekly-report": [("ok", "delivered: submitted"), ("missed", "the daemon was not running (skip)")],
            }
            for s in specs:
                assert s.id is not None
                for i, (outcome, detail) in enumerate(outcomes[s.name]):
                    run = Run(s.id, NOW - 1800 * (len(outcomes[s.name]) - i), outcome, detail=detail)
                    async with store.transaction() as conn:
                        await conn.execute(
                            "INSERT INTO runs (schedule, scheduled, outcome, detail, canary) VALUES (?, ?, ?, ?, ?)",
                            (s.id, run.scheduled, outcome, detail, "passed" if s.canary else None),
                        )
                    if outcome in ("ok", "failed"):
                        await sch.record_outcome(s, Run(s.id, run.scheduled, outcome, id=-1, detail=detail))

    asyncio.run(fill())
    return DispatchApp(services_for(static_host(), db), clock=lambda: NOW, live=False)
