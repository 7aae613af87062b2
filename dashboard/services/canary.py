"""Canaries: ask the agent for an exact string, then look for that string in what it wrote back.

No interpretation: the string is in the transcript after the prompt, or it is not. The prompt's
own echo never counts — the search starts after the last place the prompt shows on screen.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from dashboard.core.ports import TmuxError, TmuxHost
from dashboard.core.screen import strip_ansi

HISTORY = 3000


def canary_token() -> str:
    """A fresh token nobody could have typed before: CANARY- and 10 random characters."""
    return "CANARY-" + secrets.token_hex(5).upper()


def canary_prompt(token: str, base: str = "") -> str:
    """The prompt that asks for `token` (appended to `base` when there is one)."""
    ask = f"Reply with exactly this and nothing else: {token}"
    return f"{base.rstrip()}\n\nWhen you are done, reply with exactly: {token}" if base.strip() else ask


@dataclass(frozen=True, slots=True)
class CanaryResult:
    """Whether the exact string showed, how long it took, and where it was (or was not) seen."""

    passed: bool
    expect: str
    waited_ms: int
    evidence: str

    def to_json(self) -> dict[str, object]:
        return {"passed": self.passed, "expect": self.expect, "waited_ms": self.waited_ms, "evidence": self.evidence}


def found_after_prompt(transcript: str, prompt: str, expect: str) -> bool:
    """Is `expect` in the transcript after the prompt's last appearance? Whitespace (and line wraps) ignored."""
    text = _squash(strip_ansi(transcript))
    want = _squash(expect)
    if not want:
        return False
    anchor = _squash(prompt)[-40:]
    at = text.rfind(anchor) if anchor else -1
    if at < 0:
        # the prompt is not on screen (collapsed paste, scrolled away): its echo cannot be what we find
        return want in text
    return want in text[at + len(anchor) :]


async def wait_for_canary(
    host: TmuxHost,
    pane_id: str,
    prompt: str,
    expect: str,
    timeout: float,
    *,
    transcript: Path | None = None,
    poll: float = 0.5,
) -> CanaryResult:
    """Poll the pane's scrollback (and the transcript file, if given) until `expect` shows, or time runs out."""
    started = time.monotonic()
    base = _size(transcript)
    while True:
        try:
            text = await host.capture(pane_id, HISTORY)
        except TmuxError as exc:
            return CanaryResult(False, expect, _ms(started), f"the pane went away: {exc}")
        if found_after_prompt(text, prompt, expect):
            return CanaryResult(True, expect, _ms(started), "found in the pane transcript after the prompt")
        if transcript is not None and _squash(expect) in _squash(_tail(transcript, base)):
            return CanaryResult(True, expect, _ms(started), f"found in {transcript}")
        if time.monotonic() - started >= timeout:
            return CanaryResult(False, expect, _ms(started), f"{expect} did not appear within {timeout:g}s")
        await asyncio.sleep(poll)


def _size(path: Path | None) -> int:
    try:
        return path.stat().st_size if path is not None else 0
    except OSError:
        return 0


def _tail(path: Path, start: int) -> str:
    try:
        with path.open("rb") as f:
            f.seek(start)
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def _squash(text: str) -> str:
    return "".join(text.split())


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
