"""The warm path: a running daemon runs the command, so a send costs its delay, not Python's start-up.

A CLI process spends ~100 ms importing asyncio, the services and their adapters before it sends a
key. The daemon has them loaded: the client (this module's top half, standard library only) hands it
the command line over the daemon's Unix socket and prints what comes back. The server (the bottom
half, in the daemon) runs the very same command code (cli/run.py) with its output routed to that
client. Whatever the daemon cannot do exactly as this process would — another code version, another
environment, a prompt on stdin, a command that is not served — it declines before starting, and the
command runs here instead: same output, same exit codes, either way.

Protocol: one JSON object per line, over `daemon.sock` in the state directory (0600, the peer's uid
checked):
  → {"argv": [...], "cwd": ..., "tty": bool, "key": {...}}     the command and what it depends on
  ← {"decline": why}      nothing was started: the client runs the command itself
  ← {"run": pid}          started there: from now on the client never runs it itself
  ← {"out": text} | {"err": text}    as printed, in order
  ← {"exit": code}
The client going away (Ctrl-C, killed) cancels the command in the daemon, as Ctrl-C would here.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import sys

from dashboard.cli.codes import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK

TYPE_CHECKING = False  # not typing's: importing typing alone costs the client ~3 ms
if TYPE_CHECKING:
    import asyncio
    from collections.abc import Sequence
    from typing import Any

    from dashboard.adapters.paths import Paths

SERVED = frozenset({"send", "batch", "resend", "canary", "panes", "log", "show"})
"""Commands the daemon runs for a client: the ones that touch panes or read the log, run often, by scripts."""
SOCKET = "daemon.sock"
_ENV = ("HOME", "PATH", "TMUX_TMPDIR", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "TZ", "LANG", "LC_ALL", "LC_CTYPE",
        "SSH_AUTH_SOCK", "USER", "LOGNAME", "PYTHONIOENCODING")  # fmt: skip
"""Besides DISPATCH_*: what a command's result can depend on (which tmux, which SSH agent and login, output)."""


def key() -> dict[str, str]:
    """What a command's result depends on besides its arguments: the code and the environment.

    `TMUX` counts by its socket only (which server `tmux` talks to by default), not by the pane.
    """
    env = {k: v for k, v in os.environ.items() if k.startswith("DISPATCH_") or k in _ENV}
    env["TMUX"] = os.environ.get("TMUX", "").split(",")[0]
    return {**env, "": _code()}


def _code() -> str:
    """The package's code as installed now: its files' count, total size and newest change."""
    import dashboard

    n = size = newest = 0
    stack = [os.path.dirname(dashboard.__file__)]
    while stack:
        with os.scandir(stack.pop()) as it:
            for e in it:
                if e.is_dir(follow_symlinks=False):
                    if e.name != "__pycache__":
                        stack.append(e.path)
                elif e.name.endswith((".py", ".toml", ".js")):
                    st = e.stat()
                    n, size, newest = n + 1, size + st.st_size, max(newest, st.st_mtime_ns)
    return f"{dashboard.__version__}:{n}:{size}:{newest}"


def socket_path() -> str:
    home = os.environ.get("DISPATCH_HOME")
    return os.path.join(home or _data_dir(), SOCKET)


def _data_dir() -> str:
    """The state directory adapters/paths.py gets from platformdirs, found here without it on Linux.

    Importing platformdirs (with its pathlib, tempfile, shutil, random) cost the client ~9 ms. Its
    Linux rule is $XDG_DATA_HOME when that is an absolute path, else ~/.local/share; then `dispatch`.
    Were it ever to differ, the guess costs speed only: no daemon listens there, or one whose
    environment (HOME and XDG_* are in the key) is not ours declines; a daemon that serves this
    client found its own state directory with platformdirs, from this very environment.
    """
    if sys.platform == "linux":
        base = os.environ.get("XDG_DATA_HOME", "")
        return os.path.join(base if os.path.isabs(base) else os.path.expanduser("~/.local/share"), "dispatch")
    import platformdirs

    return platformdirs.user_data_dir("dispatch", appauthor=False)


# ----- the client -----------------------------------------------------------------------------------


def client(argv: Sequence[str] | None = None) -> int | None:
    """Run the command in the daemon and return its exit code; None: run it here (nothing was started)."""
    words = list(sys.argv[1:] if argv is None else argv)
    if os.environ.get("DISPATCH_NO_DAEMON") or not SERVED.intersection(words):
        return None
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    except OSError:
        return None
    with sock:
        try:
            sock.connect(socket_path())
            if _peer_uid(sock) != os.getuid():
                return None  # a socket another user made in our place: never hand it a prompt
        except OSError:
            return None  # no daemon (or not ours): the usual case
        started = False
        out, err = sys.stdout, sys.stderr
        broken: OSError | None = None  # our own stdout failed: the command still runs to its end there, unseen
        try:
            tty = bool(out is not None and out.isatty())
            request = {"argv": words, "cwd": os.getcwd(), "tty": tty, "key": key()}
            sock.sendall(json.dumps(request).encode() + b"\n")
            for line in sock.makefile("rb"):
                msg = json.loads(line)
                if "decline" in msg and not started:
                    return None
                if "run" in msg:
                    started = True
                elif "exit" in msg:
                    if isinstance(broken, BrokenPipeError):
                        return EXIT_OK  # `dispatch log | head`: the reader left, as it would have here
                    if broken is not None:
                        print(f"dispatch: error: cannot write the output: {broken}", file=err or sys.__stderr__)
                        return EXIT_ERROR
                    return int(msg["exit"])
                elif broken is None and ("out" in msg or "err" in msg):
                    stream = out if "out" in msg else err
                    try:
                        if stream is not None:
                            stream.write(msg.get("out", msg.get("err", "")))
                            stream.flush()
                    except (OSError, ValueError) as exc:
                        broken = exc if isinstance(exc, OSError) else OSError(str(exc))
        except KeyboardInterrupt:
            print("dispatch: interrupted", file=err or sys.__stderr__)
            return EXIT_INTERRUPTED
        except (OSError, ValueError):
            pass
    if not started:
        return None
    print(
        "dispatch: error: the daemon running this command stopped before it finished;"
        " what it reached is in `dispatch log` (do not re-send blindly)",
        file=sys.stderr or sys.__stderr__,
    )
    return EXIT_ERROR


def _peer_uid(sock: socket.socket) -> int:
    import struct

    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])


# ----- the server (in the daemon) -------------------------------------------------------------------


class _Sink:
    """One client's end: printed text as JSON lines, in order."""

    def __init__(self, writer: asyncio.StreamWriter, tty: bool) -> None:
        self.writer, self.tty = writer, tty

    def put(self, kind: str, text: str) -> None:
        if text and not self.writer.is_closing():
            self.writer.write(json.dumps({kind: text}).encode() + b"\n")


async def serve(paths: Paths, stop: asyncio.Event) -> None:
    """Serve clients on the state directory's socket until `stop` (the daemon holds its lock: one server)."""
    import asyncio

    from dashboard.cli.capture import install
    from dashboard.services.daemon import STOP_GRACE  # a stopping daemon lets its runs and its clients finish

    path = os.path.join(str(paths.data), SOCKET)
    if os.stat(paths.data).st_mode & 0o022:
        print(f"warm path off: {paths.data} is writable by others (another user could stand in for the daemon)")
        await stop.wait()
        return
    mine = key()
    install()
    active: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            active.add(task)
        try:
            await _serve_one(reader, writer, mine)
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            if task is not None:
                active.discard(task)

    if os.path.exists(path):
        os.unlink(path)  # left by a daemon that was killed: the lock we hold says it is gone
    old = os.umask(0o177)
    try:
        server = await asyncio.start_unix_server(handle, path=path, limit=1 << 24)
    finally:
        os.umask(old)
    try:
        await stop.wait()
    finally:
        server.close()  # no new clients; those running finish (a stopping daemon lets its runs finish too)
        if os.path.exists(path):
            os.unlink(path)
        if active:
            await asyncio.wait(set(active), timeout=STOP_GRACE)


async def _serve_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, mine: dict[str, str]) -> None:
    import asyncio

    from dashboard.cli.capture import SINK

    if _peer_uid(writer.get_extra_info("socket")) != os.getuid():
        return
    request = json.loads(await reader.readline())
    args, why = _parse(request, mine)
    if args is None:
        writer.write(json.dumps({"decline": why}).encode() + b"\n")
        await writer.drain()
        return
    writer.write(json.dumps({"run": os.getpid()}).encode() + b"\n")
    await writer.drain()

    from dashboard.cli.run import run

    SINK.set(_Sink(writer, bool(request.get("tty"))))
    task = asyncio.ensure_future(run(args))  # a copy of this context: its prints go to this client
    gone = asyncio.ensure_future(reader.read(1))  # the client sends nothing more: EOF means it left
    await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
    if not task.done():  # Ctrl-C or killed: stop the command as an interrupt would stop it there
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return
    gone.cancel()
    code = EXIT_INTERRUPTED if task.cancelled() else task.result()
    writer.write(json.dumps({"exit": code}).encode() + b"\n")
    await writer.drain()


def _parse(request: dict[str, Any], mine: dict[str, str]) -> tuple[Any, str]:
    """The request's parsed command, or None and why the client should run it itself."""
    from dashboard.cli.capture import Buffer, parse_quietly

    if request.get("key") != mine:
        theirs = request.get("key") or {}
        diff = sorted(k or "code" for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))
        return None, f"another {'code version' if diff == ['code'] else 'environment: ' + ', '.join(diff)}"
    try:  # argparse's own words are dropped: the client prints them when it runs the command itself
        args = parse_quietly([str(a) for a in request.get("argv", [])], Buffer())
    except SystemExit:
        return None, "not a command the daemon runs as given"
    if args.command not in SERVED:
        return None, f"{args.command} is run by the client"
    cwd = str(request.get("cwd", ""))
    for name in ("file", "socket_path", "transcript"):  # every path the client gave, as the client meant it
        value = getattr(args, name, None)
        if value is not None and value != "-" and not os.path.isabs(str(value)):
            setattr(args, name, type(value)(os.path.join(cwd, str(value))))
    file = getattr(args, "file", None)
    if file == "-":
        return None, "the prompt comes on the client's stdin"
    if file is not None:
        try:  # a pipe, a FIFO or a device would be read here, in the daemon's loop, or not at all
            regular = stat.S_ISREG(os.stat(file).st_mode)
        except OSError:
            regular = False
        if not regular:
            return None, "the prompt file is not a regular file the daemon can read"
    return args, ""
