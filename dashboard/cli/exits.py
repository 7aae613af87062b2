"""Exit codes, and the one table that turns what went wrong into a line and a code.

0 delivered (submitted or queued) · 1 other · 2 usage · 3 refused by a guard · 4 not delivered
(stuck, not received, unrecognised) · 5 host unreachable or wrong identity · 6 malformed config ·
7 `exec --wait`: the command ran and failed.
"""

from __future__ import annotations

from dashboard.cli.codes import (  # the codes' one home is codes.py; re-exported for the commands
    EXIT_COMMAND_FAILED as EXIT_COMMAND_FAILED,
)
from dashboard.cli.codes import (
    EXIT_CONFIG as EXIT_CONFIG,
)
from dashboard.cli.codes import (
    EXIT_ERROR as EXIT_ERROR,
)
from dashboard.cli.codes import (
    EXIT_HOST as EXIT_HOST,
)
from dashboard.cli.codes import (
    EXIT_INTERRUPTED as EXIT_INTERRUPTED,
)
from dashboard.cli.codes import (
    EXIT_OK as EXIT_OK,
)
from dashboard.cli.codes import (
    EXIT_REFUSED as EXIT_REFUSED,
)
from dashboard.cli.codes import (
    EXIT_UNDELIVERED as EXIT_UNDELIVERED,
)
from dashboard.cli.codes import (
    EXIT_USAGE as EXIT_USAGE,
)
from dashboard.core.agents import AgentProfileError
from dashboard.core.model import Verdict
from dashboard.core.ports import HostError, LogNotWritten, StoreError, TmuxError
from dashboard.core.registry import RegistryError
from dashboard.core.timing import TimingError


class UsageError(Exception):
    """Bad arguments or unreadable input: exit 2, nothing sent, nothing recorded."""


def exit_code(verdict: Verdict) -> int:
    """A delivery's verdict as the process's exit code."""
    if verdict.delivered:
        return EXIT_OK
    if verdict is Verdict.REFUSED:
        return EXIT_REFUSED
    if verdict.undelivered:
        return EXIT_UNDELIVERED
    if verdict.host_failure:
        return EXIT_HOST
    return EXIT_ERROR


def batch_exit_code(verdicts: list[Verdict]) -> int:
    """A batch's exit code: 0 only when every target was delivered, else its worst kind of failure."""
    if all(v.delivered for v in verdicts):
        return EXIT_OK
    if any(v.undelivered for v in verdicts):
        return EXIT_UNDELIVERED
    if any(v.host_failure for v in verdicts):
        return EXIT_HOST
    if Verdict.ERROR in verdicts:
        return EXIT_ERROR
    return EXIT_REFUSED


def failure(exc: Exception, command: str) -> tuple[int, str]:
    """What a command that raised `exc` prints (one line, no traceback) and the code it exits with.

    The order matters: the most specific kinds first (a LogNotWritten is a StoreError that must
    never say "nothing was sent"; a NoServer is a TmuxError).
    """
    if isinstance(exc, UsageError | TimingError):
        return EXIT_USAGE, f"dispatch: error: {exc}"
    if isinstance(exc, RegistryError):
        return (EXIT_CONFIG if exc.malformed else EXIT_USAGE), f"dispatch: error: {exc}"
    if isinstance(exc, AgentProfileError):
        return EXIT_CONFIG, f"dispatch: error: {exc}"
    if isinstance(exc, LogNotWritten):  # the pane was reached: the message says how far
        return EXIT_ERROR, f"dispatch: error: {exc}"
    if isinstance(exc, StoreError):
        sent = " (nothing was sent)" if command in ("send", "batch", "exec", "canary") else ""
        return EXIT_ERROR, f"dispatch: error: {exc}{sent}"
    if isinstance(exc, HostError):
        return EXIT_HOST, f"dispatch: error: {exc}"
    if isinstance(exc, TmuxError):
        return EXIT_ERROR, f"dispatch: error: {exc}"
    if isinstance(exc, OSError):
        # a file or directory the command needed (the state directory, its pidfile…): which one
        return EXIT_ERROR, f"dispatch: error: {os_error_line(exc)}"
    # not a usage error (those are UsageError / TimingError / RegistryError): a bug, said in one line
    detail = " ".join(str(exc).split())
    return EXIT_ERROR, f"dispatch: internal error: {type(exc).__name__}: {detail}"


def os_error_line(exc: OSError) -> str:
    return f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc)
