"""Several senders at one pane, released together: never a merged prompt, never a claim without arrival.

Each sender is its own process (multiprocessing, spawn) with its own store connection or its own
state dir, as a second `dispatch`, the daemon or another controller would be. Ground truth is the
fake agent's record of what it received.
"""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from dashboard.core.model import PaneState
from tests.integration import race_worker
from tests.integration.conftest import Agent, Bench

ROUNDS = 200


def _race(
    bench: Bench, tags: list[str], targets: list[str], rounds: int, *, own_dirs: bool, settle: float
) -> list[dict]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(tags))
    socket = bench.host.socket_name
    assert socket is not None
    jobs = [
        race_worker.Job(
            tag, socket, tuple(targets), rounds,
            db=str(bench.tmp / (f"home-{tag}" if own_dirs else "home") / "dispatch.db"),
            out=str(bench.tmp / f"out-{tag}.jsonl"), settle=settle,
        )
        for tag in tags
    ]  # fmt: skip
    procs = [ctx.Process(target=race_worker.run, args=(job, barrier)) for job in jobs]
    for p in procs:
        p.start()
    for p in procs:
        p.join(600)
        assert p.exitcode == 0, f"sender process failed ({p.exitcode})"
    rows: list[dict] = []
    for job in jobs:
        rows += [json.loads(line) for line in Path(job.out).read_text().splitlines() if line.strip()]
    return rows


def _check(agents: dict[str, Agent], rows: list[dict], tags: list[str]) -> tuple[int, int]:
    """No merged prompt; every delivered claim matched by exactly its text, arrived once."""
    claims = [r for r in rows if r["verdict"] in ("submitted", "queued")]
    arrivals: dict[str, list[str]] = {t: agents[t].received() for t in agents}
    for target, got in arrivals.items():
        for text in got:
            senders = [tag for tag in tags if f" from {tag} " in f" {text} "]
            assert len(senders) == 1 and text.count("round ") == 1, f"merged prompt at {target}: {text!r}"
    for claim in claims:
        target = claim["target"].split(":")[0]
        assert arrivals[target].count(claim["prompt"]) == 1, f"claimed but not received once: {claim}"
    for r in rows:
        if r["verdict"] not in ("submitted", "queued"):
            # every non-delivery is named, and says what happened
            assert r["verdict"] in ("refused", "not-received", "stuck-in-composer", "unrecognised"), r
            assert r["reason"], r
    delivered_texts = sum(len(v) for v in arrivals.values())
    assert delivered_texts == len(claims), "an arrival nobody claimed, or a claim twice"
    return len(claims), len(rows) - len(claims)


@pytest.mark.parametrize("style", ["claude", "codex", "gemini"])
async def test_two_senders_one_pane(bench: Bench, style: str) -> None:
    agent = bench.agent("a", style=style, turn=0.05)
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    rounds = ROUNDS if style == "claude" else ROUNDS // 4
    rows = _race(bench, ["A", "B"], ["a:0.0"], rounds, own_dirs=False, settle=0.15)
    delivered, _ = _check({"a": agent}, rows, ["A", "B"])
    assert delivered >= rounds, "at least one sender per round must get through"
    # the loser waited for the lease, then was refused as busy (or sent after the turn): named, never merged
    assert any("lease" in r["evidence"][0] or r["verdict"] == "submitted" for r in rows if r["evidence"])


async def test_two_controllers_with_their_own_state(bench: Bench) -> None:
    """Separate state dirs share nothing but the pane: the lease beside the tmux socket still holds."""
    agent = bench.agent("a", style="claude", turn=0.05)
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    rows = _race(bench, ["A", "B"], ["a:0.0"], 40, own_dirs=True, settle=0.15)
    delivered, _ = _check({"a": agent}, rows, ["A", "B"])
    assert delivered >= 40


async def test_batch_racing_senders_over_many_panes(bench: Bench) -> None:
    """Three processes, each sending to the same three panes at once (a batch racing sends)."""
    agents = {n: bench.agent(n, style=s, turn=0.05) for n, s in (("a", "claude"), ("b", "codex"), ("c", "gemini"))}
    for a in agents.values():
        await bench.wait_state(a.pane_id, PaneState.IDLE)
    rows = _race(bench, ["A", "B", "C"], ["a:0.0", "b:0.0", "c:0.0"], 15, own_dirs=False, settle=0.25)
    delivered, _ = _check(agents, rows, ["A", "B", "C"])
    assert delivered >= 15 * 3
