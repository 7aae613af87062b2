"""One module per command group; each `cmd_<name>(args)` returns the exit code.

Modules are imported when their command runs, not all at start-up: a `send` does not pay for the
imports of `fleet`, `hooks` or the dashboard.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Awaitable, Callable

Command = Callable[[argparse.Namespace], Awaitable[int]]

COMMANDS: dict[str, str] = {
    "send": "send:cmd_send",
    "batch": "send:cmd_batch",
    "resend": "send:cmd_resend",
    "canary": "send:cmd_canary",
    "exec": "exec:cmd_exec",
    "panes": "log:cmd_panes",
    "log": "log:cmd_log",
    "show": "log:cmd_show",
    "evidence": "log:cmd_evidence",
    "verify": "log:cmd_verify",
    "fleet": "fleet:cmd_fleet",
    "schedule": "schedule:cmd_schedule",
    "daemon": "schedule:cmd_daemon",
    "agents": "agents:cmd_agents",
    "hooks": "hooks:cmd_hooks",
    "ui": "ui:cmd_ui",
    "demo": "ui:cmd_demo",
    "mcp": "mcp:cmd_mcp",
    "serve": "serve:cmd_serve",
}
"""Each command's `module:function` in this package."""


def command(name: str) -> Command:
    module, _, function = COMMANDS[name].partition(":")
    found: Command = getattr(importlib.import_module(f"{__name__}.{module}"), function)
    return found
