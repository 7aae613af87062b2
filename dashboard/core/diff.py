"""Before/after screen diffs for `dispatch show` and the dashboard's diff view."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from dashboard.core.screen import strip_ansi


@dataclass(frozen=True, slots=True)
class DiffRow:
    """One row of a side-by-side diff: tag is equal, replace, delete or insert."""

    tag: str
    before: str | None
    after: str | None


def plain_lines(snapshot: str) -> list[str]:
    """A stored snapshot as plain lines, trailing blank lines dropped."""
    lines = [strip_ansi(ln).rstrip() for ln in snapshot.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def side_by_side(before: str, after: str) -> list[DiffRow]:
    """Aligned rows of the two snapshots (plain text), changed rows tagged."""
    a, b = plain_lines(before), plain_lines(after)
    rows: list[DiffRow] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            rows += [DiffRow("equal", x, y) for x, y in zip(a[i1:i2], b[j1:j2], strict=True)]
            continue
        left, right = a[i1:i2], b[j1:j2]
        for k in range(max(len(left), len(right))):
            x = left[k] if k < len(left) else None
            y = right[k] if k < len(right) else None
            rows.append(
                DiffRow(tag if x is not None and y is not None else ("delete" if y is None else "insert"), x, y)
            )
    return rows


def unified(before: str, after: str, *, context: int = 3, names: tuple[str, str] = ("before", "after")) -> list[str]:
    """A unified diff of the two snapshots' plain text."""
    return list(
        difflib.unified_diff(plain_lines(before), plain_lines(after), names[0], names[1], n=context, lineterm="")
    )
