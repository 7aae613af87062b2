"""Where state lives: DISPATCH_HOME when set, else the platform's data/config directories."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Paths:
    """Every file location the tool uses, computed once from the environment at start-up."""

    data: Path
    config: Path

    @property
    def db(self) -> Path:
        return self.data / "dispatch.db"

    @property
    def config_file(self) -> Path:
        return self.config / "config.toml"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Paths:
        env = dict(os.environ) if env is None else env
        home = env.get("DISPATCH_HOME")
        if home:
            return cls(Path(home), Path(home))
        import platformdirs  # only needed without DISPATCH_HOME

        return cls(
            Path(platformdirs.user_data_dir("dispatch", appauthor=False)),
            Path(platformdirs.user_config_dir("dispatch", appauthor=False)),
        )
