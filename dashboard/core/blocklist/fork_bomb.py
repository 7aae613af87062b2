"""Rule `fork-bomb`: processes that multiply without end: self-spawning functions, spawning loops, floods.

Found as a cycle in what functions run with `|` or `&` (f→f, or f→g→f, `$FUNCNAME` included), when
such a function is defined or called; and in the raw text when bashlex cannot parse the bomb at all.
"""

from __future__ import annotations

import re
from typing import Any

from dashboard.core.blocklist.model import Block, Blocked, Cmd
from dashboard.core.blocklist.state import Shell
from dashboard.core.blocklist.tree import command_name, find, find_commands, text, walk

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

    for sub in find(body, ("commandsubstitution", "processsubstitution")):
        out |= {w for c in find_commands(sub.command) if (w := called(c))}  # `$(f)`, `<(f)` fork too
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


_SPAWNERS = {"sh", "bash", "zsh", "dash", "ksh", "fish", "$0", "${0}", "perl", "python", "python3", "ruby", "node"}
_ENDLESS = {"true", ":", "[ 1 ]", "[ 1 -eq 1 ]", "test 1", "sleep 0", "[ 1 = 1 ]", "((1))", "! false", "[ true ]"}


def check_loop(node: Any, source: str) -> None:
    """A loop that starts processes in the background without end, or over a list it cannot count.

    `while true; do bash & done`, `until false; do x & done`, `for i in $(seq 1 100000); do sleep 600 & done`:
    each is a fork bomb without a function. Background jobs over a literal list (`for s in 1 2 3 4; do
    python3 worker.py --shard $s & done`) are fine.
    """
    parts = node.parts
    words = [getattr(p, "word", None) for p in parts]
    head = parts[1] if node.kind in ("while", "until") and len(parts) > 1 else None
    condition = " ".join(text(head, source).rstrip(";& \n").split()) if head is not None else ""
    endless = (node.kind == "while" and condition in _ENDLESS) or (node.kind == "until" and condition == "false")
    if node.kind == "for" and "in" in words:
        items = [p for p in parts[words.index("in") + 1 :] if p.kind == "word"]
        endless = any(_uncountable(text(p, source), p) for p in items) or len(items) > 64
    body = parts[words.index("do") + 1] if "do" in words and words.index("do") + 1 < len(parts) else None
    if body is None:
        return
    spawned = _backgrounded(body)
    # a while/until whose condition the check cannot evaluate still may not start shells in the background
    shells = node.kind != "for" and any(base_name(n) in _SPAWNERS for n in spawned)
    if (endless and (spawned or re.search(r"&\s*['\"]", text(body, source)))) or shells:
        why = "a loop that starts processes in the background without end (or over a list it cannot count)"
        raise Blocked(Block("fork-bomb", text(node, source), why))


def _uncountable(word: str, node: Any) -> bool:
    """A loop list item whose length is unknown or huge: a substitution, `$@`, a big brace range."""
    if re.fullmatch(r"\$\(seq( -?\d+){1,3}\)", word.strip('"')):
        numbers = [int(n) for n in re.findall(r"-?\d+", word)]
        return abs(numbers[-1] - (numbers[0] if len(numbers) > 1 else 1)) > 64  # `$(seq 1 8)` is counted
    if any(getattr(p, "kind", "") in ("commandsubstitution", "processsubstitution", "parameter")
           for p in getattr(node, "parts", []) or []):  # fmt: skip
        return True
    m = re.search(r"\{(-?\d+)\.\.(-?\d+)(\.\.\d+)?\}", word)
    return bool(m and abs(int(m.group(2)) - int(m.group(1))) > 64)


def _backgrounded(body: Any) -> set[str]:
    """Names of the commands a loop body starts with `&`."""
    out: set[str] = set()
    for node in walk(body):
        if node.kind == "list":
            for i, p in enumerate(node.parts[:-1]):
                nxt = node.parts[i + 1]
                if nxt.kind == "operator" and nxt.op == "&":
                    out |= {w for c in walk(p) if (w := command_name(c))}
    return out


def check_flood(source_stage: str, cmd: Cmd) -> None:
    """`yes | xargs -P0 …`, `seq 1 99999999 | parallel -j0`: endless input fanned out to unlimited processes."""
    words = cmd.words
    name = words[0].rsplit("/", 1)[-1] if words else ""
    if name not in ("xargs", "parallel") or not source_stage:
        return
    flag = "-P" if name == "xargs" else "-j"
    long = "--max-procs" if name == "xargs" else "--jobs"
    unlimited = any(w in (f"{flag}0", f"{long}=0") for w in words) or any(
        w in (flag, long) and i + 1 < len(words) and words[i + 1] in ("0", "0%") for i, w in enumerate(words)
    )
    first = source_stage.split()
    numbers = [int(w) for w in first if w.isdigit()]
    endless = (
        first[:1] == ["yes"]
        or "/dev/zero" in source_stage
        or "/dev/urandom" in source_stage
        or (first[:1] in (["seq"], ["jot"]) and ((numbers and max(numbers) > 10_000) or "inf" in first))
    )
    if unlimited and endless:
        raise Blocked(Block("fork-bomb", cmd.text, "an endless input fanned out to unlimited processes"))


def check_watch(raw: Cmd) -> None:
    """`watch -n 0.1 'cmd &'`: a process started in the background again and again, never waited for."""
    if raw.words and raw.words[0].rsplit("/", 1)[-1] == "watch" and re.search(r"&\s*$|&\s*[;)]", raw.words[-1]):
        raise Blocked(Block("fork-bomb", raw.text, "watch starts a background process at every interval"))


def base_name(word: str) -> str:
    return word.rsplit("/", 1)[-1]


def check_fed_loop(upstream: str, stage: Any, source: str) -> None:
    """`yes | while read; do sleep 100 & done`: an endless input drives a loop that starts background jobs."""
    first = upstream.split()[:2]
    endless = first[:1] == ["yes"] or "/dev/zero" in upstream or "/dev/urandom" in upstream or first == ["seq", "inf"]
    if not endless:
        return
    for node in walk(stage):
        if node.kind in ("while", "until", "for") and _backgrounded(node):
            raise Blocked(Block("fork-bomb", f"{upstream} | … {text(node, source)}",
                                "an endless input drives a loop that starts background jobs"))  # fmt: skip
