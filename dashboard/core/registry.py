"""The machine registry as data: entries, their expected identity, validation, and target addresses.

Pure (no I/O): the config file is read and written by `dashboard.adapters.config`, connections
are made by `dashboard.adapters.ssh`. Validation is strict on purpose: a typo in a registry entry
(`hostnmae = …`) must be an error, not an identity check that silently never happens.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dashboard.core.accounts import AccountRule
from dashboard.core.model import PaneInfo

LOCAL = "local"
"""The reserved machine name for this machine's tmux server."""

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
MACHINE_ID_RE = re.compile(r"^[0-9a-f]{32}$")
FINGERPRINT_RE = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}$")
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_COMMAND_TIMEOUT = 10.0

_KEYS: dict[str, type | tuple[type, ...]] = {
    "address": str,
    "user": str,
    "port": int,
    "socket": str,
    "hostname": str,
    "machine_id": str,
    "host_key": str,
    "connect_timeout": (int, float),
    "timeout": (int, float),
}
_SSH_KEYS: dict[str, type | tuple[type, ...]] = {"config": str}


class RegistryError(ValueError):
    """A registry problem; the message names the file, entry and field.

    `malformed` is True when the config file itself is wrong (exit 6), False for a bad name or
    an unknown machine given on the command line (exit 2).
    """

    def __init__(self, message: str, *, malformed: bool = True) -> None:
        super().__init__(message)
        self.malformed = malformed


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a machine is, read from the machine itself (never from a label or an alias).

    `host_key` is the SHA256 fingerprint of the SSH host key the connection was made with;
    `tmux_host` is what the tmux server on the chosen socket says its host is (None when no server
    runs there): it proves the tmux server, not only the SSH endpoint, is on that machine.
    """

    hostname: str
    machine_id: str
    host_key: str
    tmux_host: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "hostname": self.hostname,
            "machine_id": self.machine_id,
            "host_key": self.host_key,
            "tmux_host": self.tmux_host,
        }


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One field where the machine that answered differs from the registry."""

    field: str
    expected: str
    actual: str

    def __str__(self) -> str:
        return f"{self.field} expected {self.expected!r}, got {self.actual!r}"


@dataclass(frozen=True, slots=True)
class Machine:
    """One registry entry: how to reach a machine and who it must turn out to be."""

    name: str
    address: str
    user: str | None = None
    port: int | None = None
    socket: str | None = None
    hostname: str | None = None
    machine_id: str | None = None
    host_key: str | None = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    timeout: float = DEFAULT_COMMAND_TIMEOUT

    @property
    def socket_args(self) -> list[str]:
        """Tmux's server flags for this entry's socket: an absolute path is -S, a name is -L."""
        if not self.socket:
            return []
        return ["-S", self.socket] if self.socket.startswith("/") else ["-L", self.socket]

    @property
    def has_identity(self) -> bool:
        return bool(self.hostname and self.machine_id and self.host_key)

    def mismatches(self, actual: Identity) -> list[Mismatch]:
        """Every recorded identity field the answering machine does not match."""
        out: list[Mismatch] = []
        if self.host_key and actual.host_key != self.host_key:
            out.append(Mismatch("host key", self.host_key, actual.host_key))
        if self.hostname and actual.hostname != self.hostname:
            out.append(Mismatch("hostname", self.hostname, actual.hostname))
        if self.machine_id and actual.machine_id != self.machine_id:
            out.append(Mismatch("machine-id", self.machine_id, actual.machine_id))
        # the tmux server must be on the same machine as the shell that reached it
        if actual.tmux_host is not None and actual.tmux_host != actual.hostname:
            out.append(Mismatch("tmux server host", actual.hostname, actual.tmux_host))
        return out

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "address": self.address,
            "user": self.user,
            "port": self.port,
            "socket": self.socket,
            "identity": {"hostname": self.hostname, "machine_id": self.machine_id, "host_key": self.host_key},
        }


@dataclass(frozen=True, slots=True)
class Registry:
    """Every machine of the fleet plus the SSH settings that apply to all of them."""

    machines: dict[str, Machine] = field(default_factory=dict)
    ssh_config: str | None = None
    source: str = "config.toml"
    accounts: tuple[AccountRule, ...] = ()
    """`[accounts]` rules: which account (subscription) a pane's agent runs under (first match wins)."""

    def get(self, name: str) -> Machine:
        try:
            return self.machines[name]
        except KeyError:
            known = ", ".join(sorted(self.machines)) or "none registered"
            raise RegistryError(f"unknown machine '{name}' (known: {known})", malformed=False) from None


def parse_registry(data: dict[str, Any], source: str = "config.toml") -> Registry:
    """Validate a parsed config document into a Registry; raise RegistryError naming the bad field."""
    machines: dict[str, Machine] = {}
    raw = data.get("machines", {})
    if not isinstance(raw, dict):
        raise RegistryError(f"{source}: 'machines' must be a table of [machines.NAME] entries")
    for name, entry in raw.items():
        machines[name] = parse_machine(name, entry, source)
    ssh = data.get("ssh", {})
    if not isinstance(ssh, dict):
        raise RegistryError(f"{source}: 'ssh' must be a table")
    for key, value in ssh.items():
        if key not in _SSH_KEYS:
            raise RegistryError(f"{source}: ssh.{key}: unknown setting (known: {', '.join(_SSH_KEYS)})")
        if not isinstance(value, str) or not value:
            raise RegistryError(f"{source}: ssh.{key}: expected a non-empty string")
    if "accounts" in data and "profiles" in data:
        raise RegistryError(f"{source}: both [accounts] and its old name [profiles]: keep [accounts]")
    section = "profiles" if "profiles" in data else "accounts"  # [profiles]: its earlier name, still read
    rules = data.get(section, {})
    if not isinstance(rules, dict):
        raise RegistryError(f'{source}: \'{section}\' must be a table of "pattern" = "account" lines')
    accounts = []
    for pattern, name in rules.items():
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise RegistryError(f"{source}: {section}.{pattern}: expected an account name (letters, digits, - _ .)")
        if pattern.count(":") > 2 or not pattern:
            raise RegistryError(f"{source}: {section}: bad pattern {pattern!r} (machine[:session[:window.pane]])")
        accounts.append(AccountRule(pattern, name))
    return Registry(machines, ssh.get("config"), source, tuple(accounts))


def parse_machine(name: str, entry: object, source: str = "config.toml") -> Machine:
    where = f"{source}: machines.{name}"
    check_name(name, where)
    if not isinstance(entry, dict):
        raise RegistryError(f"{where}: expected a table with at least 'address'")
    for key, value in entry.items():
        if key not in _KEYS:
            raise RegistryError(f"{where}.{key}: unknown field (known: {', '.join(_KEYS)})")
        kind = _KEYS[key]
        if isinstance(value, bool) or not isinstance(value, kind):
            want = "a number" if kind == (int, float) else ("an integer" if kind is int else "a string")
            raise RegistryError(f"{where}.{key}: expected {want}, got {value!r}")
    if "address" not in entry or not str(entry["address"]).strip():
        raise RegistryError(f"{where}: missing 'address' (a Tailscale name, LAN address or ~/.ssh/config alias)")
    address = str(entry["address"]).strip()
    if any(c.isspace() for c in address) or address.startswith("-"):
        raise RegistryError(f"{where}.address: not a host name or address: {address!r}")
    port = entry.get("port")
    if port is not None and not 1 <= port <= 65535:
        raise RegistryError(f"{where}.port: expected 1-65535, got {port}")
    mid = entry.get("machine_id")
    if mid is not None and not MACHINE_ID_RE.match(mid):
        raise RegistryError(f"{where}.machine_id: expected 32 lowercase hex digits (/etc/machine-id), got {mid!r}")
    key = entry.get("host_key")
    if key is not None and not FINGERPRINT_RE.match(key):
        raise RegistryError(f"{where}.host_key: expected a SHA256:… fingerprint (ssh-keygen -lf), got {key!r}")
    for t in ("connect_timeout", "timeout"):
        if t in entry and not 0 < entry[t] <= 600:
            raise RegistryError(f"{where}.{t}: expected seconds in (0, 600], got {entry[t]}")
    sock = entry.get("socket")
    if sock is not None and (not sock or "\n" in sock):
        raise RegistryError(f"{where}.socket: expected a tmux socket name or absolute path")
    return Machine(
        name=name,
        address=address,
        user=entry.get("user"),
        port=port,
        socket=sock,
        hostname=entry.get("hostname"),
        machine_id=mid,
        host_key=key,
        connect_timeout=float(entry.get("connect_timeout", DEFAULT_CONNECT_TIMEOUT)),
        timeout=float(entry.get("timeout", DEFAULT_COMMAND_TIMEOUT)),
    )


def check_name(name: str, where: str = "machine", *, malformed: bool = True) -> None:
    if name == LOCAL:
        raise RegistryError(f"{where}: '{LOCAL}' is reserved for this machine", malformed=malformed)
    if not NAME_RE.match(name):
        msg = f"{where}: bad machine name {name!r} (letters, digits, '-', '_', '.'; no ':')"
        raise RegistryError(msg, malformed=malformed)


def split_target(target: str, machines: set[str] | dict[str, Any]) -> tuple[str, str]:
    """`machine:session:window.pane` / `machine:%12` → (machine, pane part); unqualified → local.

    One colon is ambiguous (`work:1` is session `work` window 1, or machine `work` session 1):
    it names a machine only when that machine is registered (or is `local`). Two colons always
    start with a machine, since tmux session names cannot contain ':'.
    """
    head, sep, rest = target.partition(":")
    if not sep:
        return LOCAL, target
    if head == LOCAL or head in machines:
        if not rest:
            raise RegistryError(f"target '{target}' names a machine but no pane", malformed=False)
        return head, rest
    if ":" in rest:
        raise RegistryError(f"unknown machine '{head}' in target '{target}'", malformed=False)
    return LOCAL, target


def qualify(machine: str, pane_target: str) -> str:
    """The full address of a pane as shown to users: unprefixed on this machine."""
    return pane_target if machine == LOCAL else f"{machine}:{pane_target}"


def resolve_target(panes: Sequence[PaneInfo], target: str) -> PaneInfo | None:
    """Find the pane a target names, exactly.

    Accepts `%12`, `session:window.pane`, `session:window` (its active pane) or `session` (its
    current pane). tmux's own prefix matching is deliberately not used: `work` must never reach
    `workshop`.
    """
    if target.startswith("%"):
        return next((p for p in panes if p.pane_id == target), None)
    session, _, rest = target.partition(":")
    window, _, pane = rest.partition(".")
    candidates = [p for p in panes if p.session == session]
    if window:
        candidates = [p for p in candidates if str(p.window_index) == window or p.window_name == window]
    if pane:
        candidates = [p for p in candidates if str(p.pane_index) == pane]
    elif len(candidates) > 1:
        candidates = [p for p in candidates if (p.pane_active if window else p.active)]
    return candidates[0] if len(candidates) == 1 else None
