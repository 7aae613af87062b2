"""The user's agent profiles: files in the config directory and [agents.NAME] tables in config.toml.

Read strictly, like the registry: a file that is not UTF-8 TOML, or a profile with a bad field, is
an error naming the file, the profile and the field (exit 6) — never a profile silently skipped.
Later wins: built-ins, then `agents/*.toml` (by file name), then `[agents.NAME]` in config.toml.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from dashboard.adapters.paths import Paths
from dashboard.core.agents import AgentBook, AgentProfile, AgentProfileError, builtin, parse_profile


def load_agents(paths: Paths) -> AgentBook:
    """The profiles in force for this state: the built-ins and the user's (which override by name)."""
    extra: list[tuple[AgentProfile, str]] = []
    folder = paths.config / "agents"
    if folder.is_dir():
        for file in sorted(folder.glob("*.toml")):
            extra.append((parse_profile(_read(file), str(file)), str(file)))
    config = paths.config_file
    if config.is_file():
        tables = _read(config).get("agents", {})
        if not isinstance(tables, dict):
            raise AgentProfileError(f"{config}: 'agents' must be a table of [agents.NAME] profiles")
        for name, table in tables.items():
            source = f"{config} [agents.{name}]"
            if not isinstance(table, dict):
                raise AgentProfileError(f"{source}: expected a table")
            extra.append((parse_profile({"name": name, **table}, source), source))
    return builtin().merged(extra)


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise AgentProfileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise AgentProfileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AgentProfileError(f"{path}: not valid TOML: {exc}") from None
