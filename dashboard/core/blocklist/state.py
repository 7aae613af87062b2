"""What earlier commands on the same line changed, which later ones are read against.

`D=~/.ssh; rm -r "$D"`, `cd ~/.ssh && rm *`, `cd /dev; dd of=sda`: a rule reading one command alone
would miss each of these, so the walker records variables, the directory and functions here.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from dashboard.core.blocklist.paths import is_block_device, is_home_ancestor, is_ssh_path, norm
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
    cwd_unknown: bool = False
    """A `cd` went to a directory built by an expansion the check cannot evaluate."""
    written: set[str] = field(default_factory=set)
    """Files and directories earlier commands on the line wrote (a program run from one is unreadable)."""
    cwd_written: bool = False
    """A `cd` went into a directory written earlier on the line."""
    opaque: set[str] = field(default_factory=set)
    """Variables whose value came from an expansion the check cannot evaluate (`c=$(which rm)`)."""
    ssh_links: set[str] = field(default_factory=set)
    """Symlinks to a .ssh directory made earlier on the line (`ln -s ~/.ssh /tmp/s`)."""
    device_links: set[str] = field(default_factory=set)
    """Symlinks to a block device made earlier on the line (`ln -sf /dev/sda disk.img`)."""
    path_changed: bool = False
    """PATH was assigned on this line: a bare command name may now be another program."""

    def is_device(self, path: str) -> bool:
        return is_block_device(path) or posixpath.normpath(self.absolute(path)) in self.device_links

    def assign(self, name: str, value: str, *, known: bool) -> None:
        self.variables[name] = value
        if known:
            self.opaque.discard(name)
        else:
            self.opaque.add(name)

    def note_written(self, path: str) -> None:
        if path and path != "-" and not path.startswith("/dev/"):
            self.written.add(posixpath.normpath(self.absolute(path)))

    def wrote(self, path: str) -> bool:
        """Is `path` (or a directory above it) something written earlier on this line?"""
        if self.cwd_written and not path.startswith(("/", "~", "$")):
            return True
        p = posixpath.normpath(self.absolute(path))
        return any(p == w or p.startswith(w.rstrip("/") + "/") for w in self.written)

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
        """Under a .ssh directory, spelled out, relative to a `cd` into one, or through a link made to one."""
        if is_ssh_path(path) or (self.in_ssh_dir and not path.startswith(("/", "~", "$"))):
            return True
        p = posixpath.normpath(path) if path else path
        return any(p == link or p.startswith(link + "/") for link in self.ssh_links)

    def split(self, value: str) -> list[str]:
        """An unquoted expansion's value split into words on IFS (default: blanks), as bash does."""
        ifs = self.variables.get("IFS", " \t\n")
        if "IFS" in self.opaque:
            ifs = " \t\n"
        if not ifs:
            return [value]
        return [w for w in re.split("[" + re.escape(ifs) + "]+", value) if w] or [value]

    def unknown_from(self, name: str, args: list[str]) -> None:
        """`read D`, `printf -v D …`, `mapfile A`, `set -- …`: these variables now hold what the check cannot see."""
        if name == "printf":
            targets = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "-v"]
        elif name == "set":
            targets = [str(i) for i in range(1, 10)] + ["@", "*"] if "--" in args or args[:1] != [] else []
        else:
            targets = [a for a in args if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", a)]
        for t in targets:
            self.assign(t, f"${{{t}}}", known=False)  # itself: never an empty path, which reads as `/`

    def change_dir(self, name: str, args: list[str]) -> None:
        """`cd`/`pushd`/`popd`: follow the directory as far as it can be known from the text."""
        target = args[-1] if args and name != "popd" else "-"
        if target in ("..", "-") or target.startswith("../"):
            self.in_ssh_dir = False
        else:
            self.in_ssh_dir = self.under_ssh(target)
        self.cwd_home = is_home_ancestor(target) and not self.in_ssh_dir
        self.cwd_written = self.wrote(target) if target not in ("-", "..") else False
        self.cwd = norm(target) if target.startswith("/") and "$" not in target else None
