"""What the agent's own receipt and `--wait` cost: submit key → receipt, and the wait beyond the turn.

Two fake agents (claude style, the same turn length) on one private tmux server: one whose prompt
hooks are installed (`dispatch hooks install` into a temp config dir; the fake agent runs a settings
file's UserPromptSubmit hooks as Claude Code does), one without. Each gets R sends, one at a time,
in-process (`services.send.send`, the path every command takes), then `wait_for_reply`:

- receipt: `timings["receipt_ms"]`, submit key → the hook's receipt (p50 / p95), and how many sends
  carried `receipt:UserPromptSubmit`;
- send: elapsed ms with hooks vs without (the receipt look waits at most 1 s, only for a pane whose
  agent writes receipts), ratio in one run;
- --wait: ms from the verdict to the reply minus the agent's turn (the fake agent's `--turn`), i.e.
  what noticing the turn's end and reading the answer costs.

Run: python bench/receipts.py [--rounds 20] [--turn 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

import _common as C

sys.path.insert(0, str(C.ROOT))

from dashboard.adapters.store import Store
from dashboard.adapters.tmux import LocalTmux
from dashboard.core.model import Verdict
from dashboard.services.hooks import SYSTEMS, install
from dashboard.services.reply import wait_for_reply
from dashboard.services.send import SendOptions, send


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(rounds: int, turn: float) -> int:
    work = C.tempdir("dispatch-bench-receipts-")
    install(SYSTEMS["claude"], work / "claude")
    server = C.TmuxServer("receipts")
    server.start_sessions([
        ("hooked", C.agent_command("claude", None, turn, "--settings", str(work / "claude" / "settings.json"))),
        ("plain", C.agent_command("claude", None, turn)),
    ])  # fmt: skip
    host = LocalTmux(socket_name=server.name)
    await C.wait_states(host, ["%0", "%1"], {"idle"}, 20)
    rows: dict[str, dict[str, list[float]]] = {
        n: {"elapsed": [], "receipt": [], "wait": []} for n in ("hooked", "plain")
    }
    carried = 0
    async with Store(work / "dispatch.db") as store:
        for r in range(rounds):
            for name in ("hooked", "plain"):
                rec = await send(host, store, f"{name}:0.0", f"round {r} reply with exactly CANARY-b{r}", SendOptions())
                if rec.verdict is not Verdict.SUBMITTED:
                    print(f"{name} round {r}: {rec.verdict} — {rec.reason}", file=sys.stderr)
                    continue
                t = time.perf_counter()
                reply = await wait_for_reply(host, rec, 30)
                waited = (time.perf_counter() - t) * 1000
                if reply.text != f"CANARY-b{r}":
                    print(f"{name} round {r}: reply {reply}", file=sys.stderr)
                    return 1
                rows[name]["elapsed"].append(rec.elapsed_ms)
                rows[name]["wait"].append(max(0.0, waited - turn * 1000))
                if "receipt:UserPromptSubmit" in rec.evidence:
                    carried += 1
                    rows[name]["receipt"].append(rec.timings["receipt_ms"])
    server.kill()
    h, p = rows["hooked"], rows["plain"]
    print(f"receipts (2 cores, {rounds} rounds, fake agent turn {turn:g} s)")
    print(f"  receipts carried       {carried}/{len(h['elapsed'])} sends to the hooked pane (the first precedes any)")
    print(f"  submit key → receipt   p50 {pct(h['receipt'], 0.5):.0f} ms · p95 {pct(h['receipt'], 0.95):.0f} ms")
    print(f"  send, hooks            p50 {pct(h['elapsed'], 0.5):.0f} ms · p95 {pct(h['elapsed'], 0.95):.0f} ms")
    print(f"  send, no hooks         p50 {pct(p['elapsed'], 0.5):.0f} ms · p95 {pct(p['elapsed'], 0.95):.0f} ms")
    ratio = statistics.median(h["elapsed"]) / max(1.0, statistics.median(p["elapsed"]))
    print(f"  ratio hooks / none     {ratio:.2f}")
    both = h["wait"] + p["wait"]
    print(f"  --wait beyond the turn p50 {pct(both, 0.5):.0f} ms · p95 {pct(both, 0.95):.0f} ms")
    return 0 if carried >= len(h["elapsed"]) - 1 else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--turn", type=float, default=0.5)
    a = ap.parse_args()
    C.install_cleanup()
    try:
        return asyncio.run(run(a.rounds, a.turn))
    finally:
        C.cleanup_all()


if __name__ == "__main__":
    sys.exit(main())
