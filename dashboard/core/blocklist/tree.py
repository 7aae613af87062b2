"""Reading bashlex parse trees: a node's source text, its descendants, the commands inside it.

bashlex nodes are untyped (`Any`): children sit in `parts`, `list`, `command` or `output`
depending on the node's kind, and these helpers hide that.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any


def text(node: Any, source: str) -> str:
    """The source a node spans, or the start of the source when the node has no position."""
    try:
        start, end = node.pos
        return str(source[start:end])
    except (AttributeError, TypeError, ValueError):
        return source[:80]


def find(node: Any, kinds: Sequence[str]) -> Iterator[Any]:
    """Every descendant of the given kinds, not descending into what was found."""
    stack = [node]
    while stack:
        n = stack.pop()
        for child in list(getattr(n, "parts", []) or []) + list(getattr(n, "list", []) or []):
            if getattr(child, "kind", None) in kinds:
                yield child
            else:
                stack.append(child)
        for attr in ("command", "output"):
            child = getattr(n, attr, None)
            if child is not None and hasattr(child, "kind") and n.kind not in kinds:
                if child.kind in kinds:
                    yield child
                else:
                    stack.append(child)


def find_commands(node: Any) -> Iterator[Any]:
    """Every simple command at or below the node, substitutions included."""
    if getattr(node, "kind", None) == "command":
        yield node
    for child in list(getattr(node, "parts", []) or []) + list(getattr(node, "list", []) or []):
        yield from find_commands(child)
    inner = getattr(node, "command", None)
    if inner is not None and hasattr(inner, "kind"):
        yield from find_commands(inner)


def walk(node: Any) -> Iterator[Any]:
    """The node and its descendants through `parts` and `list` (not into substitutions)."""
    yield node
    for child in list(getattr(node, "parts", []) or []) + list(getattr(node, "list", []) or []):
        if hasattr(child, "kind"):
            yield from walk(child)


def command_words(node: Any) -> list[str]:
    """The literal words of a simple command node, as written (nothing expanded)."""
    return [p.word for p in node.parts if p.kind == "word"]


def command_name(node: Any) -> str | None:
    if getattr(node, "kind", None) != "command":
        return None
    words = command_words(node)
    return words[0] if words else None
