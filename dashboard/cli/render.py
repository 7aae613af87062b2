"""How results read to a person (the JSON forms are the records' own `to_json`; the shared words: core/wording.py)."""

from __future__ import annotations

import time

from dashboard.core.model import Schedule


def print_schedule(s: Schedule) -> None:
    nxt = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(s.next_fire)) if s.next_fire else "-"
    state = "paused" if s.paused else s.state
    what = "canary (fresh token each run)" if s.canary else (f"expects {s.expect!r}" if s.expect else "no canary")
    print(f"{s.name}: {s.kind} {s.spec} → {s.target} · {state} · next {nxt} · {what} · missed runs: {s.missed}")
