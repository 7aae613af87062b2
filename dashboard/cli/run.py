"""`dispatch …` run in this process (the cold path; the exit codes are in cli/codes.py).

Heavy modules (Textual) are imported only by the commands that need them, so one-shot commands
start fast.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from dashboard.adapters.agent_files import load_agents
from dashboard.adapters.paths import Paths
from dashboard.cli.args import check_text_args
from dashboard.cli.commands import command
from dashboard.cli.context import server_argv
from dashboard.cli.exits import EXIT_INTERRUPTED, EXIT_OK, failure
from dashboard.cli.parser import COMMANDS, build_parser
from dashboard.core.agents import AgentProfileError, use


def parse(argv: Sequence[str] | None = None, parser: argparse.ArgumentParser | None = None) -> argparse.Namespace:
    """The command line as the commands take it (a usage error exits 2 through argparse).

    `parser`: one built before (the daemon keeps one for every client: building it costs ~10 ms).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = parser or build_parser(_sole_command(argv))
    words: list[str] | None = None
    at = _command_at(argv)
    if at is not None and argv[at] == "exec" and "--" in argv[at:]:
        # `dispatch exec [options] TARGET [options] -- COMMAND…`: everything after -- is the command
        cut = argv.index("--", at)
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
        args.command, args.interval, args.notify, args.feed = "ui", 1.0, None, "auto"
    return args


def _sole_command(argv: list[str]) -> str | None:
    """The command, when only -L NAME / -S PATH come before its word: then its grammar alone parses the line.

    Everything after the command word goes to that command's subparser, and those options before it
    mean the same whichever subparsers exist. Anything else first (--help, --version, a typo) may need
    the whole grammar (the list of commands, "invalid choice"): None, and the whole parser is built.
    """
    i = 0
    while i + 1 < len(argv) and argv[i] in ("-L", "-S") and not argv[i + 1].startswith("-"):
        i += 2
    word = argv[i] if i < len(argv) else None
    return word if word in COMMANDS else None


def _command_at(argv: list[str]) -> int | None:
    """Where the command word is: past the global options (`-L NAME`, `-S PATH` take a value)."""
    i = 0
    while i < len(argv):
        if argv[i] in ("-L", "-S"):
            i += 2
        elif argv[i].startswith("-"):
            i += 1
        else:
            return i
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """The command, run in this process (the cold path; cli/warm.py hands it to a daemon when one serves)."""
    args = parse(argv)
    if args.command == "daemon" and args.action == "run":
        # the daemon owns the main thread: its event loop handles SIGTERM/SIGINT (only possible there)
        from dashboard.cli.commands.schedule import daemon_extras
        from dashboard.services.daemon import run_foreground

        try:
            use(load_agents(Paths.from_env()))
            return run_foreground(Paths.from_env(), server_argv(args), also=daemon_extras(args))
        except (OSError, AgentProfileError) as exc:
            code, line = failure(exc, args.command)
            print(line, file=sys.stderr)
            return code
    try:
        return asyncio.run(_dispatch(args))
    except KeyboardInterrupt:
        print("dispatch: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `dispatch log | head`: the reader left; say nothing more (and let exit not flush into it)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:
        code, line = failure(exc, args.command)
        print(line, file=sys.stderr)
        return code


async def run(args: argparse.Namespace) -> int:
    """One parsed command in a running loop (the warm path): what went wrong becomes its line and code."""
    try:
        return await _dispatch(args)
    except Exception as exc:
        code, line = failure(exc, args.command)
        print(line, file=sys.stderr)
        return code


async def _dispatch(args: argparse.Namespace) -> int:
    check_text_args(args)
    use(load_agents(Paths.from_env()))  # the user's agent profiles too (a bad one: exit 6, its file named)
    return await command(args.command)(args)
