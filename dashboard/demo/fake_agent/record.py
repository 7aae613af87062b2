"""The ``--record`` log: one JSON line per prompt event, the ground truth tests compare against.

It plays the role the fake model server's request log plays for the real agents.
"""

from __future__ import annotations

import json
import os
import time


class Recorder:
    """Appends one JSON line per event; a single O_APPEND write keeps lines whole when panes share a file."""

    def __init__(self, path: str | None) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644) if path else None

    def record(self, kind: str, text: str) -> None:
        if self.fd is None:
            return
        line = json.dumps({"t": time.time(), "kind": kind, "text": text, "pid": os.getpid()}, ensure_ascii=False)
        os.write(self.fd, (line + "\n").encode())

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
