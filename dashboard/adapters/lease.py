"""Pane leases on this machine: flock(2) on a file beside the tmux socket.

The lock belongs to an open file description, so two senders in one process (a batch and the
dashboard) exclude each other as two processes do, and the kernel releases it when the holder
dies. The holder writes who it is next to the lock, for the refusal a waiter prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import time
from types import TracebackType
from typing import Protocol

from dashboard.core.ports import LeaseBusy, LeaseUnavailable


class Locks(Protocol):
    """Where a host's lock files are locked: in this process, or by a keeper on the far machine."""

    async def try_lock(self, path: str, holder: str) -> tuple[object | None, str]:
        """One non-blocking attempt: (token, "") when taken, (None, who holds it) when not."""
        ...

    def release(self, token: object) -> None:
        """Drop the lock now (never raises: a lost lock is already free)."""
        ...

    def held(self, token: object) -> bool:
        """Still ours? False once the keeper holding it (an SSH channel) is gone."""
        ...


class PaneLease:
    """One sender's hold on one pane, taken before the first look and released after the verdict.

    Waits up to `timeout` seconds for another sender to finish, polling (a holder releases in
    well under a second after its verdict).
    """

    def __init__(self, locks: Locks, path: str, holder: str, timeout: float, poll: float = 0.02) -> None:
        self.locks, self.path, self.holder, self.timeout, self.poll = locks, path, holder, timeout, poll
        self.waited_ms = 0
        self.contended = False
        """True when another sender held the pane when we first asked."""
        self._token: object | None = None

    @property
    def held(self) -> bool:
        return self._token is not None and self.locks.held(self._token)

    async def __aenter__(self) -> PaneLease:
        started = time.monotonic()
        deadline = started + max(0.0, self.timeout)
        while True:
            token, who = await self.locks.try_lock(self.path, self.holder)
            self.waited_ms = round((time.monotonic() - started) * 1000)
            if token is not None:
                self._token = token
                return self
            self.contended = True
            if time.monotonic() >= deadline:
                raise LeaseBusy(who, self.waited_ms)
            await asyncio.sleep(self.poll)

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def release(self) -> None:
        token, self._token = self._token, None
        if token is not None:
            self.locks.release(token)


class LocalLocks:
    """Non-blocking lock attempts; the waiting policy lives in `PaneLease`."""

    async def try_lock(self, path: str, holder: str) -> tuple[object | None, str]:
        """(token, "") when taken; (None, who holds it) when another sender has it."""
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise LeaseUnavailable(f"cannot open the lease file {path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None, _read_holder(path)
        except OSError as exc:
            os.close(fd)
            raise LeaseUnavailable(f"cannot lock {path}: {exc.strerror or exc}") from None
        _write_holder(path, holder)
        return fd, ""

    def release(self, token: object) -> None:
        assert isinstance(token, int)
        with contextlib.suppress(OSError):
            os.close(token)  # closing the descriptor drops the flock

    def held(self, token: object) -> bool:
        return True  # a local descriptor cannot be taken away while this process lives


def _write_holder(path: str, holder: str) -> None:
    tmp = f"{path}.who.{os.getpid()}"
    with contextlib.suppress(OSError):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(holder + "\n")
        os.replace(tmp, f"{path}.who")


def _read_holder(path: str) -> str:
    try:
        with open(f"{path}.who", encoding="utf-8", errors="replace") as f:
            return f.read(300).strip() or "another sender"
    except OSError:
        return "another sender"
