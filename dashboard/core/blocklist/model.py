"""What the walker hands the rules (`Cmd`) and what a rule answers (`Block`, raised as `Blocked`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Block:
    """Why a command is refused: the rule, the offending part of the command, and a sentence."""

    rule: str
    part: str
    reason: str

    def __str__(self) -> str:
        return f"blocked ({self.rule}): {self.reason} — {self.part!r}"


class Blocked(Exception):
    """Raised by the first rule broken, so the walk stops there however deep it is; carries the Block."""

    def __init__(self, block: Block) -> None:
        super().__init__(block.reason)
        self.block = block


@dataclass
class Cmd:
    """One simple command after unwrapping: its words, redirections, and the AST words they came from."""

    words: list[str]
    nodes: list[Any]
    redirects: list[tuple[str, str]] = field(default_factory=list)
    text: str = ""
    redirect_nodes: list[Any] = field(default_factory=list)
