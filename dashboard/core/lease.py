"""Where a pane's lease lives and how its holder is named. Pure; the locking itself is in adapters.

One sender per pane at a time: the lease is a lock file beside the pane's tmux socket, on the
machine where the pane lives, so every sender that can reach the pane (another CLI, the daemon,
the dashboard, a second controller over SSH) contends for the same file. The file is locked with
flock(2), which the kernel drops when its holder dies: a crashed sender never blocks the pane.
"""

from __future__ import annotations

import posixpath

from dashboard.core.model import ServerRef

LEASE_DIR = "dispatch-leases"


def lease_path(server: ServerRef, pane_id: str) -> str:
    """The lock file for `pane_id` on `server`; a restarted server (new pid) gets new files."""
    folder = posixpath.dirname(server.socket) or "/tmp"
    name = posixpath.basename(server.socket) or "tmux"
    return f"{folder}/{LEASE_DIR}/{name}-{server.pid}-{pane_id.lstrip('%')}.lock"


def holder_name(what: str, pid: int, host: str) -> str:
    """How a waiting sender is told who holds the pane: `send #812 (pid 4411 on ctl2)`."""
    clean = " ".join(what.split())[:120]
    return f"{clean} (pid {pid} on {' '.join(host.split())[:64]})"
