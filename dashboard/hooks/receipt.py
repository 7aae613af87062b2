#!/usr/bin/env python3
"""dispatch-receipt: the command an agent's hook runs when it accepts a prompt or ends a turn.

Installed as a standalone file (stdlib only) by `dispatch hooks install`, so it keeps working
without Dispatch's package on the path, and does nothing at all when its spool cannot be written.
It appends one JSON line — the event, the time, the tmux pane and server it runs in, the agent's
session and a SHA-256 of the prompt (for a Notification, its message) — to
/tmp/dispatch-receipts-UID/receipts.jsonl. It never prints
(Claude Code adds a UserPromptSubmit hook's output to the model's context) and always exits 0: a
receipt must never hurt the agent.
"""

import contextlib
import hashlib
import json
import os
import stat
import sys
import time

SPOOL = f"/tmp/dispatch-receipts-{os.getuid()}"


def prompt_hash(prompt: str) -> str:
    """As Dispatch hashes what it sent: CR/CRLF as LF, trailing blank space dropped."""
    text = prompt.replace("\r\n", "\n").replace("\r", "\n").rstrip()
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _spool() -> "int | None":
    """The spool, opened for appending, only in this user's own private folder; None otherwise.

    The folder is in /tmp: one another user made first (to plant receipts, or a link) is never used.
    """
    os.makedirs(SPOOL, mode=0o700, exist_ok=True)
    st = os.lstat(SPOOL)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(f"{SPOOL}/receipts.jsonl", flags, 0o600)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
        os.close(fd)
        return None
    return fd


def main() -> None:
    event = sys.argv[1] if len(sys.argv) > 1 else "event"
    agent = sys.argv[2] if len(sys.argv) > 2 else ""
    try:
        data = json.loads(sys.stdin.read(4_000_000) or "{}")
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    prompt = data.get("prompt")
    row = {
        "event": event,
        "time": time.time(),
        "pane": os.environ.get("TMUX_PANE", ""),
        "tmux": os.environ.get("TMUX", "").split(",")[0],
        "session": data.get("session_id", ""),
        "prompt_sha256": prompt_hash(prompt) if isinstance(prompt, str) else None,
        "agent": agent,
    }
    if event == "Notification":  # the agent waits on a person: say for what, briefly
        row["message"] = str(data.get("message") or "")[:200]
        row["kind"] = str(data.get("notification_type") or "")[:40]
    fd = _spool()
    if fd is None:
        return
    try:
        os.write(fd, (json.dumps(row) + "\n").encode())  # one write: appends from several agents never interleave
    finally:
        os.close(fd)


if __name__ == "__main__":
    with contextlib.suppress(Exception):  # a receipt must never hurt the agent
        main()
    sys.exit(0)
