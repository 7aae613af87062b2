"""`dispatch daemon start|stop|status|run`: the one process per state directory that owns the schedules.

`run` stays in the foreground (for systemd); `start` launches `run` detached and reports only once
the new daemon holds the lock — or that another one already does. Shutdown on SIGTERM/SIGINT lets
in-flight runs finish (up to a grace period) and records the rest as interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dashboard.adapters.paths import Paths
from dashboard.adapters.pidlock import PidLock

STOP_GRACE = 20.0


def pidfile(paths: Paths) -> Path:
    return paths.data / "daemon.pid"


def logfile(paths: Paths) -> Path:
    return paths.data / "daemon.log"


def local_tz() -> tzinfo:
    """This machine's zone, DST rules included (cron times are wall-clock times)."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
            return ZoneInfo(name)
    with contextlib.suppress(OSError, ValueError), open("/etc/localtime", "rb") as f:
        return ZoneInfo.from_file(f, key="localtime")
    return ZoneInfo("UTC")


def _log(line: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}", flush=True)


Also = Callable[[Paths, asyncio.Event], Awaitable[None]]
"""Something else the daemon serves until it stops (the CLI's warm path: cli/warm.py)."""


def run_foreground(paths: Paths, server_args: list[str] | None = None, *, also: Also | None = None) -> int:
    """The daemon itself. The lock comes first, before anything slow, so a loser exits at once."""
    lock = PidLock(pidfile(paths))
    if not lock.acquire():
        holder = lock.holder()
        print(f"dispatch: a daemon is already running for {paths.data} (pid {holder})", file=sys.stderr, flush=True)
        return 1
    try:
        _log(f"daemon started (pid {os.getpid()}, state {paths.data})")
        return asyncio.run(_serve(paths, server_args or [], also))
    finally:
        lock.release()
        _log("daemon stopped")


async def _serve(paths: Paths, server_args: list[str], also: Also | None) -> int:
    from dashboard.adapters.config import load_registry
    from dashboard.adapters.schedules import Schedules
    from dashboard.adapters.store import Store
    from dashboard.adapters.tmux import LocalTmux
    from dashboard.services.fleet import Fleet
    from dashboard.services.scheduler import Scheduler

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def fleet() -> Fleet:
        local = LocalTmux(
            socket_name=server_args[1] if server_args[:1] == ["-L"] else None,
            socket_path=server_args[1] if server_args[:1] == ["-S"] else None,
        )
        return Fleet(local, load_registry(paths.config_file))

    extra = asyncio.ensure_future(also(paths, stop)) if also is not None else None
    try:
        async with Store(paths.db) as store:
            scheduler = Scheduler(store, Schedules(store), fleet, local_tz(), log=_log)
            try:
                await scheduler.serve(stop)
            finally:
                await scheduler.drain(STOP_GRACE)
                await scheduler.close()
    finally:
        if extra is not None:
            stop.set()
            await asyncio.gather(extra, return_exceptions=True)
    return 0


def start(
    paths: Paths, server_args: list[str] | None = None, extra: list[str] | None = None, *, wait: float = 5.0
) -> tuple[int, str]:
    """Launch `daemon run` detached; (exit code, message). Never leaves two daemons running."""
    lock = PidLock(pidfile(paths))
    holder = lock.holder()
    if holder is not None:
        return 1, f"a daemon is already running for {paths.data} (pid {holder})"
    paths.data.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(logfile(paths), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)  # prompts' targets, errors: the user's
    with os.fdopen(fd, "ab") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "dashboard", *(server_args or []), "daemon", "run", *(extra or [])],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            close_fds=True,
        )
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        code = child.poll()
        holder = lock.holder()
        if holder == child.pid:
            return 0, f"daemon started (pid {child.pid}); log: {logfile(paths)}"
        if code is not None:
            if holder is not None and holder > 0:
                return 1, f"a daemon is already running for {paths.data} (pid {holder})"
            return 1, f"the daemon exited at once (status {code}); see {logfile(paths)}"
        time.sleep(0.05)
    return 1, f"the daemon did not report within {wait:g}s (pid {child.pid}); see {logfile(paths)}"


def stop(paths: Paths, *, wait: float = STOP_GRACE + 5) -> tuple[int, str]:
    lock = PidLock(pidfile(paths))
    pid = lock.holder()
    if pid is None or pid <= 0:
        return 1, "no daemon is running"
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if lock.holder() is None:
            return 0, f"daemon stopped (pid {pid})"
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return 0, f"daemon (pid {pid}) did not stop within {wait:g}s and was killed"


def status(paths: Paths) -> dict[str, object]:
    pid = PidLock(pidfile(paths)).holder()
    return {
        "running": pid is not None and pid > 0,
        "pid": pid,
        "state_dir": str(paths.data),
        "log": str(logfile(paths)),
    }
