"""Commands run inside a long-lived process, their printed output going to whoever asked for them.

The daemon's warm path (cli/warm.py) and the MCP server (cli/commands/mcp.py) run the CLI's very
commands — so their JSON and exit codes are the CLI's — in their own event loop, several at once.
Each runs in a task whose context names its sink; sys.stdout and sys.stderr are replaced once by
routers that send a write to the current task's sink, or where it always went when there is none.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
from typing import Any, Protocol

SINK: contextvars.ContextVar[Sink | None] = contextvars.ContextVar("sink", default=None)


class Sink(Protocol):
    """Where one command's output goes; `tty` is what it is told its stdout is."""

    tty: bool

    def put(self, kind: str, text: str) -> None: ...


class Routed:
    """sys.stdout / sys.stderr: a write goes to the current task's sink, else to the original stream."""

    def __init__(self, default: Any, kind: str) -> None:
        self.default, self.kind = default, kind

    def write(self, text: str) -> int:
        sink = SINK.get()
        if sink is None:
            return int(self.default.write(text))
        sink.put(self.kind, text)
        return len(text)

    def flush(self) -> None:
        if SINK.get() is None:
            self.default.flush()

    def isatty(self) -> bool:
        sink = SINK.get()
        return bool(self.default.isatty()) if sink is None else sink.tty

    def __getattr__(self, name: str) -> Any:
        return getattr(self.default, name)


def install() -> None:
    """Route sys.stdout and sys.stderr (once per process)."""
    if not isinstance(sys.stdout, Routed):
        sys.stdout = Routed(sys.stdout, "out")
    if not isinstance(sys.stderr, Routed):
        sys.stderr = Routed(sys.stderr, "err")


class Buffer:
    """A sink that keeps what a command printed."""

    tty = False

    def __init__(self) -> None:
        self.out: list[str] = []
        self.err: list[str] = []

    def put(self, kind: str, text: str) -> None:
        (self.out if kind == "out" else self.err).append(text)


_PARSER: Any = None


def parse_quietly(argv: list[str], sink: Sink) -> Any:
    """The command line parsed as the CLI would (the parser is built once); argparse's words go to `sink`.

    SystemExit (a usage error, --help) propagates with its code.
    """
    from dashboard.cli.parser import build_parser
    from dashboard.cli.run import parse

    global _PARSER
    _PARSER = _PARSER or build_parser()
    token = SINK.set(sink)
    try:
        return parse(argv, _PARSER)
    finally:
        SINK.reset(token)


async def run_argv(argv: list[str]) -> tuple[int, str, str]:
    """Run `dispatch ARGV` here: (exit code, stdout, stderr) exactly as the CLI would have printed them."""
    from dashboard.cli.run import run

    install()
    buf = Buffer()
    try:
        args = parse_quietly(argv, buf)
    except SystemExit as stop:
        return int(stop.code or 0) if isinstance(stop.code, int) else 2, "".join(buf.out), "".join(buf.err)

    async def job() -> int:
        SINK.set(buf)
        return await run(args)

    code = await asyncio.ensure_future(job())  # a task of its own: its context, its sink
    return code, "".join(buf.out), "".join(buf.err)
