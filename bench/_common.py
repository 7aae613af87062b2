"""Shared plumbing for the bench scripts: private tmux servers, fake agents, stats, load, cleanup.

Every tmux server a bench starts is named `dispatch-bench-<script>-<pid>-<token>` and is killed
(`tmux -L NAME kill-server`) on normal exit, on an exception, on Ctrl-C and on SIGTERM/SIGHUP.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import secrets
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine, Iterable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

STYLES = ("claude", "codex", "gemini")

_SERVERS: list[TmuxServer] = []
_TEMPDIRS: list[tempfile.TemporaryDirectory[str]] = []


# ----- cleanup ----------------------------------------------------------------------------------------


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    # turn SIGTERM/SIGHUP into the same path as Ctrl-C so every finally block runs
    raise KeyboardInterrupt(f"signal {signum}")


def install_cleanup() -> None:
    """Kill every private server at exit, and treat SIGTERM/SIGHUP like Ctrl-C."""
    # a background job of a non-interactive shell inherits SIGINT ignored; Ctrl-C must still clean up
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    atexit.register(cleanup_all)


def cleanup_all() -> None:
    while _SERVERS:
        _SERVERS.pop().kill()
    while _TEMPDIRS:
        with contextlib.suppress(OSError):
            _TEMPDIRS.pop().cleanup()


def tempdir(prefix: str) -> Path:
    """A temporary directory removed at exit (also on Ctrl-C)."""
    td = tempfile.TemporaryDirectory(prefix=prefix)
    _TEMPDIRS.append(td)
    return Path(td.name)


class TmuxServer:
    """A private tmux server on a unique -L socket name; `kill()` is idempotent and waits for the socket."""

    def __init__(self, tag: str) -> None:
        self.name = f"dispatch-bench-{tag}-{os.getpid()}-{secrets.token_hex(3)}"
        self.alive = False
        _SERVERS.append(self)

    def tmux(self, *args: str, check: bool = True, timeout: float = 30.0) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.name, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"tmux {args[0]} failed: {done.stderr.strip()}")
        return done.stdout

    def start(self, windows: Sequence[str], *, session: str = "b", size: tuple[int, int] = (120, 40)) -> None:
        """One chained tmux call: a session whose windows run `windows` (shell command strings)."""
        if not windows:
            raise ValueError("at least one window")
        args = ["new-session", "-d", "-s", session, "-x", str(size[0]), "-y", str(size[1]), windows[0]]
        self.alive = True
        for i, cmd in enumerate(windows[1:], 1):
            if i % 150 == 0:  # tmux refuses a chain over ~16 KB ("command too long"): one chain per 150 windows
                self.tmux(*args)
                args = ["new-window", "-d", "-t", f"{session}:", cmd]
            else:
                args += [";", "new-window", "-d", "-t", f"{session}:", cmd]
        self.tmux(*args)

    def start_sessions(self, sessions: Sequence[tuple[str, str]], *, size: tuple[int, int] = (120, 40)) -> None:
        """One chained tmux call: one session per (name, command)."""
        args: list[str] = []
        for name, cmd in sessions:
            if args:
                args.append(";")
            args += ["new-session", "-d", "-s", name, "-x", str(size[0]), "-y", str(size[1]), cmd]
        self.alive = True
        self.tmux(*args)

    def server_pid(self) -> int | None:
        out = self.tmux("display-message", "-p", "#{pid}", check=False).strip()
        return int(out) if out.isdigit() else None

    def kill(self) -> None:
        if not self.alive:
            return
        self.alive = False
        with contextlib.suppress(Exception):
            subprocess.run(["tmux", "-L", self.name, "kill-server"], capture_output=True, timeout=10, check=False)
        # kill-server is asynchronous: wait (bounded) until nothing answers on the socket any more
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            done = subprocess.run(["tmux", "-L", self.name, "ls"], capture_output=True, text=True, check=False)
            if done.returncode != 0:
                break
            time.sleep(0.05)
        # tmux 3.3a can leave the socket file behind; it is ours (unique name), so remove it
        sock = Path(f"/tmp/tmux-{os.getuid()}") / self.name
        tmpdir = os.environ.get("TMUX_TMPDIR")
        if tmpdir:
            sock = Path(tmpdir) / f"tmux-{os.getuid()}" / self.name
        with contextlib.suppress(OSError):
            sock.unlink()


# ----- processes --------------------------------------------------------------------------------------


def child_env(dispatch_home: Path, pycache: Path | None) -> dict[str, str]:
    """Environment for `python -m dashboard` children and fake agents.

    With `pycache` set, bytecode is cached there (as an installed tool would have it) instead of
    being recompiled on every start because PYTHONDONTWRITEBYTECODE is set; nothing is written
    into the repository.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["DISPATCH_HOME"] = str(dispatch_home)
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def agent_command(style: str, record: Path | None, turn: float, *flags: str, pycache: Path | None = None) -> str:
    """Shell command for a tmux window running the project's fake agent.

    With `pycache`, the agents share a bytecode cache there, so 100 of them starting at once do not
    each recompile the module.
    """
    argv = [sys.executable, "-m", "dashboard.demo.fake_agent", "--style", style, "--turn", str(turn)]
    argv += ["--cwd", "~/src/bench"]
    if record is not None:
        argv += ["--record", str(record)]
    argv += list(flags)
    env = ["PYTHONPATH=" + shlex.quote(str(ROOT))]
    if pycache is not None:
        env = ["-u", "PYTHONDONTWRITEBYTECODE", *env, "PYTHONPYCACHEPREFIX=" + shlex.quote(str(pycache))]
    return f"exec env {' '.join(env)} {shlex.join(argv)}"


def agent_launcher(work: Path, turn: float, *flags: str, pycache: Path | None = None) -> Path:
    """A tiny script `sh LAUNCHER STYLE N` starting a fake agent recording to WORK/agentN.jsonl.

    Windows then carry ~60-byte commands: one chained tmux call creating 100+ windows with the full
    command each would exceed tmux's per-message limit ("command too long", ~16 KB).
    """
    script = work / "agent.sh"
    cmd = agent_command("STYLE", work / "agentN.jsonl", turn, *flags, pycache=pycache)
    cmd = cmd.replace("--style STYLE", '--style "$1"').replace(str(work / "agentN.jsonl"), f'{work}/agent"$2".jsonl')
    script.write_text("#!/bin/sh\n" + cmd + "\n")
    return script


def cli_argv(socket: str, *args: str) -> list[str]:
    """The `dispatch` command as users run it: the console script beside this interpreter when the package is
    installed (pip's script skips `-m`'s runpy, ~7 ms), else `python -m dashboard` (the same code)."""
    script = Path(sys.executable).with_name("dispatch")
    head = [str(script)] if script.is_file() and os.access(script, os.X_OK) else [sys.executable, "-m", "dashboard"]
    return [*head, "-L", socket, *args]


def cli_name() -> str:
    """How `cli_argv` runs the command, for the figures' labels."""
    return "dispatch" if cli_argv("x")[0].endswith("/dispatch") else "python -m dashboard"


def wall_ms(
    argv: Sequence[str], env: dict[str, str], timeout: float = 30.0
) -> tuple[float, subprocess.CompletedProcess[str]]:
    t = time.perf_counter()
    done = subprocess.run(list(argv), capture_output=True, text=True, env=env, timeout=timeout, check=False)
    return (time.perf_counter() - t) * 1000, done


async def wait_states(host: object, pane_ids: Iterable[str], states: set[str], timeout: float) -> dict[str, str]:
    """Poll services.panes.survey until every pane is in one of `states`; returns the last states seen."""
    from dashboard.services.panes import survey

    want = set(pane_ids)
    deadline = time.monotonic() + timeout
    seen: dict[str, str] = {}
    while True:
        views = await survey(host)  # type: ignore[arg-type]
        seen = {v.pane.pane_id: str(v.cls.state) for v in views if v.pane.pane_id in want}
        if len(seen) == len(want) and all(s in states for s in seen.values()):
            return seen
        if time.monotonic() >= deadline:
            return seen
        await asyncio.sleep(0.1)


# ----- figures ----------------------------------------------------------------------------------------


def pct(values: Sequence[float], p: float) -> float:
    """Percentile by linear interpolation (p in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    s = sorted(values)
    if len(s) == 1:
        return float(s[0])
    k = (len(s) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return float(s[lo] + (s[hi] - s[lo]) * (k - lo))


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def fmt(x: float | int | str | None, nd: int = 1) -> str:
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    if isinstance(x, float) and x != x:
        return "-"
    if isinstance(x, int):
        return str(x)
    return f"{x:.{nd}f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], nd: int = 1) -> str:
    cells = [[fmt(c, nd) if not isinstance(c, str) else c for c in row] for row in rows]  # type: ignore[arg-type]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = [
        "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths, strict=True)))
    ]
    lines.append("  ".join("-" * w for w in widths))
    for r in cells:
        lines.append(
            "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        )
    return "\n".join(lines)


# ----- machine conditions -----------------------------------------------------------------------------


def loadavg() -> str:
    a, b, c = os.getloadavg()
    return f"{a:.2f} {b:.2f} {c:.2f}"


def cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    with open("/proc/stat") as f:
        parts = [float(x) for x in f.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0.0)
    total = sum(parts[:8])
    return total - idle, total


def busy_pct(since: tuple[float, float]) -> float:
    """Machine-wide CPU busy % since `since` (100 % = every core busy)."""
    busy, total = cpu_times()
    d = total - since[1]
    return 100.0 * (busy - since[0]) / d if d > 0 else float("nan")


def proc_cpu_s(pid: int) -> float | None:
    """utime+stime of one process in seconds (None when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    fields = data.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def procs_cpu_s(pids: Iterable[int]) -> float:
    return sum(x for x in (proc_cpu_s(p) for p in pids) if x is not None)


def machine_line() -> str:
    return f"machine: {os.cpu_count()} cores, load {loadavg()}, python {sys.version.split()[0]}, {tmux_version()}"


def tmux_version() -> str:
    with contextlib.suppress(Exception):
        return subprocess.run(["tmux", "-V"], capture_output=True, text=True, check=False).stdout.strip()
    return "tmux ?"


class Budget:
    """A wall-clock budget for the whole script; phases check `left()` and stop early when it runs out."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.start = time.monotonic()

    def left(self) -> float:
        return self.seconds - (time.monotonic() - self.start)

    def elapsed(self) -> float:
        return time.monotonic() - self.start


def cpu_count() -> int:
    return os.cpu_count() or 1


class LoopLag:
    """How late a 10 ms ticker wakes up while the block runs: the longest the event loop was blocked."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            lag = (time.perf_counter() - t - 0.01) * 1000
            self.samples.append(lag)
            self.worst = max(self.worst, lag)

    def __enter__(self) -> LoopLag:
        self._task = asyncio.ensure_future(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()


def run_bench(main: Coroutine[Any, Any, int]) -> int:
    """Run a benchmark's coroutine with its private tmux servers cleaned up however it ends."""
    install_cleanup()
    try:
        return asyncio.run(main)
    except KeyboardInterrupt:
        print("interrupted; private tmux servers killed", file=sys.stderr)
        return 130
    finally:
        cleanup_all()
