"""`dispatch …`: the services from the command line, with JSON output and distinct exit codes (cli/codes.py).

A running daemon serves the commands that touch panes (cli/warm.py): the command line is handed to it
over a Unix socket, and this process imports almost nothing. With no daemon, or one that cannot serve
this command as this process would, the command runs here (cli/run.py) — same output, same codes.
"""

from __future__ import annotations

import gc
import sys

TYPE_CHECKING = False  # not typing's: the warm client imports as little as it can (cli/warm.py)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    try:
        from dashboard.cli import warm

        code = warm.client(argv)
        if code is not None:
            return code
        return _run_here()(argv)
    except KeyboardInterrupt:
        from dashboard.cli.codes import EXIT_INTERRUPTED

        print("dispatch: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _run_here() -> Callable[[Sequence[str] | None], int]:
    """cli/run.py's main (~100 ms of imports: Ctrl-C may land in them), imported with the collector paused.

    The first import makes ~33k objects (modules, classes, functions) that live as long as the process:
    the ~40 collections it would trigger walk them to find next to nothing (~8 ms of a cold command).
    Frozen once imported, no later collection walks them again, the one at exit included; the collector
    runs as usual for the command itself.
    """
    paused = "dashboard.cli.run" not in sys.modules and gc.isenabled()  # imported once: later calls pay nothing
    if paused:
        gc.disable()
    try:
        from dashboard.cli.run import main as run_here
    finally:
        if paused:
            gc.freeze()
            gc.enable()
    return run_here
