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

import _socket
import os
import sys

from dashboard.cli.codes import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK

try:  # json's C half: the json package (with re and enum behind it) cost the client ~9 ms, socket's class ~4 ms
    from _json import encode_basestring_ascii as _quoted
    from _json import scanstring as _scanned
except ImportError:  # a Python without it: the json package's own
    import json

    def _quoted(s: str, /) -> str:
        return json.dumps(s)

    def _scanned(string: str, end: int, strict: bool = True) -> tuple[str, int]:  # `end`: past the quote
        value, at = json.JSONDecoder(strict=strict).raw_decode(string, end - 1)
        return str(value), at


TYPE_CHECKING = False  # not typing's: importing typing alone costs the client ~3 ms
if TYPE_CHECKING:
    import asyncio
    import socket
    from collections.abc import Iterator, Sequence
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
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    except OSError:
        return None
    try:
        return _through(sock, words)
    finally:
        sock.close()


def _through(sock: _socket.socket, words: list[str]) -> int | None:
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
        sock.sendall(_json_text(request).encode() + b"\n")
        for line in _lines(sock):
            kind, value = _message(line)
            if kind == "decline" and not started:
                return None
            if kind == "run":
                started = True
            elif kind == "exit":
                if isinstance(broken, BrokenPipeError):
                    return EXIT_OK  # `dispatch log | head`: the reader left, as it would have here
                if broken is not None:
                    print(f"dispatch: error: cannot write the output: {broken}", file=err or sys.__stderr__)
                    return EXIT_ERROR
                return int(value)
            elif broken is None and kind in ("out", "err"):
                stream = out if kind == "out" else err
                try:
                    if stream is not None:
                        stream.write(str(value))
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


def _lines(sock: _socket.socket) -> Iterator[str]:
    """The server's lines as they come (a `panes --json` line can be megabytes: read in large pieces)."""
    pieces: list[bytes] = []
    while chunk := sock.recv(1 << 18):
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            pieces.append(chunk[start:end])
            yield b"".join(pieces).decode()
            pieces, start = [], end + 1
        if start < len(chunk):
            pieces.append(chunk[start:])


def _json_text(value: object) -> str:
    """JSON for the request (strings, lists, dicts, booleans), as json.dumps writes it: ASCII, escaped."""
    if isinstance(value, str):
        return str(_quoted(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_json_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_quoted(str(k))}: {_json_text(v)}" for k, v in value.items()) + "}"
    raise ValueError(f"not in the warm request's JSON: {type(value).__name__}")


def _message(line: str) -> tuple[str, str | int]:
    """One server line, `{"kind": "text"}` or `{"kind": 7}` (what `_Sink` and `_serve_one` write)."""
    kind, end = _scanned(line, line.index('"') + 1)
    rest = line[end:].lstrip(" :")
    if rest.startswith('"'):
        return str(kind), str(_scanned(rest, 1)[0])
    return str(kind), int(rest.rstrip().removesuffix("}"))


def _peer_uid(sock: _socket.socket | socket.socket) -> int:
    """The uid at the other end (SO_PEERCRED: pid, then uid and gid as native unsigned ints)."""
    creds = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
    return int.from_bytes(creds[4:8], sys.byteorder)


# ----- the server (in the daemon) -------------------------------------------------------------------


class _Sink:
    """One client's end: printed text as JSON lines, in order."""

    def __init__(self, writer: asyncio.StreamWriter, tty: bool) -> None:
        self.writer, self.tty = writer, tty

    def put(self, kind: str, text: str) -> None:
        import json

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
    import json

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
    import stat

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
