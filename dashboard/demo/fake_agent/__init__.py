"""A simulated coding-agent TUI that looks like Claude Code, Codex CLI or Gemini CLI and misbehaves on demand.

Why it exists: the real agents need node, an offline model server and a network namespace, and they fail
only by accident. Dispatch's tests and demo need a pane whose bottom region matches the real captures in
``shared/agents/captures`` closely enough for the screen classifier, and whose failures (swallowed Enters,
paste-burst newlines, slow starts, hangs, crashes, rate limits, trust dialogs) can be switched on by flag.

Every accepted prompt is appended to ``--record`` as one JSON line; that file is the ground truth a test
compares against, the same role the fake model server's request log plays for the real agents.

Run: ``python -m dashboard.demo.fake_agent --style codex --record /tmp/rec.jsonl``. Stdlib only.

Modules, each importing only those above it: ``text`` (cell widths, clip, wrap), ``keys`` (tty bytes to key
events), ``options``, ``record`` (the ``--record`` log), ``composer`` (input box, collapsed pastes),
``model`` (turns, queue, misbehaviours), ``render`` (one module per style), ``terminal`` (raw mode,
painting), ``agent`` (the event loop), ``cli`` (flags, signals, ``main``).
"""

from __future__ import annotations

from dashboard.demo.fake_agent.agent import FakeAgent
from dashboard.demo.fake_agent.cli import main, parse_args
from dashboard.demo.fake_agent.composer import Composer, Pasted
from dashboard.demo.fake_agent.keys import ESC_TIMEOUT, Event, InputParser
from dashboard.demo.fake_agent.model import AgentExit, Session, Turn, reply_for
from dashboard.demo.fake_agent.options import STYLES, Options
from dashboard.demo.fake_agent.record import Recorder
from dashboard.demo.fake_agent.text import clip, text_width, visible_width, wrap

__all__ = [
    "ESC_TIMEOUT",
    "STYLES",
    "AgentExit",
    "Composer",
    "Event",
    "FakeAgent",
    "InputParser",
    "Options",
    "Pasted",
    "Recorder",
    "Session",
    "Turn",
    "clip",
    "main",
    "parse_args",
    "reply_for",
    "text_width",
    "visible_width",
    "wrap",
]
