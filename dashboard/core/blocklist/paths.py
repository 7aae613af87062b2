"""What a path names: a block device, something under a `.ssh` directory, or a directory holding homes.

Paths are judged as written (`~`, `$HOME`, globs, `..`), since the shell has not expanded them yet.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re

from dashboard.core.blocklist.vocabulary import BLOCK_DEVICE, SSH_FILES
from dashboard.core.blocklist.words import VAR


def norm(path: str) -> str:
    p = posixpath.normpath(path.strip()) if path.strip().startswith("/") else path.strip()
    return "/" + p.lstrip("/") if p.startswith("//") else p


def is_block_device(path: str) -> bool:
    p = norm(path)
    if p in ("/dev/null", "/dev/zero", "/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty", "/dev/random",
             "/dev/urandom", "/dev/full"):  # fmt: skip
        return False
    if p.startswith(("/dev/fd/", "/dev/pts/", "/dev/shm/", "/dev/tty", "/dev/mqueue/", "/dev/hugepages/")):
        return False
    return bool(BLOCK_DEVICE.match(p))


_HOME_PREFIX = re.compile(r"^(~[A-Za-z0-9_.-]*|\$\{?HOME\}?|/root|/home/[^/]+|/Users/[^/]+|/var/root)(?=/|$)")


def _components(path: str) -> list[str]:
    return [c for c in re.split(r"/+", path) if c and c != "."]


def is_ssh_path(path: str) -> bool:
    """Any path with a `.ssh` component (or a glob that would match one, or `..` tricks around one)."""
    if not path or path.startswith("-"):
        return False
    parts: list[str] = []
    for comp in _components(path.replace("\\", "")):
        if comp == "..":
            if parts:
                parts.pop()
            continue
        parts.append(comp)
    for comp in parts:
        if comp.lower() == ".ssh":  # macOS and Windows volumes ignore case: ~/.SSH is ~/.ssh
            return True
        # an unset or unknown variable inside a name could be anything: `.ss${x}h` may well be `.ssh`
        pattern = VAR.sub("*", comp).replace("[^", "[!").lower()
        if pattern[:1] in (".", "[") and any(ch in pattern for ch in "*?[") and fnmatch.fnmatchcase(".ssh", pattern):
            return True
    return False


def is_home_ancestor(path: str) -> bool:
    """Is this a directory that holds users' .ssh directories (`/`, `/home`, `/root`, `~`, `$HOME`)?"""
    p = norm(path).rstrip("/") or "/"
    if p in ("/", "/home", "/Users", "/*", "/home/*", "/root", "/var/root"):
        return True
    if re.fullmatch(r"(~[A-Za-z0-9_.-]*|\$\{?HOME\}?)(/\.{1,2})*/\.\.(/\.{1,2})*", p):
        return True  # `~/..` is /home
    m = _HOME_PREFIX.match(p)
    return bool(m and m.end() == len(p))


def find_may_reach_ssh(args: list[str]) -> bool:
    """Can `find ARGS` match something a .ssh directory holds? A `-name '*.swp'` filter cannot."""
    names = [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-name", "-iname")]
    return not names or any(fnmatch.fnmatch(f, pat) for pat in names for f in SSH_FILES)
