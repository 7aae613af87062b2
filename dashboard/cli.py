"""`dispatch …`: the services from the command line, with JSON output and distinct exit codes.

Exit codes: 0 delivered (submitted or queued), 2 usage error, 3 refused by a guard, 4 not
delivered (stuck, not received, unrecognised), 5 host unreachable or wrong identity, 6 malformed
config (the machine registry), 1 anything else.
Heavy modules (Textual) are imported only by the commands that need them, so one-shot commands
start fast.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import re
import sys
import time
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from dashboard import __version__
from dashboard.adapters.config import load_registry
from dashboard.adapters.paths import Paths
from dashboard.adapters.store_errors import LogNotWritten, StoreError
from dashboard.adapters.tmux import HostError, LocalTmux, TmuxError
from dashboard.core.fleet import LOCAL, RegistryError, qualify, split_target
from dashboard.core.model import SendRecord, Verdict
from dashboard.core.timing import DelayPolicy, TimingError

if TYPE_CHECKING:
    from dashboard.adapters.store import Store
    from dashboard.services.fleet import Fleet

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_REFUSED, EXIT_UNDELIVERED, EXIT_HOST, EXIT_CONFIG = 0, 1, 2, 3, 4, 5, 6
EXIT_COMMAND_FAILED = 7  # exec --wait: the command ran and exited non-zero

# Upper bounds of numeric options: beyond them a value is a typo, not a wish (and some would overflow SQLite)
MAX_WAIT_S = 86_400.0
"""--timeout (--when-idle, exec --wait, canary) and --expect-timeout: a day."""
MAX_VERIFY_MS = 600_000
MAX_RETRIES = 10
"""Each extra submit key waits twice as long as the one before (600 ms, 1.2 s, …): 10 is already ~10 minutes."""
MAX_LEASE_S = 600.0
MAX_BUSY_MS = 600_000
"""DISPATCH_DB_BUSY_MS: ten minutes."""
MAX_FAIL_AFTER = 1000
MAX_ROW_ID = 2**63 - 1
"""The largest SQLite integer: a bigger send or batch number cannot exist (and would overflow the query)."""
READ_FACTOR = 4
"""A prompt file (or stdin) is read up to READ_FACTOR × --max-bytes: more is a usage error, never read whole."""
PATH_ARGS = frozenset({"file", "out", "transcript", "socket_path", "socket_name", "ref"})
"""Arguments that are file or socket paths: any bytes are fine there (they go back to the OS as they came)."""
ARG_LABELS = {
    "prompt": "the prompt",
    "words": "the command",
    "target": "the target",
    "targets": "the target",
    "name": "the name",
    "names": "the machine name",
    "machines": "the machine name",
    "address": "the address",
}


class UsageError(Exception):
    """Bad arguments or unreadable input: exit 2, nothing sent, nothing recorded."""


def exit_code(verdict: Verdict) -> int:
    if verdict.delivered:
        return EXIT_OK
    if verdict is Verdict.REFUSED:
        return EXIT_REFUSED
    if verdict.undelivered:
        return EXIT_UNDELIVERED
    if verdict.host_failure:
        return EXIT_HOST
    return EXIT_ERROR


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"dispatch: error: {message}\n")


def _server_options(p: argparse.ArgumentParser, *, top: bool) -> None:
    default = None if top else argparse.SUPPRESS
    p.add_argument("-L", dest="socket_name", metavar="NAME", default=default, help="tmux socket name (as tmux -L)")
    p.add_argument("-S", dest="socket_path", metavar="PATH", default=default, help="tmux socket path (as tmux -S)")


def _send_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--file", help="read the prompt from FILE ('-' for stdin)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a human line")
    p.add_argument("--raw", action="store_true", help="allow a prompt starting with a picker character (/ @ ! #)")
    p.add_argument("--when-idle", action="store_true", help="wait for a busy agent to go idle first")
    p.add_argument("--timeout", type=float, default=120.0, metavar="S", help="how long --when-idle waits (120)")
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


def _row_id(text: str) -> int:
    """A send or batch number as argparse reads it: a positive integer that SQLite can hold."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_ROW_ID:
        raise argparse.ArgumentTypeError(f"{text}: expected a number from 1 to {MAX_ROW_ID}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dispatch",
        description="Send prompts to AI coding agents in tmux panes, and prove they were submitted.",
        epilog="exit codes: 0 delivered · 2 usage · 3 refused · 4 not delivered · 5 host unreachable or wrong"
        " identity · 6 bad config · 7 exec --wait: the command failed · 1 other",
    )
    parser.add_argument("--version", action="version", version=f"dispatch {__version__}")
    _server_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("send", help="send a prompt to one agent pane and verify it was submitted")
    _server_options(p, top=False)
    p.add_argument("target", help="pane: %%12, session:window.pane, machine:session:window.pane, machine:%%12")
    p.add_argument("prompt", nargs="?", help="the prompt (or -f FILE)")
    _send_options(p)

    p = sub.add_parser("batch", help="send one prompt to many panes at once")
    _server_options(p, top=False)
    p.add_argument("targets", nargs="*", help="panes: %%12, session:window.pane, machine:… (any mix of machines)")
    p.add_argument("-m", "--prompt", dest="prompt", help="the prompt text (or -f FILE)")
    p.add_argument(
        "--spread",
        type=int,
        metavar="N",
        help="send to N ready agents taken round-robin across subscription profiles (from TARGETS, or the fleet);"
        " rate-limited and busy panes are passed over",
    )
    _send_options(p)

    p = sub.add_parser(
        "exec",
        help="run a shell command in a shell pane (never an agent), behind the blocklist",
        description="Type COMMAND into a shell pane at an empty prompt and press Enter. Agent panes, busy or"
        " full-screen panes and typed-in prompts are refused; so is anything the blocklist names (disk wipes, fork"
        " bombs, downloads piped into interpreters, writes under ~/.ssh), however phrased. No flag overrides it.",
    )
    _server_options(p, top=False)
    p.add_argument("target", help="a shell pane: %%12, session:window.pane, machine:…")
    p.add_argument("words", nargs="*", metavar="COMMAND", help="after --: the command (words joined by spaces)")
    p.add_argument("--wait", action="store_true", help="wait for it to finish and report its exit status")
    p.add_argument("--timeout", type=float, default=60.0, metavar="S", help="how long --wait waits (60)")
    p.add_argument("--dry-run", action="store_true", help="only say whether it would run (exit 0) or not (3)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("resend", help="send a logged prompt again to the same pane (Enter only if it is stuck)")
    _server_options(p, top=False)
    p.add_argument("id", type=_row_id)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("panes", help="every pane of every machine: agent, state, composer text")
    _server_options(p, top=False)
    p.add_argument("machines", nargs="*", metavar="MACHINE", help="only these machines ('local' is this one)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("daemon", help="the scheduler daemon: start, stop, status, run (foreground, for systemd)")
    _server_options(p, top=False)
    p.add_argument("action", choices=["start", "stop", "status", "run"])
    p.add_argument("--json", action="store_true")

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
            _server_options(f, top=False)
    f = sched.add_parser("list", help="every schedule with its state and next run")
    f.add_argument("--json", action="store_true")

    p = sub.add_parser("canary", help="one-off: ask an agent for a fresh token and check its transcript for it")
    _server_options(p, top=False)
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

    p = sub.add_parser("evidence", help="export a batch's (or one send's) evidence as versioned JSON files")
    p.add_argument("ref", help="b12 / batch:12 for a batch, 42 / send:42 for one send")
    p.add_argument("--out", type=Path, metavar="DIR", help="where (default: evidence/ in the state directory)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("verify", help="read-only re-check of a batch from its evidence: confirmed / refuted / unknown")
    _server_options(p, top=False)
    p.add_argument("ref", help="b12 / 42 from the log, or an evidence directory")
    p.add_argument("--json", action="store_true")

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

    p = sub.add_parser("log", help="recent sends with verdicts")
    p.add_argument("--json", action="store_true")
    p.add_argument("-n", type=_row_id, default=50, dest="limit", help="how many (50)")
    p.add_argument("--batch", type=_row_id, help="only this batch")
    p.add_argument("--machine", help="only sends to this machine ('local' is this one)")

    p = sub.add_parser("show", help="one send: verdict, evidence, timings, before/after diff")
    p.add_argument("id", type=_row_id)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("ui", help="the dashboard (also: dispatch with no command)")
    _server_options(p, top=False)
    p.add_argument("--interval", type=float, default=1.0, metavar="S", help="refresh interval (1.0)")

    p = sub.add_parser("demo", help="the dashboard on a built-in fleet of fake agents, some misbehaving")
    p.add_argument("--script", action="store_true", help="no dashboard: send one batch, print verdicts vs truth")
    p.add_argument("--no-autoplay", action="store_true", help="do not send the opening batch")
    p.add_argument("--keep", action="store_true", help="leave the demo tmux server running")
    p.add_argument("--json", action="store_true", help="with --script: JSON lines")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    words: list[str] | None = None
    if "exec" in argv and "--" in argv[argv.index("exec") :]:
        # `dispatch exec [options] TARGET [options] -- COMMAND…`: everything after -- is the command
        cut = argv.index("--", argv.index("exec"))
        argv, words = argv[:cut], argv[cut + 1 :]
    args, extra = parser.parse_known_args(argv)
    if extra:
        # argparse gives an optional positional (the prompt of `schedule add NAME [PROMPT]`) nothing when
        # options come between: take a single leftover word as that prompt, refuse anything else
        if getattr(args, "schedule_command", None) == "add" and args.prompt is None and len(extra) == 1:
            args.prompt = extra[0]
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if words is not None:
        args.words = [*args.words, *words]
    if args.command is None:
        args.command, args.interval = "ui", 1.0
    if args.command == "daemon" and args.action == "run":
        # the daemon owns the main thread: its event loop handles SIGTERM/SIGINT (only possible there)
        from dashboard.services.daemon import run_foreground

        try:
            return run_foreground(Paths.from_env(), _server_argv(args))
        except OSError as exc:
            print(f"dispatch: error: {_os_error(exc)}", file=sys.stderr)
            return EXIT_ERROR
    try:
        return asyncio.run(_dispatch(args))
    except UsageError as exc:
        print(f"dispatch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except RegistryError as exc:
        print(f"dispatch: error: {exc}", file=sys.stderr)
        return EXIT_CONFIG if exc.malformed else EXIT_USAGE
    except TimingError as exc:
        print(f"dispatch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LogNotWritten as exc:  # the pane was reached: say how far, never "nothing was sent"
        print(f"dispatch: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except StoreError as exc:
        sent = " (nothing was sent)" if args.command in ("send", "batch") else ""
        print(f"dispatch: error: {exc}{sent}", file=sys.stderr)
        return EXIT_ERROR
    except HostError as exc:
        print(f"dispatch: error: {exc}", file=sys.stderr)
        return EXIT_HOST
    except TmuxError as exc:
        print(f"dispatch: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except ValueError as exc:
        # not a usage error (those are UsageError / TimingError / RegistryError): a bug, said in one line
        detail = " ".join(str(exc).split())
        print(f"dispatch: internal error: {type(exc).__name__}: {detail}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("dispatch: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `dispatch log | head`: the reader left; say nothing more (and let exit not flush into it)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:
        # a file or directory the command needed (the state directory, its pidfile…): which one, in one line
        print(f"dispatch: error: {_os_error(exc)}", file=sys.stderr)
        return EXIT_ERROR


def _os_error(exc: OSError) -> str:
    return f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc)


async def _dispatch(args: argparse.Namespace) -> int:
    check_text_args(args)
    handler = {
        "send": cmd_send,
        "batch": cmd_batch,
        "panes": cmd_panes,
        "log": cmd_log,
        "show": cmd_show,
        "demo": cmd_demo,
        "ui": cmd_ui,
        "resend": cmd_resend,
        "fleet": cmd_fleet,
        "exec": cmd_exec,
        "daemon": cmd_daemon,
        "schedule": cmd_schedule,
        "canary": cmd_canary,
        "evidence": cmd_evidence,
        "verify": cmd_verify,
    }[args.command]
    return await handler(args)


def host_from(args: argparse.Namespace) -> LocalTmux:
    return LocalTmux(socket_name=getattr(args, "socket_name", None), socket_path=getattr(args, "socket_path", None))


def fleet_from(args: argparse.Namespace) -> Fleet:
    """This machine's server (-L/-S) plus the registry; a malformed registry stops here (exit 6)."""
    from dashboard.services.fleet import Fleet

    return Fleet(host_from(args), load_registry(Paths.from_env().config_file))


def check_text_args(args: argparse.Namespace) -> None:
    """Every text argument must be UTF-8: argv bytes that are not arrive as surrogate escapes.

    Left alone they would fail much later, blamed on whatever first tried to encode them (the log
    database). Paths are exempt: the OS takes their bytes back as they came.
    """
    for dest, value in vars(args).items():
        if dest in PATH_ARGS:
            continue
        values = value if isinstance(value, list) else [value]
        for i, item in enumerate(values, 1):
            at = _bad_utf8_at(item) if isinstance(item, str) else None
            if at is None:
                continue
            label = ARG_LABELS.get(dest, "--" + dest.replace("_", "-"))
            which = "the argument" if len(values) == 1 else ("word" if dest == "words" else "argument") + f" {i}"
            raise UsageError(f"{label} is not valid UTF-8 (byte {at} of {which})")


def _bad_utf8_at(text: str) -> int | None:
    """The byte offset of the first byte that is not UTF-8 (a surrogate escape from argv), or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return len(text[: exc.start].encode("utf-8"))
    return None


def check_targets(targets: Sequence[str], machines: Collection[str], *, nothing: str = "nothing was sent") -> None:
    """Every target names this machine or a registered one; anything else is a usage error (nothing recorded).

    `gpu1:%12` with no `gpu1` registered is not a session `gpu1` (a `%` pane id has no session in
    front of it), so it is an unknown machine too, not a target tmux is left to fail to find.
    """
    known = [LOCAL, *(m for m in machines if m != LOCAL)]
    for target in targets:
        head, sep, rest = target.partition(":")
        try:
            split_target(target, set(known))
        except RegistryError as exc:
            if exc.malformed:
                raise
            if head in known:  # a machine and no pane: `gpu1:`
                raise UsageError(f"{exc}; {nothing}") from None
        else:
            if not (sep and head not in known and rest.startswith("%")):
                continue
        raise UsageError(f"unknown machine '{head}' in target '{target}' (known: {', '.join(known)}); {nothing}")


def _in_range(flag: str, value: float, low: float, high: float, unit: str = "", *, above_low: bool = False) -> None:
    """Refuse an option outside [low, high] ((low, high] with above_low), nan and infinities included."""
    if not ((low < value if above_low else low <= value) and value <= high):
        shown = str(value) if isinstance(value, int) else f"{value:g}"
        expected = f"more than {low:g} and at most {high:g}" if above_low else f"from {low:g} to {high:g}"
        raise UsageError(f"{flag} {shown}: expected {expected}{unit}")


def read_prompt(args: argparse.Namespace, max_bytes: int = 256 * 1024) -> str:
    """The prompt from the argument, a file, or stdin; unreadable input is a usage error.

    Input is read up to READ_FACTOR × max_bytes (the guard then applies the exact limit to the
    normalised prompt): `-f /dev/zero` or an endless pipe is refused, not read until memory runs out.
    """
    if args.prompt is not None and args.file:
        raise UsageError("give the prompt as an argument or with -f, not both")
    if args.file:
        limit = READ_FACTOR * max_bytes
        source = "the prompt on stdin" if args.file == "-" else f"prompt file {args.file}"
        try:
            if args.file == "-":
                if sys.stdin is None:  # started with stdin closed (`<&-`)
                    raise UsageError("cannot read the prompt from stdin: stdin is closed; nothing was sent")
                data = sys.stdin.buffer.read(limit + 1)
            else:
                with open(args.file, "rb") as f:
                    data = f.read(limit + 1)
        except OSError as exc:
            what = "the prompt from stdin" if args.file == "-" else f"prompt file {args.file}"
            raise UsageError(f"cannot read {what}: {exc.strerror or exc}; nothing was sent") from None
        if len(data) > limit:
            raise UsageError(
                f"{source} is over {limit:,} bytes ({READ_FACTOR} × --max-bytes {max_bytes:,}); nothing was sent"
            )
        try:
            return data.decode()
        except UnicodeDecodeError as exc:
            raise UsageError(f"{source} is not UTF-8 text (byte {exc.start}); nothing was sent") from None
    if args.prompt is None:
        raise UsageError("no prompt: give it as an argument or with -f FILE")
    return str(args.prompt)


def send_options(args: argparse.Namespace) -> Any:
    """The SendOptions of `send` and `batch`, every option checked: a contradiction or absurd value is a usage error."""
    from dashboard.services.send import SendOptions

    if args.queue and args.when_idle:
        raise UsageError(
            "--queue and --when-idle contradict each other (--queue sends to the busy agent now, --when-idle waits"
            " for it to finish): give one"
        )
    policy = DelayPolicy().overridden(
        os.environ,
        fixed_ms=args.delay_ms,
        floor_ms=args.delay_floor_ms,
        ceil_ms=args.delay_ceil_ms,
        ms_per_word=args.ms_per_word,
        ms_per_char=args.ms_per_char,
    )
    _in_range("--timeout", args.timeout, 0, MAX_WAIT_S, " seconds")
    _in_range("--retries", args.retries, 0, MAX_RETRIES, " (each waits twice as long as the one before)")
    _in_range("--verify-ms", args.verify_ms, 0, MAX_VERIFY_MS, " ms")
    _in_range("--lease-timeout", args.lease_timeout, 0, MAX_LEASE_S, " seconds")
    if args.max_bytes <= 0:
        raise UsageError(f"--max-bytes {args.max_bytes}: expected at least 1")
    return SendOptions(
        delay=policy,
        raw=args.raw,
        when_idle=args.when_idle,
        idle_timeout=args.timeout,
        queue=args.queue,
        allow_limited=args.allow_limited,
        retries=args.retries,
        verify_ms=args.verify_ms,
        max_bytes=args.max_bytes,
        lease_timeout=args.lease_timeout,
    )


@asynccontextmanager
async def open_store() -> AsyncIterator[Store]:
    """The log at DISPATCH_HOME, with sends cut off by a dead process concluded first.

    DISPATCH_DB_BUSY_MS bounds the wait for another writer (3000). No record stays `pending`
    forever: every command that opens the log concludes this machine's orphans (`interrupted`).
    """
    from dashboard.adapters.store import Store  # aiosqlite only for the commands that use the log

    async with Store(Paths.from_env().db, busy_timeout_ms=db_busy_ms()) as store:
        if await store.pending():
            await _conclude_orphans(store)
        yield store


async def _conclude_orphans(store: Store) -> None:
    from dashboard.services.fleet import Fleet
    from dashboard.services.recovery import conclude_interrupted

    try:
        registry = load_registry(Paths.from_env().config_file)
    except RegistryError:
        registry = None  # a broken registry is the command's own error to report
    fleet = Fleet(LocalTmux(), registry)
    try:
        await conclude_interrupted(store, fleet)
    finally:
        await fleet.close()


def db_busy_ms() -> int:
    """DISPATCH_DB_BUSY_MS: whole milliseconds from 0 (do not wait) to MAX_BUSY_MS; unset or blank is 3000."""
    busy = os.environ.get("DISPATCH_DB_BUSY_MS", "").strip()
    if not busy:
        return 3000
    if not re.fullmatch(r"[0-9]+", busy) or int(busy) > MAX_BUSY_MS:
        raise UsageError(f"DISPATCH_DB_BUSY_MS={busy!r}: expected whole milliseconds from 0 to {MAX_BUSY_MS}")
    return int(busy)


async def cmd_send(args: argparse.Namespace) -> int:
    from dashboard.services.send import send

    opts = send_options(args)
    prompt = read_prompt(args, opts.max_bytes)
    fleet = fleet_from(args)
    check_targets([args.target], fleet.names)  # an unknown machine: usage error, nothing recorded
    host, _ = fleet.route(args.target)
    async with open_store() as store:
        try:
            rec = await send(host, store, args.target, prompt, opts)
        finally:
            await fleet.close()
    print(json.dumps(rec.to_json(), ensure_ascii=False) if args.json else human_line(rec))
    return exit_code(rec.verdict)


async def cmd_batch(args: argparse.Namespace) -> int:
    from dashboard.services.batch import BatchSummary, run_batch

    opts = send_options(args)
    prompt = read_prompt(args, opts.max_bytes)
    started = time.monotonic()
    summary: BatchSummary | None = None
    fleet = fleet_from(args)
    targets = list(args.targets)
    check_targets(targets, fleet.names)  # before anything is recorded: one unknown machine stops the batch
    if args.spread is not None:
        try:
            targets = await _spread_targets(fleet, targets, args.spread, args.json)
        except BaseException:
            await fleet.close()
            raise
        if not targets:
            await fleet.close()
            print("dispatch: no ready agent pane to spread over", file=sys.stderr)
            return EXIT_REFUSED
    elif not targets:
        raise UsageError("no targets: name the panes, or use --spread N")
    async with open_store() as store:
        try:
            async for rec in run_batch(fleet, store, targets, prompt, opts):
                assert rec.batch is not None
                summary = summary or BatchSummary(rec.batch, len(targets))
                summary.counts[str(rec.verdict)] += 1
                print(json.dumps(rec.to_json(), ensure_ascii=False) if args.json else human_line(rec), flush=True)
        finally:
            await fleet.close()
    assert summary is not None
    summary.elapsed_ms = round((time.monotonic() - started) * 1000)
    if args.json:
        print(json.dumps(summary.to_json()))
    else:
        counts = ", ".join(f"{n} {v}" for v, n in summary.counts.most_common())
        print(f"batch {summary.batch}: {counts} in {summary.elapsed_ms} ms (dispatch log --batch {summary.batch})")
    verdicts = [Verdict(v) for v in summary.counts]
    if summary.ok:
        return EXIT_OK
    if any(v.undelivered for v in verdicts):
        return EXIT_UNDELIVERED
    if any(v.host_failure for v in verdicts):
        return EXIT_HOST
    if Verdict.ERROR in verdicts:
        return EXIT_ERROR
    return EXIT_REFUSED


async def cmd_exec(args: argparse.Namespace) -> int:
    from dashboard.services.execute import ExecOptions, run_exec

    command = " ".join(args.words)
    if not command.strip():
        raise UsageError("no command: dispatch exec TARGET -- COMMAND…")
    _in_range("--timeout", args.timeout, 0, MAX_WAIT_S, " seconds", above_low=True)
    opts = ExecOptions(wait=args.wait, timeout=args.timeout, dry_run=args.dry_run)
    fleet = fleet_from(args)
    check_targets([args.target], fleet.names)
    host, _ = fleet.route(args.target)
    try:
        if args.dry_run:
            rec = await run_exec(host, None, args.target, command, opts)
        else:
            async with open_store() as store:
                rec = await run_exec(host, store, args.target, command, opts)
    finally:
        await fleet.close()
    if args.json:
        out = rec.to_json()
        if args.dry_run:
            out = {**out, "verdict": "would-run" if rec.verdict is Verdict.PENDING else str(rec.verdict)}
        print(json.dumps(out, ensure_ascii=False))
    elif args.dry_run and rec.verdict is Verdict.PENDING:
        print(f"would run: {command!r} in {rec.pane_id} ({rec.target}) — blocklist and guard allow it")
    else:
        print(human_line(rec))
    if args.dry_run:
        return EXIT_OK if rec.verdict is Verdict.PENDING else exit_code(rec.verdict)
    if rec.verdict is Verdict.FINISHED and rec.exit_status:
        return EXIT_COMMAND_FAILED
    if rec.verdict is Verdict.STARTED and args.wait:
        return EXIT_UNDELIVERED  # asked to see it finish, and it did not within --timeout
    return exit_code(rec.verdict)


def _server_argv(args: argparse.Namespace) -> list[str]:
    if getattr(args, "socket_path", None):
        return ["-S", args.socket_path]
    if getattr(args, "socket_name", None):
        return ["-L", args.socket_name]
    return []


async def cmd_daemon(args: argparse.Namespace) -> int:
    from dashboard.services import daemon

    paths = Paths.from_env()
    if args.action == "start":
        code, message = await asyncio.to_thread(daemon.start, paths, _server_argv(args))
    elif args.action == "stop":
        code, message = await asyncio.to_thread(daemon.stop, paths)
    else:
        info = daemon.status(paths)
        code = EXIT_OK if info["running"] else EXIT_ERROR
        if args.json:
            print(json.dumps(info))
        else:
            print(f"daemon running (pid {info['pid']})" if info["running"] else "no daemon is running")
        return code
    if args.json:
        print(json.dumps({"ok": code == 0, "message": message, **daemon.status(paths)}))
    else:
        print(message, file=sys.stdout if code == 0 else sys.stderr)
    return code


async def cmd_schedule(args: argparse.Namespace) -> int:
    from dashboard.adapters.schedules import Schedules

    action = args.schedule_command
    async with open_store() as store:
        schedules = Schedules(store)
        if action == "add":
            return await schedule_add(args, schedules)
        if action == "list":
            return await schedule_list(args, schedules)
        s = await schedules.get(args.name)
        if s is None:
            raise UsageError(f"no schedule named '{args.name}' (dispatch schedule list)")
        if action == "show":
            runs = await schedules.runs(s.id or 0, 20)
            if args.json:
                print(json.dumps({**s.to_json(), "runs": [r.to_json() for r in runs]}))
                return EXIT_OK
            _print_schedule(s)
            for r in runs:
                when = time.strftime("%m-%d %H:%M:%S", time.localtime(r.scheduled))
                canary = f" canary {r.canary}" if r.canary else ""
                send = f" send #{r.send}" if r.send else ""
                print(f"  {when}  {r.outcome:11} {r.verdict or '-':18}{canary}{send}  {r.detail[:70]}")
            return EXIT_OK
        if action in ("pause", "resume"):
            await schedules.set_paused(s.name, action == "pause")
            print(json.dumps({"name": s.name, "paused": action == "pause"}) if args.json else f"{s.name}: {action}d")
            return EXIT_OK
        if action == "remove":
            await schedules.remove(s.name)
            print(json.dumps({"name": s.name, "removed": True}) if args.json else f"{s.name}: removed")
            return EXIT_OK
        return await schedule_run_now(args, store, s)


async def schedule_add(args: argparse.Namespace, schedules: Any) -> int:
    from datetime import datetime

    from dashboard.adapters.schedules import Schedule
    from dashboard.core.schedule import ScheduleError, next_fire, parse_spec
    from dashboard.services.daemon import local_tz

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}", args.name):
        raise UsageError(f"bad schedule name {args.name!r} (letters, digits, '-', '_', '.', ':')")
    prompt = ""
    if args.prompt is not None or args.file:
        prompt = read_prompt(args)
    if not prompt.strip() and not args.canary:
        raise UsageError("no prompt: give it as an argument, with -f FILE, or use --canary")
    if args.canary and args.expect:
        raise UsageError("--canary generates its own expected token; do not combine it with --expect")
    if args.expect is not None and not args.expect.strip():
        raise UsageError("--expect needs a non-empty string")
    _in_range("--expect-timeout", args.expect_timeout, 0, MAX_WAIT_S, " seconds", above_low=True)
    _in_range("--fail-after", args.fail_after, 1, MAX_FAIL_AFTER)
    registry = load_registry(Paths.from_env().config_file)
    check_targets([args.target], registry.machines, nothing="no schedule was added")
    _, rest = split_target(args.target, registry.machines)
    if not rest or rest.strip() != rest or any(c.isspace() for c in rest):
        raise UsageError(f"--target {args.target!r} is not a pane address (%12, session:window.pane, machine:…)")
    tz = local_tz()
    now = datetime.now(tz)
    kind, text = ("every", args.every) if args.every else ("cron", args.cron) if args.cron else ("at", args.at)
    try:
        spec = parse_spec(kind, text, now)
    except ScheduleError as exc:
        raise UsageError(str(exc)) from None
    s = Schedule(
        name=args.name, target=args.target, kind=spec.kind, spec=spec.text, anchor=spec.anchor, tz=spec.tz,
        prompt=prompt, canary=args.canary, expect=args.expect, expect_timeout=args.expect_timeout,
        missed=args.missed, when_idle=args.when_idle, fail_after=args.fail_after, on_failure=args.on_failure,
    )  # fmt: skip
    s.next_fire = next_fire(spec, now.timestamp(), tz)
    machine, _ = split_target(args.target, registry.machines)
    if machine == LOCAL:
        # runs go to the server this schedule was made on (-L/-S/$TMUX), whatever the daemon's own -L
        s.server = await host_from(args).socket()
    try:
        await schedules.add(s)
    except StoreError as exc:
        if "already exists" in str(exc):
            raise UsageError(str(exc)) from None
        raise
    if args.json:
        print(json.dumps(s.to_json()))
    else:
        _print_schedule(s)
    return EXIT_OK


def _print_schedule(s: Any) -> None:
    nxt = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(s.next_fire)) if s.next_fire else "-"
    state = "paused" if s.paused else s.state
    what = "canary (fresh token each run)" if s.canary else (f"expects {s.expect!r}" if s.expect else "no canary")
    print(f"{s.name}: {s.kind} {s.spec} → {s.target} · {state} · next {nxt} · {what} · missed runs: {s.missed}")


RUN_MARKS = {"ok": "✓", "failed": "✗", "missed": "·", "interrupted": "?", "running": "…"}


async def schedule_list(args: argparse.Namespace, schedules: Any) -> int:
    items = await schedules.all()
    if args.json:
        out = []
        for s in items:
            runs = await schedules.runs(s.id or 0, 5)
            out.append({**s.to_json(), "last_runs": [r.outcome for r in runs]})
        print(json.dumps(out))
        return EXIT_OK
    if not items:
        print("no schedules (dispatch schedule add NAME --target T --every 30m PROMPT)")
    for s in items:
        runs = await schedules.runs(s.id or 0, 8)
        marks = "".join(RUN_MARKS.get(r.outcome, "?") for r in reversed(runs))
        nxt = time.strftime("%m-%d %H:%M:%S", time.localtime(s.next_fire)) if s.next_fire else "-"
        state = "paused" if s.paused else s.state.upper() if s.state == "failing" else s.state
        print(f"{s.name:20} {state:8} {s.kind:5} {s.spec:16} next {nxt:14} {marks:8} → {s.target}")
    return EXIT_OK


async def schedule_run_now(args: argparse.Namespace, store: Store, s: Any) -> int:
    from dashboard.adapters.schedules import Schedules
    from dashboard.services.daemon import local_tz
    from dashboard.services.scheduler import Scheduler

    fleet = fleet_from(args)
    scheduler = Scheduler(store, lambda: fleet, local_tz(), log=lambda _line: None)
    run = await Schedules(store).claim_manual(s, os.getpid())
    try:
        run = await scheduler.fire(s, run)
    finally:
        await fleet.close()
    if args.json:
        print(json.dumps(run.to_json()))
    else:
        print(f"{s.name}: run {run.id} {run.outcome} — {run.detail}")
    return EXIT_OK if run.outcome == "ok" else EXIT_UNDELIVERED


async def cmd_canary(args: argparse.Namespace) -> int:
    from dashboard.services.canary import canary_prompt, canary_token, wait_for_canary
    from dashboard.services.send import SendOptions, send

    token = args.expect or canary_token()
    prompt = args.prompt if args.prompt else canary_prompt(token)
    if args.expect and not args.prompt:
        raise UsageError("--expect needs --prompt (a generated prompt asks for a generated token)")
    if args.expect is not None and not args.expect.strip():
        raise UsageError("--expect needs a non-empty string")
    _in_range("--timeout", args.timeout, 0, MAX_WAIT_S, " seconds", above_low=True)
    _in_range("--lease-timeout", args.lease_timeout, 0, MAX_LEASE_S, " seconds")
    opts = SendOptions(lease_timeout=args.lease_timeout)
    fleet = fleet_from(args)
    check_targets([args.target], fleet.names)
    try:
        host, _ = fleet.route(args.target)
        async with open_store() as store:
            rec = await send(host, store, args.target, prompt, opts, meta={"canary": token})
            if not rec.verdict.delivered:
                result = None
            else:
                result = await wait_for_canary(
                    host, rec.pane_id or args.target, prompt, token, args.timeout, transcript=args.transcript
                )
    finally:
        await fleet.close()
    passed = result is not None and result.passed
    if args.json:
        print(json.dumps({**rec.to_json(), "canary": result.to_json() if result else None, "passed": passed}))
    elif result is None:
        print(f"canary not sent: {human_line(rec)}")
    else:
        print(f"canary {'PASSED' if passed else 'FAILED'}: {token} — {result.evidence} ({result.waited_ms} ms)")
    if result is None:
        return exit_code(rec.verdict)
    return EXIT_OK if passed else EXIT_UNDELIVERED


def parse_ref(ref: str) -> tuple[str, int]:
    """`b12` / `batch:12` → ("batch", 12); `42` / `send:42` / `#42` → ("send", 42)."""
    m = re.fullmatch(r"(?:(b|batch:?)|(send:|#)?)(\d+)", ref.strip())
    if m is None:
        raise UsageError(f"'{ref}' is not a batch (b12) or a send (42)")
    kind, number = ("batch" if m.group(1) else "send"), int(m.group(3))
    if not 1 <= number <= MAX_ROW_ID:
        raise UsageError(f"no {kind} {number} in the log")
    return kind, number


async def _records_for(store: Store, ref: str, *, snapshots: bool) -> tuple[str, int, list[SendRecord]]:
    kind, number = parse_ref(ref)
    if kind == "batch":
        metas = list(reversed(await store.recent(100_000, batch=number)))
        if not metas:
            raise UsageError(f"no batch {number} in the log")
        recs = [await store.get(r.id or 0, snapshots=snapshots) or r for r in metas] if snapshots else metas
        return kind, number, recs
    rec = await store.get(number, snapshots=snapshots)
    if rec is None:
        raise UsageError(f"no send #{number} in the log")
    return kind, number, [rec]


def _identity_of(machine: str, registry: Any) -> dict[str, object] | None:
    """The identity a send's machine was verified against (the registry's record; this box's own for local)."""
    if machine in ("local", ""):
        try:
            machine_id = Path("/etc/machine-id").read_text().strip()
        except OSError:
            machine_id = None
        return {"hostname": os.uname().nodename, "machine_id": machine_id, "host_key": None, "source": "this machine"}
    m = registry.machines.get(machine)
    if m is None:
        return None
    return {"hostname": m.hostname, "machine_id": m.machine_id, "host_key": m.host_key,
            "source": "registry (checked before the send)"}  # fmt: skip


async def cmd_evidence(args: argparse.Namespace) -> int:
    from dashboard.services.verify import FORMAT, VERSION, record_json

    paths = Paths.from_env()
    registry = load_registry(paths.config_file)
    async with open_store() as store:
        kind, number, recs = await _records_for(store, args.ref, snapshots=True)
    out: Path = args.out or paths.data / "evidence" / f"{kind}-{number}"
    try:
        out.mkdir(parents=True, exist_ok=True)
        for rec in recs:
            data = record_json(rec, _identity_of(rec.machine, registry))
            (out / f"send-{rec.id}.json").write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
        counts: dict[str, int] = {}
        for rec in recs:
            counts[str(rec.verdict)] = counts.get(str(rec.verdict), 0) + 1
        summary = {
            "format": FORMAT, "version": VERSION, "kind": kind, kind: number, "exported": time.time(),
            "tool": f"dispatch {__version__}", "prompt": recs[0].prompt if recs else "",
            "created": min(r.created for r in recs) if recs else None,
            "sends": [r.id for r in recs], "verdicts": counts,
            "machines": sorted({r.machine for r in recs}),
        }  # fmt: skip
        (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1) + "\n")
    except OSError as exc:
        raise UsageError(f"cannot write evidence to {out}: {exc.strerror or exc}") from None
    if args.json:
        print(json.dumps({"dir": str(out), "sends": len(recs), "format": FORMAT, "version": VERSION}))
    else:
        print(f"{len(recs)} send(s) exported to {out} ({FORMAT} v{VERSION}); check them later: dispatch verify {out}")
    return EXIT_OK


async def cmd_verify(args: argparse.Namespace) -> int:
    from dashboard.services.verify import load_export, verify

    source = Path(args.ref)
    if source.is_dir():
        try:
            _, recs = load_export(source)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    else:
        async with open_store() as store:
            # the "before" screens tell a repeated prompt's old copy from the new one
            _, _, recs = await _records_for(store, args.ref, snapshots=True)
    fleet = fleet_from(args).read_only()
    try:
        report = await verify(fleet, recs)
    finally:
        await fleet.close()
    if args.json:
        for c in report.checks:
            print(json.dumps(c.to_json(), ensure_ascii=False))
        print(json.dumps(report.to_json()))
    else:
        for c in report.checks:
            mark = {"confirmed": "✓", "refuted": "✗", "unknown": "?"}[c.result]
            where = f"{c.pane_id} ({c.target})" if c.pane_id else c.target
            print(f"{mark} {c.result:9} {where:28} claimed {c.claim:14} — {c.why}")
        t = report.to_json()
        print(f"{t['confirmed']} confirmed, {t['refuted']} refuted, {t['unknown']} unknown of {t['total']}")
    counts = report.counts
    if counts["refuted"]:
        return EXIT_UNDELIVERED
    claimed_unknown = any(c.result == "unknown" and Verdict(c.claim).delivered for c in report.checks)
    return EXIT_ERROR if claimed_unknown else EXIT_OK


async def _spread_targets(fleet: Fleet, targets: list[str], n: int, as_json: bool) -> list[str]:
    """The keys of up to N ready agents, round-robin across profiles; what was passed over is said on stderr."""
    from dashboard.services.panes import PaneView, survey
    from dashboard.services.profiles import ProfileResolver, spread

    if n < 1:
        raise UsageError("--spread needs N >= 1")
    resolver = ProfileResolver(fleet.registry.profiles)
    machines = sorted({fleet.route(t)[0].name for t in targets}) if targets else fleet.names

    async def one(name: str) -> list[PaneView]:
        try:
            return resolver.attach(await survey(fleet.host(name)))
        except HostError as exc:
            print(f"dispatch: {exc}", file=sys.stderr)
            return []

    views = [v for part in await asyncio.gather(*(one(m) for m in machines)) for v in part]
    if targets:
        from dashboard.adapters.tmux import resolve_target

        wanted = []
        for t in targets:
            host, local = fleet.route(t)
            pane = resolve_target([v.pane for v in views if v.pane.machine == host.name], local)
            wanted += [v for v in views if pane is not None and v.pane == pane]
        views = wanted
    result = spread(views, n)
    for v, why in result.skipped:
        if why.startswith("rate-limited"):
            print(f"skipped {v.pane.address} ({v.profile or 'no profile'}): {why}", file=sys.stderr)
    picked = [f"{v.profile or '-'}:{v.pane.address}" for v in result.picked]
    if not as_json:
        print(f"spread over {len({v.profile for v in result.picked})} profile(s): {', '.join(picked)}", file=sys.stderr)
    return [v.pane.key for v in result.picked]


async def cmd_resend(args: argparse.Namespace) -> int:
    from dashboard.services.send import CannotResend, SendOptions, resend

    async with open_store() as store:
        old = await store.get(args.id)
        if old is None:
            raise UsageError(f"no send #{args.id} in the log")
        if not old.pane_id:
            raise UsageError(f"send #{args.id} never reached a pane ({old.reason}); nothing to re-send to")
        fleet = fleet_from(args)
        try:
            # the record's own machine and tmux server, whatever -L/-S/$TMUX this command was given
            rec = await resend(fleet.host_of(old.machine, old.server), store, old, SendOptions())
        except CannotResend as exc:
            raise UsageError(str(exc)) from None
        finally:
            await fleet.close()
    print(json.dumps(rec.to_json(), ensure_ascii=False) if args.json else human_line(rec))
    return exit_code(rec.verdict)


async def cmd_panes(args: argparse.Namespace) -> int:
    from dashboard.services.panes import PaneView, survey

    fleet = fleet_from(args)
    names = args.machines or fleet.names
    for name in names:
        fleet.host(name)  # an unknown machine is a usage error before anything connects

    async def one(name: str) -> list[PaneView] | HostError:
        try:
            return await survey(fleet.host(name))
        except HostError as exc:
            return exc

    try:
        results = dict(zip(names, await asyncio.gather(*(one(n) for n in names)), strict=True))
    finally:
        await fleet.close()
    from datetime import datetime

    from dashboard.core.profiles import parse_reset, until
    from dashboard.services.profiles import ProfileResolver

    resolver = ProfileResolver(fleet.registry.profiles)
    results = {n: (r if isinstance(r, HostError) else resolver.attach(r)) for n, r in results.items()}
    failed = {n: r for n, r in results.items() if isinstance(r, HostError)}
    views = [(n, v) for n, r in results.items() if not isinstance(r, HostError) for v in r]
    for exc in failed.values():
        print(f"dispatch: {exc}", file=sys.stderr)
    code = EXIT_HOST if failed else EXIT_OK
    if args.json:
        print(json.dumps([{**v.to_json(), "machine": n} for n, v in views], ensure_ascii=False))
        return code
    if not views:
        where = ", ".join(fleet.host(n).describe() for n in names if n not in failed)
        print(f"no panes on {where}" if where else "no machine answered")
        return code
    width = 22 if len(names) > 1 else 18
    print(f"{'PANE':6} {'TARGET':{width}} {'AGENT':9} {'PROFILE':12} {'STATE':18} {'COMMAND':10} COMPOSER / LAST LINE")
    now = datetime.now()
    for name, v in views:
        detail = v.cls.composer if v.cls.composer else v.cls.last_line
        detail = " ⏎ ".join((detail or "").splitlines())
        if v.cls.reset:
            when = parse_reset(v.cls.reset, now)
            detail = f"resets {v.cls.reset}" + (f" ({until(when, now)})" if when else "") + f" · {detail}"
        target = qualify(name, v.pane.target)
        print(
            f"{v.pane.pane_id:6} {target[:width]:{width}} {v.cls.agent or '-':9} {(v.profile or '-')[:12]:12} "
            f"{v.cls.state:18} {v.pane.command[:10]:10} {detail[:60]}"
        )
    return code


async def cmd_fleet(args: argparse.Namespace) -> int:
    return await {"add": fleet_add, "list": fleet_list, "check": fleet_check, "remove": fleet_remove}[
        args.fleet_command
    ](args)


async def fleet_add(args: argparse.Namespace) -> int:
    """Trust on first use, like ssh: an unknown host key is shown and must be accepted explicitly."""
    from dashboard.adapters.config import add_machine
    from dashboard.adapters.ssh import SshLink, UntrustedHostKey
    from dashboard.core.fleet import Machine, check_name

    check_name(args.name, "machine name", malformed=False)
    paths = Paths.from_env()
    registry = load_registry(paths.config_file)
    if args.name in registry.machines and not args.replace:
        raise UsageError(f"machine '{args.name}' is already registered (use --replace to re-record it)")
    if args.port is not None and not 1 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: expected 1-65535")
    if not (0 < args.connect_timeout <= 600 and 0 < args.timeout <= 600):
        raise UsageError("--connect-timeout and --timeout take seconds in (0, 600]")
    draft = Machine(
        args.name, args.address, user=args.user, port=args.port, socket=args.socket,
        connect_timeout=args.connect_timeout, timeout=args.timeout,
    )  # fmt: skip
    link = SshLink(draft, registry.ssh_config, verify=False)
    try:
        try:
            await link.connection()
        except UntrustedHostKey as exc:
            accepted = _accept_key(args, exc)
            link = SshLink(dataclasses.replace(draft, host_key=accepted), registry.ssh_config, verify=False)
            await link.connection()
        identity = link.status.identity
        assert identity is not None
    finally:
        await link.close()
    if args.accept_key and identity.host_key != args.accept_key:
        # known_hosts trusted the key, but it is not the one the operator checked out of band
        raise HostError(f"{args.name}: host key is {identity.host_key}, not the --accept-key {args.accept_key}")
    if identity.tmux_host is not None and identity.tmux_host != identity.hostname:
        raise HostError(
            f"{args.name}: the tmux server answers as {identity.tmux_host!r} but the machine is {identity.hostname!r}"
        )
    if not identity.machine_id:
        raise HostError(f"{args.name}: no /etc/machine-id to record (identity would be unverifiable)")
    machine = dataclasses.replace(
        draft, hostname=identity.hostname, machine_id=identity.machine_id, host_key=identity.host_key
    )
    add_machine(paths.config_file, machine, replace=args.replace)
    if args.json:
        print(json.dumps({**machine.to_json(), "recorded": True, "connect_ms": link.status.connect_ms}))
    else:
        print(f"{machine.name}: recorded in {paths.config_file}")
        print(f"  address    {machine.address}")
        print(f"  hostname   {identity.hostname}")
        print(f"  machine-id {identity.machine_id}")
        print(f"  host key   {identity.host_key}")
        print(f"  tmux       {'server up' if identity.tmux_host else 'no server on that socket yet'}")
    return EXIT_OK


def _accept_key(args: argparse.Namespace, exc: Any) -> str:
    """The presented fingerprint if the operator accepted it (flag or prompt), else refuse (exit 5)."""
    presented = exc.fingerprint
    if presented is None:
        raise exc
    if args.accept_key:
        if args.accept_key != presented:
            raise HostError(f"{args.name}: host key is {presented}, not the --accept-key {args.accept_key}")
        return str(presented)
    if sys.stdin.isatty() and sys.stderr.isatty():
        print(f"{args.name} ({args.address}) presents host key {presented}", file=sys.stderr)
        print("It is not in known_hosts. Check it out of band (ssh-keygen -lf on that machine).", file=sys.stderr)
        answer = input("Trust this key and record the machine? [y/N] ").strip().lower()
        if answer in ("y", "yes"):
            return str(presented)
    raise HostError(
        f"{args.name}: host key {presented} is not in known_hosts; after checking it on the machine"
        f" (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), re-run with --accept-key {presented}"
    )


async def fleet_list(args: argparse.Namespace) -> int:
    registry = load_registry(Paths.from_env().config_file)
    if args.json:
        print(json.dumps([m.to_json() for m in registry.machines.values()]))
        return EXIT_OK
    if not registry.machines:
        print(f"no machines registered (dispatch fleet add NAME ADDRESS; config: {registry.source})")
        return EXIT_OK
    print(f"{'MACHINE':12} {'ADDRESS':24} {'HOSTNAME':16} {'MACHINE-ID':12} HOST KEY")
    for m in registry.machines.values():
        mid = (m.machine_id or "-")[:10] + ("…" if m.machine_id else "")
        print(f"{m.name:12} {m.address[:24]:24} {(m.hostname or '-')[:16]:16} {mid:12} {m.host_key or '-'}")
    return EXIT_OK


async def fleet_check(args: argparse.Namespace) -> int:
    from dashboard.services.fleet import check

    fleet = fleet_from(args)
    names = args.names or list(fleet.registry.machines)
    for name in names:
        fleet.host(name)  # unknown names fail before anything connects
    try:
        results = await asyncio.gather(*(check(fleet, n) for n in names))
    finally:
        await fleet.close()
    if args.json:
        print(json.dumps([r.to_json() for r in results]))
    elif not results:
        print("no machines registered (dispatch fleet add NAME ADDRESS)")
    for r in results if not args.json else ():
        if r.ok:
            tmux = f"tmux up, {r.panes} panes, {r.agents} agents" if r.tmux_up else "no tmux server"
            print(f"{r.name:12} ok       identity verified · {tmux} · {r.elapsed_ms} ms")
        elif r.mismatches:
            print(f"{r.name:12} WRONG    identity mismatch")
            for line in r.mismatches:
                print(f"{'':21}{line}")
        else:
            print(f"{r.name:12} {'FAILED' if r.reachable else 'DOWN':8} {r.error}")
    return EXIT_OK if all(r.ok for r in results) else EXIT_HOST


async def fleet_remove(args: argparse.Namespace) -> int:
    from dashboard.adapters.config import remove_machine

    path = Paths.from_env().config_file
    remove_machine(path, args.name)
    print(json.dumps({"machine": args.name, "removed": True}) if args.json else f"{args.name}: removed from {path}")
    return EXIT_OK


async def cmd_log(args: argparse.Namespace) -> int:
    async with open_store() as store:
        recs = await store.recent(args.limit, batch=args.batch, machine=args.machine)
    if args.json:
        print(json.dumps([{**r.to_json(), "created": r.created, "kind": r.kind} for r in recs], ensure_ascii=False))
        return EXIT_OK
    if not recs:
        print("no sends recorded yet")
    for r in recs:
        when = time.strftime("%m-%d %H:%M:%S", time.localtime(r.created))
        batch = f"b{r.batch}" if r.batch else ""
        prompt = " ⏎ ".join(r.prompt.splitlines())
        what = f"$ {prompt[:40]}" if r.kind == "exec" else repr(prompt[:40])
        verdict = f"{r.verdict} {r.exit_status}" if r.exit_status is not None else str(r.verdict)
        print(
            f"{r.id:>5} {when} {batch:>4} {verdict:18} {r.pane_id or '-':5} {r.target[:16]:16} "
            f"{r.agent or '-':8} {what}"
        )
    return EXIT_OK


async def cmd_show(args: argparse.Namespace) -> int:
    from dashboard.core.diff import plain_lines, unified

    async with open_store() as store:
        rec = await store.get(args.id)
    if rec is None:
        print(f"dispatch: error: no send #{args.id} in the log", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(
            json.dumps(
                {
                    **rec.to_json(),
                    "prompt": rec.prompt,
                    "timings": rec.timings,
                    "snapshots": {k: plain_lines(v) for k, v in rec.snapshots.items()},
                },
                ensure_ascii=False,
            )
        )
        return EXIT_OK
    out = sys.stdout
    out.write(f"send #{rec.id}  {rec.verdict}  {rec.target} ({rec.pane_id or '?'}) on {rec.machine}\n")
    out.write(f"  when      {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(rec.created))}")
    out.write(f"  batch {rec.batch}\n" if rec.batch else "\n")
    out.write(f"  agent     {rec.agent or '-'} (state before: {rec.state_before or '-'})\n")
    out.write(f"  reason    {rec.reason}\n")
    out.write(f"  evidence  {', '.join(rec.evidence) or '-'}\n")
    out.write(f"  attempts  {rec.attempts}   delay {rec.delay_ms} ms   total {rec.elapsed_ms} ms\n")
    if rec.timings:
        out.write("  timings   " + "  ".join(f"{k}={v:g}" for k, v in rec.timings.items()) + "\n")
    prompt_lines = rec.prompt.splitlines() or [""]
    out.write(
        f"  prompt    {prompt_lines[0][:100]!r}"
        + (f" (+{len(prompt_lines) - 1} lines)\n" if len(prompt_lines) > 1 else "\n")
    )
    before, after = rec.snapshots.get("before"), rec.snapshots.get("after")
    if before is not None and after is not None:
        out.write("\n--- before → after (pane screen) ---\n")
        color = out.isatty()
        for line in unified(before, after):
            if color and line.startswith("+") and not line.startswith("+++"):
                line = f"\x1b[32m{line}\x1b[0m"
            elif color and line.startswith("-") and not line.startswith("---"):
                line = f"\x1b[31m{line}\x1b[0m"
            out.write(line + "\n")
    elif before is not None:
        out.write("\n--- screen at inspection (no send happened) ---\n")
        out.write("\n".join(plain_lines(before)[-15:]) + "\n")
    return EXIT_OK


async def cmd_ui(args: argparse.Namespace) -> int:
    _in_range("--interval", args.interval, 0.05, 3600, " seconds")
    from dashboard.ui.app import DispatchApp  # Textual only for the dashboard

    app = DispatchApp(host_from(args), Paths.from_env().db, refresh_interval=args.interval)
    code = await app.run_async()
    return code or 0


async def cmd_demo(args: argparse.Namespace) -> int:
    from dashboard.demo.fleet import DEMO_PROMPT, run_scripted_demo, start_fleet

    if args.script:
        code: int = await run_scripted_demo(keep=args.keep, as_json=args.json)
        return code
    from dashboard.ui.app import DispatchApp  # Textual only for the dashboard

    async def autoplay(app: DispatchApp) -> None:
        """Open with a batch to every demo pane, so a newcomer sees sends land and failures caught."""
        await asyncio.sleep(1.5)
        app.notify("Demo: one prompt to every pane — watch the verdicts land.", title="Dispatch demo")
        app.query_one("#composer").text = DEMO_PROMPT  # type: ignore[attr-defined]
        app.dispatch_prompt(sorted(app.statuses, key=lambda p: int(p.lstrip("%"))), DEMO_PROMPT)

    fleet = await start_fleet()
    try:
        # the demo's sends go to the demo's own log, never into the user's
        app = DispatchApp(fleet.host, fleet.db, on_ready=None if args.no_autoplay else autoplay)
        result = await app.run_async()
    finally:
        if not args.keep:
            await fleet.stop()
    if args.keep:
        print(f"the demo fleet is still running: tmux -L {fleet.socket} attach")
    return result or 0


def human_line(rec: SendRecord) -> str:
    """One line: verdict, where, what was seen, where the evidence is."""
    where = f"{rec.pane_id} ({rec.target})" if rec.pane_id else rec.target
    agent = f" {rec.agent}" if rec.agent else ""
    evidence = f" [{', '.join(rec.evidence)}]" if rec.evidence else ""
    tail = f" · {rec.attempts} attempt{'s' if rec.attempts != 1 else ''}" if rec.attempts else ""
    tail += f" · delay {rec.delay_ms} ms" if rec.delay_ms else ""
    tail += f" · {rec.elapsed_ms} ms"
    show = f" · dispatch show {rec.id}" if rec.id is not None else ""
    return f"{rec.verdict}: {where}{agent} — {rec.reason}{evidence}{tail}{show}"
