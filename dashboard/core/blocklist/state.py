"""What earlier commands on the same line changed, which later ones are read against.

`D=~/.ssh; rm -r "$D"`, `cd ~/.ssh && rm *`, `cd /dev; dd of=sda`: a rule reading one command alone
would miss each of these, so the walker records variables, the directory and functions here.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from dashboard.core.blocklist.paths import is_home_ancestor, is_ssh_path, norm
from dashboard.core.blocklist.words import VAR


@dataclass
class Shell:
    """The shell's state as far as the command line has been read."""

    variables: dict[str, str] = field(default_factory=dict)
    in_ssh_dir: bool = False
    cwd_home: bool = False
    cwd: str | None = None
    """The directory a `cd` to a plain absolute path moved to (None: unknown)."""
    functions: dict[str, Any] = field(default_factory=dict)
    calls: dict[str, set[str]] = field(default_factory=dict)
    """Per function, what it runs in a pipeline or in the background (for fork-bomb cycles)."""

    def expand(self, word: str) -> str:
        """Known variables substituted; unknown ones left as written."""

        def sub(m: re.Match[str]) -> str:
            name = m.group(1) or m.group(2)
            return self.variables.get(name, m.group(0))

        return VAR.sub(sub, word)

    def absolute(self, path: str) -> str:
        """A relative path joined to the known directory (`cd /dev; … sda` is `/dev/sda`)."""
        return posixpath.join(self.cwd, path) if self.cwd and not path.startswith(("/", "~", "$")) else path

    def under_ssh(self, path: str) -> bool:
        """Under a .ssh directory, spelled out or relative to a `cd` into one."""
        return is_ssh_path(path) or (self.in_ssh_dir and not path.startswith(("/", "~", "$")))

    def declare(self, args: list[str]) -> None:
        """`export`/`declare`/`local`…: remember `NAME=value` arguments."""
        for a in args:
            key, eq, value = a.partition("=")
            if eq and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                self.variables[key] = value

    def change_dir(self, name: str, args: list[str]) -> None:
        """`cd`/`pushd`/`popd`: follow the directory as far as it can be known from the text."""
        target = args[-1] if args and name != "popd" else "-"
        if target in ("..", "-") or target.startswith("../"):
            self.in_ssh_dir = False
        else:
            self.in_ssh_dir = self.under_ssh(target)
        self.cwd_home = is_home_ancestor(target) and not self.in_ssh_dir
        self.cwd = norm(target) if target.startswith("/") and "$" not in target else None
