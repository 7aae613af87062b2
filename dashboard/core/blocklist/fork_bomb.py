"""Rule `fork-bomb`: a function that spawns itself in a pipeline or in the background, whatever its name.

Found as a cycle in what functions run with `|` or `&` (f→f, or f→g→f, `$FUNCNAME` included), when
such a function is defined or called; and in the raw text when bashlex cannot parse the bomb at all.
"""

from __future__ import annotations

import re
from typing import Any

from dashboard.core.blocklist.model import Block, Blocked, Cmd
from dashboard.core.blocklist.state import Shell
from dashboard.core.blocklist.tree import command_name, text, walk

_FORKBOMB_TEXT = re.compile(r"([^\s(){};|&]+)\s*\(\s*\)\s*\{[^}]*?\1\s*\|\s*\1\s*&")


def in_text(source: str) -> Block | None:
    """For source bashlex cannot parse: the classic `:(){ :|:& };:` shape, read as text."""
    m = _FORKBOMB_TEXT.search(source)
    return Block("fork-bomb", m.group(0), "a function that calls itself in the background") if m else None


def check_definition(shell: Shell, name: str, node: Any, source: str) -> None:
    """Record what function `name` (defined by `node`) spawns; refuse it when that reaches itself."""
    shell.calls[name] = _background_calls(node.parts[-1], name)
    if _in_cycle(shell.calls, name):
        why = f"function '{name}' spawns itself in the background"
        raise Blocked(Block("fork-bomb", text(node, source), why))


def check_call(shell: Shell, cmd: Cmd, name: str, *, piped: bool) -> None:
    """Calling a self-spawning function in a pipeline or in the background."""
    if name in shell.functions and piped and _in_cycle(shell.calls, name):
        raise Blocked(Block("fork-bomb", cmd.text, f"calls the self-spawning function '{name}'"))


def _background_calls(body: Any, name: str) -> set[str]:
    """Commands a function body runs in a pipeline or in the background (`$FUNCNAME` is the function)."""
    out: set[str] = set()

    def called(node: Any) -> str | None:
        word = command_name(node)
        if word in ("$FUNCNAME", "${FUNCNAME}", "${FUNCNAME[0]}"):
            return name
        return word

    for node in walk(body):
        if node.kind == "pipeline":
            out |= {w for c in node.parts if c.kind == "command" and (w := called(c))}
        if node.kind == "list":
            parts = node.parts
            for i, p in enumerate(parts[:-1]):
                nxt = parts[i + 1]
                if nxt.kind == "operator" and nxt.op == "&":
                    out |= {w for c in walk(p) if (w := called(c))}
    return out


def _in_cycle(calls: dict[str, set[str]], start: str) -> bool:
    """Does `start` reach itself through background/pipeline calls (f→f, or f→g→f)?"""
    seen: set[str] = set()
    stack = list(calls.get(start, ()))
    while stack:
        n = stack.pop()
        if n == start:
            return True
        if n in seen:
            continue
        seen.add(n)
        stack.extend(calls.get(n, ()))
    return False
