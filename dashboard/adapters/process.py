"""Who is sending: this process, named so that a later command can tell whether it still runs.

A send records its owner (host, pid, and the pid's start time, so a reused pid is not mistaken
for the sender). A pending record whose owner is gone was cut off mid-way and is concluded as
`interrupted` by the next command that opens the log.
"""

from __future__ import annotations

import os
import socket

from dashboard.core.model import Owner


def _start_ticks(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[-1].split()
    except OSError:
        return None
    if fields and fields[0] == b"Z":
        return None  # a zombie: killed, not yet reaped — it will never finish its send
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def this_host() -> str:
    return socket.gethostname()


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip() or None
    except OSError:
        return None


def _pidns() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def owner() -> Owner:
    """This process as a record's owner."""
    return Owner(this_host(), os.getpid(), _start_ticks(os.getpid()), this_machine()[1],
                 _read("/proc/sys/kernel/random/boot_id"), _pidns())  # fmt: skip


def owner_alive(who: Owner | None) -> bool | None:
    """True/False for an owner this process can see; None when it cannot tell.

    Another machine (a different machine-id, or hostname), or another pid namespace on this one (a
    container), keeps its pids out of sight: that owner may well be running. The same machine after
    a reboot (another boot id): it is not.
    """
    if who is None or who.host != this_host() or who.pid <= 0:
        return None
    if who.machine is not None and who.machine != this_machine()[1]:
        return None
    if who.boot is not None and who.boot != _read("/proc/sys/kernel/random/boot_id"):
        return False
    if who.pidns is not None and who.pidns != _pidns():
        return None
    ticks = _start_ticks(who.pid)
    if ticks is None:
        return False
    return who.start is None or who.start == ticks


def this_machine() -> tuple[str, str | None]:
    """This machine's hostname and /etc/machine-id (None where there is none)."""
    try:
        with open("/etc/machine-id", encoding="utf-8") as f:
            machine_id: str | None = f.read().strip() or None
    except OSError:
        machine_id = None
    return os.uname().nodename, machine_id


def pid_alive(pid: int) -> bool:
    """Is that process on this machine still running? A zombie (killed, not yet reaped) is not."""
    return _start_ticks(pid) is not None
