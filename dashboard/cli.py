"""`dispatch …`: the services from the command line, with JSON output and distinct exit codes.

Exit codes: 0 delivered (submitted or queued), 2 usage error, 3 refused by a guard, 4 not
delivered (stuck, not received, unrecognised), 5 host unreachable or wrong identity, 1 anything else.
Heavy modules (Textual) are imported only by the commands that need them, so one-shot commands
start fast.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from dashboard import __version__
from dashboard.adapters.paths import Paths
from dashboard.adapters.store_errors import StoreError
from dashboard.adapters.tmux import LocalTmux, TmuxError
from dashboard.core.model import SendRecord, Verdict
from dashboard.core.timing import DelayPolicy, TimingError

if TYPE_CHECKING:
    from dashboard.adapters.store import Store

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_REFUSED, EXIT_UNDELIVERED, EXIT_HOST = 0, 1, 2, 3, 4, 5


class UsageError(Exception):
    """Bad arguments or unreadable input: exit 2, nothing sent, nothing recorded."""


def exit_code(verdict: Verdict) -> int:
    if verdict.delivered:
        return EXIT_OK
    if verdict is Verdict.REFUSED:
        return EXIT_REFUSED
    if verdict.undelivered:
        return EXIT_UNDELIVERED
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
    g = p.add_argument_group("timing (flags win over DISPATCH_* environment variables)")
    g.add_argument("--delay-ms", type=float, metavar="MS", help="fixed paste→submit delay (DISPATCH_ENTER_DELAY_MS)")
    g.add_argument("--delay-floor-ms", type=float, metavar="MS", help="delay floor, 150 (DISPATCH_DELAY_FLOOR_MS)")
    g.add_argument("--delay-ceil-ms", type=float, metavar="MS", help="delay ceiling, 4000 (DISPATCH_DELAY_CEIL_MS)")
    g.add_argument("--ms-per-word", type=float, metavar="MS", help="delay per word, 9 (DISPATCH_MS_PER_WORD)")
    g.add_argument("--ms-per-char", type=float, metavar="MS", help="delay per char, 0.6 (DISPATCH_MS_PER_CHAR)")
    g.add_argument("--retries", type=int, default=2, metavar="N", help="extra submit keys when text stays (2)")
    g.add_argument("--verify-ms", type=int, default=5000, metavar="MS", help="how long to look for evidence (5000)")
    g.add_argument("--max-bytes", type=int, default=256 * 1024, metavar="N", help="largest prompt accepted")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dispatch",
        description="Send prompts to AI coding agents in tmux panes, and prove they were submitted.",
        epilog="exit codes: 0 delivered · 2 usage · 3 refused · 4 not delivered · 5 host unreachable · 1 other",
    )
    parser.add_argument("--version", action="version", version=f"dispatch {__version__}")
    _server_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("send", help="send a prompt to one agent pane and verify it was submitted")
    _server_options(p, top=False)
    p.add_argument("target", help="pane: %%12 or session:window.pane")
    p.add_argument("prompt", nargs="?", help="the prompt (or -f FILE)")
    _send_options(p)

    p = sub.add_parser("batch", help="send one prompt to many panes at once")
    _server_options(p, top=False)
    p.add_argument("targets", nargs="+", help="panes: %%12 or session:window.pane")
    p.add_argument("-m", "--prompt", dest="prompt", help="the prompt text (or -f FILE)")
    _send_options(p)

    p = sub.add_parser("resend", help="send a logged prompt again to the same pane (Enter only if it is stuck)")
    _server_options(p, top=False)
    p.add_argument("id", type=int)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("panes", help="every pane of the tmux server: agent, state, composer text")
    _server_options(p, top=False)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("log", help="recent sends with verdicts")
    p.add_argument("--json", action="store_true")
    p.add_argument("-n", type=int, default=50, dest="limit", help="how many (50)")
    p.add_argument("--batch", type=int, help="only this batch")

    p = sub.add_parser("show", help="one send: verdict, evidence, timings, before/after diff")
    p.add_argument("id", type=int)
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
    args = parser.parse_args(argv)
    if args.command is None:
        args.command, args.interval = "ui", 1.0
    try:
        return asyncio.run(_dispatch(args))
    except UsageError as exc:
        print(f"dispatch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (TimingError, ValueError) as exc:
        print(f"dispatch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as exc:
        sent = " (nothing was sent)" if args.command in ("send", "batch") else ""
        print(f"dispatch: error: {exc}{sent}", file=sys.stderr)
        return EXIT_ERROR
    except TmuxError as exc:
        print(f"dispatch: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("dispatch: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `dispatch log | head`: the reader left; say nothing more (and let exit not flush into it)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


async def _dispatch(args: argparse.Namespace) -> int:
    handler = {
        "send": cmd_send,
        "batch": cmd_batch,
        "panes": cmd_panes,
        "log": cmd_log,
        "show": cmd_show,
        "demo": cmd_demo,
        "ui": cmd_ui,
        "resend": cmd_resend,
    }[args.command]
    return await handler(args)


def host_from(args: argparse.Namespace) -> LocalTmux:
    return LocalTmux(socket_name=getattr(args, "socket_name", None), socket_path=getattr(args, "socket_path", None))


def read_prompt(args: argparse.Namespace) -> str:
    """The prompt from the argument, a file, or stdin; unreadable input is a usage error."""
    if args.prompt is not None and args.file:
        raise UsageError("give the prompt as an argument or with -f, not both")
    if args.file:
        try:
            data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read prompt file {args.file}: {exc.strerror or exc}") from None
        try:
            return data.decode()
        except UnicodeDecodeError as exc:
            raise UsageError(f"prompt file {args.file} is not UTF-8 text (byte {exc.start})") from None
    if args.prompt is None:
        raise UsageError("no prompt: give it as an argument or with -f FILE")
    return str(args.prompt)


def send_options(args: argparse.Namespace) -> Any:
    from dashboard.services.send import SendOptions

    policy = DelayPolicy().overridden(
        os.environ,
        fixed_ms=args.delay_ms,
        floor_ms=args.delay_floor_ms,
        ceil_ms=args.delay_ceil_ms,
        ms_per_word=args.ms_per_word,
        ms_per_char=args.ms_per_char,
    )
    if args.retries < 0 or args.verify_ms < 0 or args.max_bytes <= 0 or args.timeout < 0:
        raise UsageError("--retries, --verify-ms, --timeout must be >= 0 and --max-bytes > 0")
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
    )


def open_store() -> Store:
    """The log at DISPATCH_HOME; DISPATCH_DB_BUSY_MS bounds the wait for another writer (3000)."""
    from dashboard.adapters.store import Store  # aiosqlite only for the commands that use the log

    busy = os.environ.get("DISPATCH_DB_BUSY_MS", "").strip()
    try:
        busy_ms = int(busy) if busy else 3000
    except ValueError:
        raise UsageError(f"DISPATCH_DB_BUSY_MS={busy!r} is not a whole number of milliseconds") from None
    return Store(Paths.from_env().db, busy_timeout_ms=busy_ms)


async def cmd_send(args: argparse.Namespace) -> int:
    from dashboard.services.send import send

    prompt = read_prompt(args)
    opts = send_options(args)
    async with open_store() as store:
        rec = await send(host_from(args), store, args.target, prompt, opts)
    print(json.dumps(rec.to_json(), ensure_ascii=False) if args.json else human_line(rec))
    return exit_code(rec.verdict)


async def cmd_batch(args: argparse.Namespace) -> int:
    from dashboard.services.batch import BatchSummary, run_batch

    prompt = read_prompt(args)
    opts = send_options(args)
    started = time.monotonic()
    summary: BatchSummary | None = None
    async with open_store() as store:
        async for rec in run_batch(host_from(args), store, args.targets, prompt, opts):
            assert rec.batch is not None
            summary = summary or BatchSummary(rec.batch, len(args.targets))
            summary.counts[str(rec.verdict)] += 1
            print(json.dumps(rec.to_json(), ensure_ascii=False) if args.json else human_line(rec), flush=True)
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
    if Verdict.ERROR in verdicts:
        return EXIT_ERROR
    return EXIT_REFUSED


async def cmd_resend(args: argparse.Namespace) -> int:
    from dashboard.services.send import SendOptions, resend

    async with open_store() as store:
        old = await store.get(args.id)
        if old is None:
            raise UsageError(f"no send #{args.id} in the log")
        if not old.pane_id:
            raise UsageError(f"send #{args.id} never reached a pane ({old.reason}); nothing to re-send to")
        rec = await resend(host_from(args), store, old, SendOptions())
    print(json.dumps(rec.to_json(), ensure_ascii=False) if args.json else human_line(rec))
    return exit_code(rec.verdict)


async def cmd_panes(args: argparse.Namespace) -> int:
    from dashboard.services.panes import survey

    host = host_from(args)
    views = await survey(host)
    if args.json:
        print(json.dumps([v.to_json() for v in views], ensure_ascii=False))
        return EXIT_OK
    if not views:
        print(f"no panes on {host.describe()}")
        return EXIT_OK
    print(f"{'PANE':6} {'TARGET':18} {'AGENT':9} {'STATE':18} {'COMMAND':10} COMPOSER / LAST LINE")
    for v in views:
        detail = v.cls.composer if v.cls.composer else v.cls.last_line
        detail = " ⏎ ".join((detail or "").splitlines())
        print(
            f"{v.pane.pane_id:6} {v.pane.target[:18]:18} {v.cls.agent or '-':9} {v.cls.state:18} "
            f"{v.pane.command[:10]:10} {detail[:60]}"
        )
    return EXIT_OK


async def cmd_log(args: argparse.Namespace) -> int:
    async with open_store() as store:
        recs = await store.recent(args.limit, batch=args.batch)
    if args.json:
        print(json.dumps([{**r.to_json(), "created": r.created} for r in recs], ensure_ascii=False))
        return EXIT_OK
    if not recs:
        print("no sends recorded yet")
    for r in recs:
        when = time.strftime("%m-%d %H:%M:%S", time.localtime(r.created))
        batch = f"b{r.batch}" if r.batch else ""
        prompt = " ⏎ ".join(r.prompt.splitlines())
        print(
            f"{r.id:>5} {when} {batch:>4} {r.verdict:18} {r.pane_id or '-':5} {r.target[:16]:16} "
            f"{r.agent or '-':8} {prompt[:40]!r}"
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
        app = DispatchApp(fleet.host, Paths.from_env().db, on_ready=None if args.no_autoplay else autoplay)
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
    return f"{rec.verdict}: {where}{agent} — {rec.reason}{evidence}{tail} · dispatch show {rec.id}"
