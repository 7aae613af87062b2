"""The operator's `--notify CMD`: run once for each new attention item, wherever Dispatch watches from.

`sh -c CMD dispatch MESSAGE`, so `$1` is the one-line message (`notify-send Dispatch "$1"`, a webhook
with curl, a phone push…), with DISPATCH_PANE, DISPATCH_TARGET, DISPATCH_KIND and DISPATCH_WHY set.
A slow or failing command never holds up the watcher: it runs in the background with a time limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

from dashboard.core.attention import Attention

TIMEOUT = 20.0


class CommandNotifier:
    """Calls the command for an item; what went wrong is kept in `errors` (shown, never raised)."""

    def __init__(self, command: str) -> None:
        self.command = command
        self.errors: list[str] = []
        self._running: set[asyncio.Task[None]] = set()

    def __call__(self, item: Attention) -> None:
        task = asyncio.ensure_future(self._run(item))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, item: Attention) -> None:
        env = {**os.environ, "DISPATCH_PANE": item.key, "DISPATCH_TARGET": item.address,
               "DISPATCH_KIND": item.kind, "DISPATCH_WHY": item.why}  # fmt: skip
        try:
            proc = await asyncio.create_subprocess_exec(
                "sh", "-c", self.command, "dispatch", item.line(), env=env,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
                start_new_session=True,  # a timeout stops the command and whatever it started
            )  # fmt: skip
        except OSError as exc:
            self.errors.append(f"--notify could not start: {exc}")
            return
        try:
            _, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            self.errors.append(f"--notify took over {TIMEOUT:g}s and was stopped")
            return
        if proc.returncode:
            last = err.decode(errors="replace").strip().splitlines()[-1:] or [""]
            self.errors.append(f"--notify exited {proc.returncode}: {last[0]}")

    async def drain(self) -> None:
        """Wait for the commands still running (the watcher is stopping)."""
        await asyncio.gather(*self._running, return_exceptions=True)
