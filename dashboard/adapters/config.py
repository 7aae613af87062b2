"""The config file (TOML): read it strictly, edit its [machines.NAME] tables without losing the rest.

Python reads TOML (tomllib) but does not write it, and a rewrite from parsed data would drop the
user's comments and ordering. So edits are textual: a machine's table is appended, or its lines
(from its header to the next header) are removed, then the whole file is re-parsed before it
atomically replaces the old one. A write that would leave an invalid file never happens.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path

from dashboard.core.registry import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_CONNECT_TIMEOUT,
    Machine,
    Registry,
    RegistryError,
    parse_registry,
)

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def load_registry(path: Path) -> Registry:
    """The registry in `path`; an absent file is an empty registry.

    Anything else that keeps the file from being read as UTF-8 TOML (a directory in its place, no
    permission, bytes that are not UTF-8) is a RegistryError naming the file (exit 6).
    """
    text = _read(path)
    if text is None:
        return Registry(source=str(path))
    return _parse(text, path)


def _read(path: Path) -> str | None:
    """The file's text; None when there is no such file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RegistryError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RegistryError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def _parse(text: str, path: Path) -> Registry:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"{path}: not valid TOML: {exc}") from None
    return parse_registry(data, str(path))


def machine_table(m: Machine) -> str:
    """The TOML text of one entry (JSON string escapes are valid TOML basic-string escapes)."""
    lines = [f"[machines.{_key(m.name)}]", f"address = {json.dumps(m.address)}"]
    for key in ("user", "socket", "hostname", "machine_id", "host_key"):
        value = getattr(m, key)
        if value is not None:
            lines.append(f"{key} = {json.dumps(value)}")
    if m.port is not None:
        lines.append(f"port = {m.port}")
    if m.connect_timeout != DEFAULT_CONNECT_TIMEOUT:
        lines.append(f"connect_timeout = {m.connect_timeout:g}")
    if m.timeout != DEFAULT_COMMAND_TIMEOUT:
        lines.append(f"timeout = {m.timeout:g}")
    return "\n".join(lines) + "\n"


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def add_machine(path: Path, machine: Machine, *, replace: bool = False) -> Registry:
    """Record `machine`; an existing entry of that name is an error unless `replace`."""
    text = _read(path) or ""
    registry = _parse(text, path) if text.strip() else Registry(source=str(path))
    if machine.name in registry.machines:
        if not replace:
            raise RegistryError(
                f"machine '{machine.name}' is already registered (use --replace to re-record it)", malformed=False
            )
        text = _without(text, machine.name)
    sep = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
    return _write(path, text + sep + machine_table(machine))


def remove_machine(path: Path, name: str) -> Registry:
    """Forget `name`. Works on a file whose only fault is that entry, so a bad entry can be removed."""
    text = _read(path) or ""
    rest = _without(text, name)
    if rest == text:
        registry = _parse(text, path) if text.strip() else Registry(source=str(path))
        registry.get(name)  # raises a clear "unknown machine"
    return _write(path, rest)


def _without(text: str, name: str) -> str:
    """The text minus the [machines.NAME] table (and its [machines.NAME.*] sub-tables)."""
    out: list[str] = []
    skipping = False
    for line in text.splitlines(keepends=True):
        m = _HEADER.match(line)
        if m:
            parts = _dotted(m.group(1))
            skipping = len(parts) >= 2 and parts[0] == "machines" and parts[1] == name
        if not skipping:
            out.append(line)
    return re.sub(r"\n{3,}", "\n\n", "".join(out))


def _dotted(key: str) -> list[str]:
    """`machines."gpu.2".x` → ['machines', 'gpu.2', 'x'] (dots inside quotes do not split)."""
    return [
        (json.loads(q) if q.startswith('"') else q.strip("'")) if q else b.strip()
        for q, b in re.findall(r'\s*("(?:[^"\\]|\\.)*"|\'[^\']*\')\s*|([^.]+)', key)
    ]


def _write(path: Path, text: str) -> Registry:
    import tempfile  # here, not above: every command reads the registry, few write it (tempfile costs ~3 ms)

    registry = _parse(text, path)  # never write a file that would not load
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".config-", dir=path.parent)
    except OSError as exc:
        raise RegistryError(f"{path}: cannot write ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise RegistryError(f"{path}: cannot write ({exc.strerror or exc})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return registry
