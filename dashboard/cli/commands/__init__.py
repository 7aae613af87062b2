"""One module per command group; each `cmd_<name>(args)` returns the exit code."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable

from dashboard.cli.commands.agents import cmd_agents
from dashboard.cli.commands.exec import cmd_exec
from dashboard.cli.commands.fleet import cmd_fleet
from dashboard.cli.commands.hooks import cmd_hooks
from dashboard.cli.commands.log import cmd_evidence, cmd_log, cmd_panes, cmd_show, cmd_verify
from dashboard.cli.commands.schedule import cmd_daemon, cmd_schedule
from dashboard.cli.commands.send import cmd_batch, cmd_canary, cmd_resend, cmd_send
from dashboard.cli.commands.ui import cmd_demo, cmd_ui

Command = Callable[[argparse.Namespace], Awaitable[int]]

COMMANDS: dict[str, Command] = {
    "send": cmd_send,
    "batch": cmd_batch,
    "resend": cmd_resend,
    "canary": cmd_canary,
    "exec": cmd_exec,
    "panes": cmd_panes,
    "log": cmd_log,
    "show": cmd_show,
    "evidence": cmd_evidence,
    "verify": cmd_verify,
    "fleet": cmd_fleet,
    "schedule": cmd_schedule,
    "daemon": cmd_daemon,
    "agents": cmd_agents,
    "hooks": cmd_hooks,
    "ui": cmd_ui,
    "demo": cmd_demo,
}
