"""Shared fixtures: keep the developer's machine out of every test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
CAPTURES = FIXTURES / "captures"


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """State and config go to a temp dir; no DISPATCH_* timing settings leak in from the shell."""
    home = tmp_path / "dispatch-home"
    monkeypatch.setenv("DISPATCH_HOME", str(home))
    for var in (
        "DISPATCH_DELAY_FLOOR_MS",
        "DISPATCH_DELAY_CEIL_MS",
        "DISPATCH_MS_PER_WORD",
        "DISPATCH_MS_PER_CHAR",
        "DISPATCH_ENTER_DELAY_MS",
    ):
        monkeypatch.delenv(var, raising=False)
    yield home
