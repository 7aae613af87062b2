"""The input box, with Claude Code's collapsed pastes.

A collapsed paste is drawn as a placeholder but submitted as the real text, so what the screen shows and
what gets recorded differ; keeping both in one structure is what lets tests catch a sender that trusts
the screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Pasted:
    """A collapsed paste: shown as a placeholder, submitted as the real text (Claude Code behaviour)."""

    text: str
    label: str


@dataclass
class Composer:
    """The input box: typed runs and collapsed pastes, in order."""

    parts: list[str | Pasted] = field(default_factory=list)

    def insert(self, text: str) -> None:
        if self.parts and isinstance(self.parts[-1], str):
            self.parts[-1] += text
        else:
            self.parts.append(text)

    def add_paste(self, paste: Pasted) -> None:
        self.parts.append(paste)

    def backspace(self) -> None:
        if not self.parts:
            return
        last = self.parts[-1]
        if isinstance(last, Pasted) or len(last) <= 1:
            self.parts.pop()
        else:
            self.parts[-1] = last[:-1]

    def clear(self) -> None:
        self.parts.clear()

    @property
    def text(self) -> str:
        """What Enter submits: pastes expanded."""
        return "".join(p if isinstance(p, str) else p.text for p in self.parts)

    @property
    def display(self) -> str:
        """What the box shows: pastes as their placeholders."""
        return "".join(p if isinstance(p, str) else p.label for p in self.parts)

    @property
    def has_paste(self) -> bool:
        return any(isinstance(p, Pasted) for p in self.parts)
