"""Agents as the classifier sees them.

Why a pane reads as it does (`agents explain`), and saved screens checked against what a person says
they show (`agents test`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from dashboard.core.agents import known
from dashboard.core.classify import Explanation, classify, explain
from dashboard.core.model import PaneInfo
from dashboard.core.ports import TmuxHost
from dashboard.core.registry import resolve_target
from dashboard.core.screen import parse_capture


async def explain_pane(host: TmuxHost, local_target: str) -> tuple[PaneInfo, Explanation] | None:
    """The pane a target names on `host` and why it classifies as it does; None when there is no such pane."""
    pane = await host.pane(local_target) if local_target.startswith("%") else None
    if pane is None:
        pane = resolve_target(await host.list_panes(), local_target)
    if pane is None:
        return None
    screen = parse_capture(await host.capture(pane.pane_id), height=pane.height)
    own = any(pane.command.rsplit("/", 1)[-1] in p.processes for p in known().profiles)
    cmdline = None if own else await host.foreground(pane)
    return pane, explain(pane, screen, cmdline)


@dataclass(frozen=True, slots=True)
class ScreenCheck:
    """One saved screen against its expectation: what was expected, what the classifier says."""

    screen: str
    expected: dict[str, str]
    got: dict[str, str | None]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, object]:
        return {"screen": self.screen, "ok": self.ok, "expected": self.expected, "got": self.got,
                "problems": list(self.problems)}  # fmt: skip


_EXPECT_KEYS = {"agent", "state", "composer", "command"}


def test_screens(folder: Path) -> tuple[list[ScreenCheck], list[str]]:
    """Classify every saved screen in `folder` that has an expectation, and say where they disagree.

    A screen is `NAME.txt` or `NAME.ansi.txt` (as `capture-pane -p [-e]` writes them); its sidecar
    `NAME.expect.toml` holds agent, state, optionally composer and command (the pane's program, when
    the screen alone should not decide).

    Returns the checks and the screens with no sidecar (reported, not failed). ValueError names a bad sidecar.
    """
    checks: list[ScreenCheck] = []
    unexpected: list[str] = []
    for path in sorted(folder.rglob("*.txt")):
        stem = path.name.removesuffix(".txt").removesuffix(".ansi")
        sidecar = path.with_name(f"{stem}.expect.toml")
        if not sidecar.is_file():
            unexpected.append(str(path.relative_to(folder)))
            continue
        try:
            expected = tomllib.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"{sidecar}: cannot be read as TOML ({exc})") from None
        bad = sorted(set(expected) - _EXPECT_KEYS) or [k for k, v in expected.items() if not isinstance(v, str)]
        if bad:
            raise ValueError(f"{sidecar}: {bad[0]}: expected one of {sorted(_EXPECT_KEYS)}, each a string")
        text = path.read_text(encoding="utf-8", errors="replace")
        screen = parse_capture(text)
        pane = PaneInfo("%0", "test", 0, 0, command=expected.get("command", ""), height=len(screen.lines))
        cls = classify(pane, screen)
        got: dict[str, str | None] = {"agent": cls.agent, "state": str(cls.state), "composer": cls.composer}
        problems = tuple(
            f"{key}: expected {expected[key]!r}, got {got[key]!r}"
            for key in ("agent", "state", "composer")
            if key in expected and got[key] != expected[key]
        )
        checks.append(ScreenCheck(str(path.relative_to(folder)), dict(expected), got, problems))
    return checks, unexpected
