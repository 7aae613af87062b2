"""The command line grammar: one `add_<command>` per command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeAlias

from dashboard import __version__
from dashboard.cli.args import MAX_RETRIES, batch_id, row_id
from dashboard.cli.exits import EXIT_USAGE


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"dispatch: error: {message}\n")


if TYPE_CHECKING:
    Subparsers: TypeAlias = "argparse._SubParsersAction[_Parser]"
    """What `add_subparsers` returns; each `add_<command>` adds one command to it."""


def server_options(p: argparse.ArgumentParser, *, top: bool) -> None:
    default = None if top else argparse.SUPPRESS
    p.add_argument("-L", dest="socket_name", metavar="NAME", default=default, help="tmux socket name (as tmux -L)")
    p.add_argument("-S", dest="socket_path", metavar="PATH", default=default, help="tmux socket path (as tmux -S)")


def send_option_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--file", help="read the prompt from FILE ('-' for stdin)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a human line")
    p.add_argument("--raw", action="store_true", help="allow a prompt starting with a picker character (/ @ ! #)")
    p.add_argument("--when-idle", action="store_true", help="wait for a busy agent to go idle first")
    p.add_argument(
        "--timeout", type=float, default=120.0, metavar="S", help="how long --when-idle and --wait wait (120)"
    )
    p.add_argument("--wait", action="store_true", help="after delivery, wait for the turn to end and print the reply")
    p.add_argument("--queue", action="store_true", help="send to a busy agent; delivery then means queued")
    p.add_argument("--allow-limited", action="store_true", help="send even when the agent shows a rate limit")
    p.add_argument(
        "--lease-timeout",
        type=float,
        default=5.0,
        metavar="S",
        help="how long to wait for another sender's lease on the pane before refusing (5; 0 = refuse at once)",
    )
    g = p.add_argument_group("timing (flags win over DISPATCH_* environment variables)")
    g.add_argument("--delay-ms", type=float, metavar="MS", help="fixed paste→submit delay (DISPATCH_ENTER_DELAY_MS)")
    g.add_argument("--delay-floor-ms", type=float, metavar="MS", help="delay floor, 150 (DISPATCH_DELAY_FLOOR_MS)")
    g.add_argument("--delay-ceil-ms", type=float, metavar="MS", help="delay ceiling, 4000 (DISPATCH_DELAY_CEIL_MS)")
    g.add_argument("--ms-per-word", type=float, metavar="MS", help="delay per word, 9 (DISPATCH_MS_PER_WORD)")
    g.add_argument("--ms-per-char", type=float, metavar="MS", help="delay per char, 0.6 (DISPATCH_MS_PER_CHAR)")
    g.add_argument(
        "--retries", type=int, default=2, metavar="N", help=f"extra submit keys when text stays (2; 0-{MAX_RETRIES})"
    )
    g.add_argument("--verify-ms", type=int, default=5000, metavar="MS", help="how long to look for evidence (5000)")
    g.add_argument("--max-bytes", type=int, default=256 * 1024, metavar="N", help="largest prompt accepted")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The grammar; with `only` (a command's name), that command's part alone.

    A line whose command word comes first (after -L/-S and their values) is parsed by that command's
    subparser alone: the other eighteen only make `dispatch --help` and the "invalid choice" error,
    and building them cost every command ~8 ms. cli/run.py decides when `only` gives the same result.
    """
    parser = _Parser(
        prog="dispatch",
        description="Send prompts to AI coding agents in tmux panes, and prove they were submitted.",
        epilog="exit codes: 0 delivered · 2 usage · 3 refused · 4 not delivered · 5 host unreachable or wrong"
        " identity · 6 bad config · 7 exec --wait: the command failed · 1 other",
    )
    parser.add_argument("--version", action="version", version=f"dispatch {__version__}")
    server_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, add in COMMANDS.items():
        if only is None or name == only:
            add(sub)
    return parser


def add_send(sub: Subparsers) -> None:
    p = sub.add_parser("send", help="send a prompt to one agent pane and verify it was submitted")
    server_options(p, top=False)
    p.add_argument("target", help="pane: %%12, session:window.pane, machine:session:window.pane, machine:%%12")
    p.add_argument("prompt", nargs="?", help="the prompt (or -f FILE)")
    send_option_flags(p)


def add_batch(sub: Subparsers) -> None:
    p = sub.add_parser("batch", help="send one prompt to many panes at once")
    server_options(p, top=False)
    p.add_argument("targets", nargs="*", help="panes: %%12, session:window.pane, machine:… (any mix of machines)")
    p.add_argument("-m", "--prompt", dest="prompt", help="the prompt text (or -f FILE)")
    p.add_argument(
        "--spread",
        type=int,
        metavar="N",
        help="send to N ready agents taken round-robin across accounts (subscriptions) (from TARGETS, or the fleet);"
        " rate-limited and busy panes are passed over",
    )
    send_option_flags(p)


def add_exec(sub: Subparsers) -> None:
    p = sub.add_parser(
        "exec",
        help="run a shell command in a shell pane (never an agent), behind the blocklist",
        description="Type COMMAND into a shell pane at an empty prompt and press Enter. Agent panes, busy or"
        " full-screen panes and typed-in prompts are refused; so is anything the blocklist names (disk wipes, fork"
        " bombs, downloads piped into interpreters, writes under ~/.ssh), however phrased. No flag overrides it.",
    )
    server_options(p, top=False)
    p.add_argument("target", help="a shell pane: %%12, session:window.pane, machine:…")
    p.add_argument("words", nargs="*", metavar="COMMAND", help="after --: the command (words joined by spaces)")
    p.add_argument("--wait", action="store_true", help="wait for it to finish and report its exit status")
    p.add_argument("--timeout", type=float, default=60.0, metavar="S", help="how long --wait waits (60)")
    p.add_argument("--dry-run", action="store_true", help="only say whether it would run (exit 0) or not (3)")
    p.add_argument("--json", action="store_true")


def add_resend(sub: Subparsers) -> None:
    p = sub.add_parser("resend", help="send a logged prompt again to the same pane (Enter only if it is stuck)")
    server_options(p, top=False)
    p.add_argument("id", type=row_id)
    p.add_argument("--json", action="store_true")


def add_panes(sub: Subparsers) -> None:
    p = sub.add_parser("panes", help="every pane of every machine: agent, state, composer text")
    server_options(p, top=False)
    p.add_argument("machines", nargs="*", metavar="MACHINE", help="only these machines ('local' is this one)")
    p.add_argument("--json", action="store_true")


def add_daemon(sub: Subparsers) -> None:
    p = sub.add_parser("daemon", help="the scheduler daemon: start, stop, status, run (foreground, for systemd)")
    server_options(p, top=False)
    p.add_argument("action", choices=["start", "stop", "status", "run"])
    p.add_argument("--json", action="store_true")
    notify_option(p)
    feed_option(p)


def add_schedule(sub: Subparsers) -> None:
    p = sub.add_parser("schedule", help="recurring prompts, each run verified (and canary-checked)")
    sched = p.add_subparsers(dest="schedule_command", metavar="ACTION", parser_class=_Parser, required=True)
    f = sched.add_parser("add", help="a new schedule (the daemon fires it)")
    f.add_argument("name")
    f.add_argument("prompt", nargs="?", help="the prompt (or -f FILE; optional with --canary)")
    f.add_argument("--target", "-t", required=True, help="pane: %%12, session:window.pane, machine:…")
    when = f.add_mutually_exclusive_group(required=True)
    when.add_argument("--every", metavar="INTERVAL", help="30s, 5m, 2h, 1d, 1h30m")
    when.add_argument("--cron", metavar="EXPR", help='five fields, e.g. "0 3 * * *" (this machine\'s local time)')
    when.add_argument("--at", metavar="TIME", help="once, at an ISO time: 2026-12-01T03:00")
    f.add_argument("-f", "--file", help="read the prompt from FILE")
    f.add_argument("--expect", metavar="STRING", help="the run passes only if STRING shows in the transcript")
    f.add_argument("--canary", action="store_true", help="ask for a fresh CANARY-… token each run and expect it")
    f.add_argument("--expect-timeout", type=float, default=120.0, metavar="S", help="how long to look (120)")
    f.add_argument("--missed", choices=["skip", "once"], default="skip", help="after downtime: skip, or fire once")
    f.add_argument("--when-idle", action="store_true", help="wait for a busy agent to go idle")
    f.add_argument("--fail-after", type=int, default=3, metavar="N", help="failing after N failed runs in a row (3)")
    f.add_argument("--on-failure", metavar="CMD", help="shell command run when the schedule turns failing")
    f.add_argument("--json", action="store_true")
    for action, text in (
        ("show", "a schedule and its recent runs"),
        ("pause", "stop firing (runs due meanwhile follow --missed on resume)"),
        ("resume", "fire again"),
        ("remove", "delete the schedule and its runs"),
        ("run", "fire now, in this process, verified like a scheduled run"),
    ):
        f = sched.add_parser(action, help=text)
        f.add_argument("name")
        f.add_argument("--json", action="store_true")
        if action == "run":
            server_options(f, top=False)
    f = sched.add_parser("list", help="every schedule with its state and next run")
    f.add_argument("--json", action="store_true")


def add_canary(sub: Subparsers) -> None:
    p = sub.add_parser("canary", help="one-off: ask an agent for a fresh token and check its transcript for it")
    server_options(p, top=False)
    p.add_argument("target")
    p.add_argument("--expect", metavar="STRING", help="look for STRING instead of a generated token")
    p.add_argument("--prompt", help="the prompt (default: asks for the token)")
    p.add_argument("--timeout", type=float, default=120.0, metavar="S", help="how long to look (120)")
    p.add_argument(
        "--lease-timeout",
        type=float,
        default=5.0,
        metavar="S",
        help="how long to wait for another sender's lease on the pane before refusing (5)",
    )
    p.add_argument("--transcript", type=Path, metavar="FILE", help="also look in this agent transcript file")
    p.add_argument("--json", action="store_true")


def add_evidence(sub: Subparsers) -> None:
    p = sub.add_parser("evidence", help="export a batch's (or one send's) evidence as versioned JSON files")
    p.add_argument("ref", help="b12 / batch:12 for a batch, 42 / send:42 for one send")
    p.add_argument("--out", type=Path, metavar="DIR", help="where (default: evidence/ in the state directory)")
    p.add_argument("--json", action="store_true")


def add_verify(sub: Subparsers) -> None:
    p = sub.add_parser("verify", help="read-only re-check of a batch from its evidence: confirmed / refuted / unknown")
    server_options(p, top=False)
    p.add_argument("ref", help="b12 / 42 from the log, or an evidence directory")
    p.add_argument("--json", action="store_true")


def add_fleet(sub: Subparsers) -> None:
    p = sub.add_parser("fleet", help="the machine registry: add, list, check, remove")
    fleet = p.add_subparsers(dest="fleet_command", metavar="ACTION", parser_class=_Parser, required=True)
    f = fleet.add_parser("add", help="connect, show the machine's identity, record it (trust on first use)")
    f.add_argument("name")
    f.add_argument("address", help="Tailscale name, LAN address or ~/.ssh/config alias")
    f.add_argument("--user")
    f.add_argument("--port", type=int)
    f.add_argument("--socket", help="its tmux socket: a name (tmux -L) or an absolute path (tmux -S)")
    f.add_argument("--accept-key", metavar="SHA256:…", help="trust this host key fingerprint (checked out of band)")
    f.add_argument("--connect-timeout", type=float, default=5.0, metavar="S", help="give up connecting after S (5)")
    f.add_argument("--timeout", type=float, default=10.0, metavar="S", help="give up on one remote call after S (10)")
    f.add_argument("--replace", action="store_true", help="re-record an existing machine's identity")
    f.add_argument("--json", action="store_true")
    f = fleet.add_parser("list", help="the registered machines and their recorded identity")
    f.add_argument("--json", action="store_true")
    f = fleet.add_parser("check", help="reachable? identity matches? tmux up? how many agents?")
    f.add_argument("names", nargs="*", metavar="NAME")
    f.add_argument("--json", action="store_true")
    f = fleet.add_parser("remove", help="forget a machine")
    f.add_argument("name")
    f.add_argument("--json", action="store_true")


def add_log(sub: Subparsers) -> None:
    p = sub.add_parser("log", help="recent sends with verdicts")
    p.add_argument("--json", action="store_true")
    p.add_argument("-n", type=row_id, default=50, dest="limit", help="how many (50)")
    p.add_argument("--batch", type=batch_id, help="only this batch (b7 or 7)")
    p.add_argument("--machine", help="only sends to this machine ('local' is this one)")


def add_show(sub: Subparsers) -> None:
    p = sub.add_parser("show", help="one send: verdict, evidence, timings, before/after diff")
    p.add_argument("id", type=row_id)
    p.add_argument("--json", action="store_true")


def add_ui(sub: Subparsers) -> None:
    p = sub.add_parser("ui", help="the dashboard (also: dispatch with no command)")
    server_options(p, top=False)
    p.add_argument("--interval", type=float, default=1.0, metavar="S", help="refresh interval (1.0)")
    feed_option(p)
    notify_option(p)


def feed_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--feed", nargs="?", const="on", default="auto", choices=("auto", "on", "off"),
        help="follow pane changes live through tmux control mode, a read-only control client per session: auto"
        " (default) where tmux is 3.7 or newer; on (--feed alone): also on older tmux, which can crash as a control"
        " client attaches (see the README); off: the 1 s survey only",
    )  # fmt: skip


def notify_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--notify", metavar="CMD",
        help="run CMD once for each new pane that needs a person: sh -c CMD with the message as $1 and"
        " DISPATCH_PANE, DISPATCH_TARGET, DISPATCH_KIND, DISPATCH_WHY set (e.g. 'notify-send Dispatch \"$1\"')",
    )  # fmt: skip


def add_demo(sub: Subparsers) -> None:
    p = sub.add_parser("demo", help="the dashboard on a built-in fleet of fake agents, some misbehaving")
    p.add_argument("--script", action="store_true", help="no dashboard: send one batch, print verdicts vs truth")
    p.add_argument("--no-autoplay", action="store_true", help="do not send the opening batch")
    p.add_argument("--keep", action="store_true", help="leave the demo tmux server running")
    p.add_argument("--json", action="store_true", help="with --script: JSON lines")


def add_agents(sub: Subparsers) -> None:
    p = sub.add_parser("agents", help="the agent profiles: list, show one, explain why a pane reads as it does")
    agents = p.add_subparsers(dest="agents_command", metavar="ACTION", parser_class=_Parser, required=True)
    f = agents.add_parser("list", help="every agent profile, the version it was checked against, where it comes from")
    f.add_argument("--json", action="store_true")
    f = agents.add_parser("show", help="one profile's markers (process names, composer, working, dialogs…)")
    f.add_argument("name")
    f.add_argument("--json", action="store_true")
    f = agents.add_parser(
        "test", help="saved screens (NAME.txt + NAME.expect.toml) against the profiles: a regression run"
    )
    f.add_argument("dir", metavar="DIR")
    f.add_argument("--json", action="store_true")
    f = agents.add_parser("learn", help="record a live agent pane and propose its profile (markers, composer, process)")
    server_options(f, top=False)
    f.add_argument("target", help="an idle agent pane with no profile yet")
    f.add_argument("--name", required=True, help="the new profile's name (lower-case)")
    f.add_argument("--out", metavar="DIR", help="where to write NAME.toml and NAME-screens/ (default: config agents/)")
    f = agents.add_parser("explain", help="which process and markers made a pane's agent and state, and its composer")
    server_options(f, top=False)
    f.add_argument("target", help="pane: %%12, session:window.pane, machine:…")
    f.add_argument("--json", action="store_true")


def add_hooks(sub: Subparsers) -> None:
    p = sub.add_parser("hooks", help="the agent's own hooks write receipts: install, uninstall, status")
    hooks = p.add_subparsers(dest="hooks_command", metavar="ACTION", parser_class=_Parser, required=True)
    for action, text in (
        ("install", "add receipt hooks (keeps the user's own, idempotent)"),
        ("uninstall", "take them out (the settings as they were before, byte for byte, when nothing else changed)"),
        ("status", "which receipt hooks are in place"),
    ):
        f = hooks.add_parser(action, help=text)
        f.add_argument(
            "--agent",
            action="append",
            metavar="A",
            help="only this agent: claude, gemini, codex, opencode (repeatable); default: each whose config dir exists",
        )
        f.add_argument("--machine", "-M", default="local", help="a fleet machine (over SSH; needs python3 there)")
        f.add_argument(
            "--config-dir",
            metavar="DIR",
            help="the agent's config directory there (default: its env variable, else ~/.claude, ~/.gemini, "
            "~/.config/opencode)",
        )
        f.add_argument("--json", action="store_true")


def add_mcp(sub: Subparsers) -> None:
    p = sub.add_parser("mcp", help="serve panes, send, batch, log, show and verify as MCP tools over stdio")
    server_options(p, top=False)
    p.add_argument("--read-only", action="store_true", help="offer only the tools that send nothing")


def add_serve(sub: Subparsers) -> None:
    p = sub.add_parser("serve", help="the dashboard in a browser (textual-serve); loopback only unless --host")
    server_options(p, top=False)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1; any other needs a token)")
    p.add_argument("--port", type=int, default=8765, help="port (8765; 0 picks a free one)")
    p.add_argument(
        "--public-url", metavar="URL", help="the URL browsers reach it by, behind a proxy (http://host:port)"
    )
    feed_option(p)
    notify_option(p)


COMMANDS: dict[str, Callable[[Subparsers], None]] = {
    "send": add_send,
    "batch": add_batch,
    "exec": add_exec,
    "resend": add_resend,
    "panes": add_panes,
    "daemon": add_daemon,
    "schedule": add_schedule,
    "canary": add_canary,
    "evidence": add_evidence,
    "verify": add_verify,
    "fleet": add_fleet,
    "log": add_log,
    "show": add_show,
    "agents": add_agents,
    "hooks": add_hooks,
    "ui": add_ui,
    "demo": add_demo,
    "mcp": add_mcp,
    "serve": add_serve,
}
"""Each command's grammar, in the order `dispatch --help` lists them."""
