"""One daemon per state directory: a pidfile held with an exclusive flock for the daemon's whole life.

The lock, not the file's content, is the truth: a daemon killed with -9 leaves its pid behind but
not its lock, so the next daemon takes the file over; a status that reads the pid also checks the
lock is held. Linux/macOS (fcntl).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path


class PidLock:
    """Held by the daemon; queried by `daemon start|stop|status`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock and write our pid; False (and nothing changed) when another process holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        # `holder()` probes with a brief shared lock: a few retries tell such a probe from a real holder
        for attempt in range(30):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if attempt == 29:
                    os.close(fd)
                    return False
                time.sleep(0.01)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.fsync(fd)
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None

    def holder(self) -> int | None:
        """The pid of the live process holding the lock, or None (no file, stale file, or nobody)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                text = os.pread(fd, 64, 0).decode(errors="replace").strip()
                return int(text) if text.isdigit() else -1  # locked while the holder writes its pid
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None  # nobody holds it: whatever pid is written there is stale
        finally:
            os.close(fd)
