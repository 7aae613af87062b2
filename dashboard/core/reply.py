"""Reading an agent's answer off its screen: the text after our prompt, above the composer. Pure.

The agent's own receipt or transcript file are stronger sources; the screen is what every agent
has. What the profile says is not the answer (turn summaries, box rules, footers) is left out, and
the marker the agent draws before an answer (`● `, `• `, `✦ `) is removed.
"""

from __future__ import annotations

from dashboard.core.agents import AgentProfile
from dashboard.core.verdict import squash

_TAIL = 24
"""How much of the prompt's end (whitespace removed) locates its last copy in the transcript."""


def reply_after(profile: AgentProfile, lines: list[str], composer_start: int | None, prompt: str) -> str | None:
    """The answer printed after the last copy of `prompt` above the composer; None when the prompt is not there.

    `lines` are plain transcript lines (scrollback then screen); wrapping is undone by matching the
    prompt's end with whitespace removed across line breaks.
    """
    end = composer_start if composer_start is not None else len(lines)
    tail = squash(prompt)[-_TAIL:]
    if not tail:
        return None
    joined, owner = "", []
    for i, line in enumerate(lines[:end]):
        piece = squash(line)
        joined += piece
        owner += [i] * len(piece)
    at = joined.rfind(tail)
    if at < 0:
        return None
    last = owner[at + len(tail) - 1]
    skip = (*profile.reply_noise, *profile.chrome, *profile.working)
    body = [ln.rstrip() for ln in lines[last + 1 : end] if not any(p.search(ln) for p in skip)]
    while body and not body[0].strip():
        body.pop(0)
    while body and not body[-1].strip():
        body.pop()
    if not body:
        return ""
    if profile.reply_prefix is not None:
        first = profile.reply_prefix.sub("", body[0], count=1)
        indent = len(body[0]) - len(first)
        # continuation lines are indented under the answer's first character: take that indent off too
        body = [first, *(ln[indent:] if ln[:indent].isspace() else ln for ln in body[1:])]
    return "\n".join(body)
