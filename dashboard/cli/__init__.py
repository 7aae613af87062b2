"""`dispatch …`: the services from the command line, with JSON output and distinct exit codes (cli/codes.py).

A running daemon serves the commands that touch panes (cli/warm.py): the command line is handed to it
over a Unix socket, and this process imports almost nothing. With no daemon, or one that cannot serve
this command as this process would, the command runs here (cli/run.py) — same output, same codes.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    try:
        from dashboard.cli import warm

        code = warm.client(argv)
        if code is not None:
            return code
        from dashboard.cli.run import main as run_here  # ~100 ms of imports: Ctrl-C may land in them

        return run_here(argv)
    except KeyboardInterrupt:
        import sys

        from dashboard.cli.codes import EXIT_INTERRUPTED

        print("dispatch: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
