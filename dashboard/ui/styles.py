"""Where the .tcss files are: `styles/` beside the package in a checkout, `_styles/` inside a wheel."""

from __future__ import annotations

from pathlib import Path

import dashboard

FILES = ("global.tcss", "main.tcss", "log.tcss", "diff.tcss")


def styles_dir() -> Path:
    package = Path(dashboard.__file__).resolve().parent
    for candidate in (package / "_styles", package.parent / "styles"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("dispatch's styles/ folder is missing from this installation")


def css_paths() -> list[Path]:
    """Absolute paths, since Textual resolves relative CSS_PATH next to the App's module."""
    root = styles_dir()
    return [root / name for name in FILES]
