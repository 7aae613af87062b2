"""The agent's settings, as a frozen value the model and the renderers share.

Separate from the argparse code so the model and the benchmarks can build one without a command line.
"""

from __future__ import annotations

from dataclasses import dataclass

STYLES = ("claude", "codex", "gemini")


@dataclass(frozen=True)
class Options:
    """Parsed command line."""

    style: str = "claude"
    cwd: str = "."
    turn: float = 2.0
    record: str | None = None
    swallow_enters: int = 0
    burst_ms: float = 0.0
    slow_start: float = 0.0
    no_spinner: bool = False
    die_mid_turn: bool = False
    rate_limit: bool = False
    dialog: bool = False
    frozen: bool = False
    paste_collapse: int = 2
    lf_newline: bool = False
    no_echo: bool = False
    """Reply "ok" even when asked for a CANARY token (an agent that did not do what was asked)."""
    settings: str | None = None
    """A Claude Code settings.json: its UserPromptSubmit, Stop and Notification hooks run as Claude runs them."""
