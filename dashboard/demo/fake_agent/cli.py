"""Command line and process lifecycle: flags, signals, raw mode, and leaving the pane usable on exit.

The flags are a contract: tests, the demo fleet, benchmarks and acceptance scripts launch
``python -m dashboard.demo.fake_agent`` with them.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from dashboard.demo.fake_agent.agent import FakeAgent
from dashboard.demo.fake_agent.model import AgentExit
from dashboard.demo.fake_agent.options import STYLES, Options
from dashboard.demo.fake_agent.terminal import HIDE_CURSOR, TtyMode

DESCRIPTION = (
    "A simulated coding-agent TUI that looks like Claude Code, Codex CLI or Gemini CLI and misbehaves on demand."
)
EXIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT)


def parse_args(argv: Sequence[str] | None) -> Options:
    p = argparse.ArgumentParser(prog="fake_agent", description=DESCRIPTION)
    p.add_argument("--style", choices=STYLES, default="claude", help="which agent to look like")
    p.add_argument("--cwd", default=None, help="project path shown on screen (default: os.getcwd())")
    p.add_argument("--turn", type=float, default=2.0, help="seconds each turn works (default 2.0)")
    p.add_argument("--record", metavar="PATH", help="append one JSON line per event here")
    p.add_argument("--swallow-enters", type=int, default=0, metavar="N", help="ignore the first N submit Enters")
    p.add_argument(
        "--burst-ms",
        type=float,
        default=0.0,
        metavar="X",
        help="an Enter within X ms of other input is a newline",
    )
    p.add_argument("--slow-start", type=float, default=0.0, metavar="S", help="show 'starting…' for S s, drop input")
    p.add_argument("--no-spinner", action="store_true", help="working turns show no working line")
    p.add_argument("--die-mid-turn", action="store_true", help="exit 3 halfway through the first turn")
    p.add_argument("--rate-limit", action="store_true", help="show a usage-limit banner; turns end at once")
    p.add_argument("--dialog", action="store_true", help="start on the folder-trust dialog")
    p.add_argument("--frozen", action="store_true", help="never read stdin after start (a hung agent)")
    p.add_argument(
        "--paste-collapse",
        type=int,
        default=None,
        metavar="N",
        help="claude: collapse pastes over N lines (0=off)",
    )
    p.add_argument(
        "--lf-newline", action="store_true", help="a raw LF (Ctrl-J) inserts a newline instead of submitting"
    )
    p.add_argument("--no-echo", action="store_true", help="never reply with a requested CANARY token")
    p.add_argument(
        "--settings", metavar="PATH", help="a Claude Code settings.json whose hooks to run (prompt, turn end, dialog)"
    )
    a = p.parse_args(argv)
    collapse = a.paste_collapse if a.paste_collapse is not None else (2 if a.style == "claude" else 0)
    return Options(
        style=a.style,
        cwd=a.cwd if a.cwd is not None else os.getcwd(),
        turn=max(0.0, a.turn),
        record=a.record,
        swallow_enters=max(0, a.swallow_enters),
        burst_ms=max(0.0, a.burst_ms),
        slow_start=max(0.0, a.slow_start),
        no_spinner=a.no_spinner,
        die_mid_turn=a.die_mid_turn,
        rate_limit=a.rate_limit,
        dialog=a.dialog,
        frozen=a.frozen,
        paste_collapse=max(0, collapse),
        lf_newline=a.lf_newline,
        no_echo=a.no_echo,
        settings=a.settings,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the agent on stdin/stdout; returns the exit status (128+signal when killed, 3 when it died)."""
    opts = parse_args(argv)
    agent = FakeAgent(opts, sys.stdin.fileno(), sys.stdout.fileno())
    mode = TtyMode(agent.in_fd)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        raise AgentExit(128 + signum)

    def on_winch(_signum: int, _frame: FrameType | None) -> None:
        agent.resized = True

    for sig in EXIT_SIGNALS:
        signal.signal(sig, on_signal)
    signal.signal(signal.SIGWINCH, on_winch)
    try:
        mode.raw()
        agent.term.write(HIDE_CURSOR)
        return agent.run()
    except AgentExit as e:
        return e.status
    except OSError:  # the pane went away under us (EIO); nothing left to draw on
        return 1
    finally:
        for sig in EXIT_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        agent.term.restore()
        mode.restore()
        agent.rec.close()
