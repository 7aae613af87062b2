"""Receipt hooks on this machine or on a fleet machine: the same wiring code runs in both places.

`dashboard/hooks/wiring.py` edits an agent's settings (stdlib only). Here it is imported for this
machine and shipped over the machine's SSH link otherwise (on stdin, with the receipt command's
source), so a fleet machine needs python3 but not Dispatch. Without `--agent`, every wired agent
whose config directory exists on that machine is handled; the others are reported as absent.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shlex
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from dashboard.core.ports import HostError
from dashboard.core.registry import LOCAL
from dashboard.hooks import wiring
from dashboard.hooks.wiring import SYSTEMS, HookError, HookSystem, config_dir, run
from dashboard.services.fleet import Fleet

__all__ = ["SYSTEMS", "HookError", "HookStatus", "HookSystem", "apply", "config_dir", "install", "receipt_source",
           "status", "uninstall"]  # fmt: skip

ACTIONS = ("install", "uninstall", "status")


@dataclass(frozen=True, slots=True)
class HookStatus:
    """Which of our hooks an agent's settings carry on a machine, or why they could not be changed."""

    machine: str
    agent: str
    settings: str
    events: list[str]
    script: bool
    installed: bool
    present: bool
    """The agent's config directory exists there (an agent without one is skipped when none was named)."""
    error: str | None = None
    note: str | None = None
    """Something the user should know for the hooks to work (Codex: its background server must restart)."""

    @classmethod
    def of(cls, machine: str, d: dict[str, object]) -> HookStatus:
        events = d.get("events")
        return cls(machine, str(d.get("agent", "")), str(d.get("settings", "")),
                   [str(e) for e in events] if isinstance(events, list) else [], bool(d.get("script")),
                   bool(d.get("installed")), bool(d.get("present", True)),
                   str(d["error"]) if d.get("error") else None,
                   str(d["note"]) if d.get("note") else None)  # fmt: skip

    def to_json(self) -> dict[str, object]:
        return {"machine": self.machine, "agent": self.agent, "settings": self.settings, "events": self.events,
                "script": self.script, "installed": self.installed, "present": self.present,
                "error": self.error, "note": self.note}  # fmt: skip


def install(system: HookSystem, folder: Path) -> HookStatus:
    """Receipt hooks into the agent's settings in `folder` on this machine (HookError: nothing changed)."""
    return HookStatus.of(LOCAL, wiring.install(system, folder, receipt_source()))


def uninstall(system: HookSystem, folder: Path) -> HookStatus:
    return HookStatus.of(LOCAL, wiring.uninstall(system, folder))


def status(system: HookSystem, folder: Path) -> HookStatus:
    return HookStatus.of(LOCAL, wiring.status(system, folder))


def receipt_source() -> bytes:
    return (resources.files("dashboard.hooks") / "receipt.py").read_bytes()


_BOOT = (
    "import base64, json, sys, types\n"
    "d = json.load(sys.stdin)\n"
    "m = types.ModuleType('dispatch_wiring'); sys.modules[m.__name__] = m\n"
    "exec(compile(d['wiring'], 'dispatch_wiring.py', 'exec'), m.__dict__)\n"
    "sys.exit(m.main(sys.argv[1:], base64.b64decode(d['receipt'])))\n"
)
"""Run on the fleet machine: the wiring module and the receipt command arrive together on stdin."""


def _wiring_source() -> str:
    return (resources.files("dashboard.hooks") / "wiring.py").read_text(encoding="utf-8")


async def apply(
    fleet: Fleet, machine: str, action: str, agents: list[str] | None, given_dir: str | None, timeout: float = 20.0
) -> list[HookStatus]:
    """`action` for the named agents (all wired ones when None) on `machine`, one status per agent.

    With no agent named, install and uninstall touch only agents whose config directory exists
    there (installing Gemini hooks on a machine without Gemini would make a directory for nothing).
    Raises HostError when the machine cannot be reached or cannot run the wiring.
    """
    names = agents or list(SYSTEMS)
    out = []
    for agent in names:
        if agents is None and action != "status":
            probe = await _run(fleet, machine, "status", agent, given_dir, timeout)
            if not probe.present:
                out.append(probe)
                continue
        out.append(await _run(fleet, machine, action, agent, given_dir, timeout))
    return out


async def _run(fleet: Fleet, machine: str, action: str, agent: str, given: str | None, timeout: float) -> HookStatus:
    if machine == LOCAL:
        d = await asyncio.to_thread(run, action, agent, given, receipt_source(), dict(os.environ))
        return HookStatus.of(machine, d)
    link = fleet.link(machine)
    if link is None:
        raise HostError(f"{machine}: not reachable over SSH")
    envelope = {"wiring": _wiring_source(), "receipt": base64.b64encode(receipt_source()).decode()}
    argv = ["python3", "-c", _BOOT, action, agent, given or ""]
    code, out, err = await link.exec(" ".join(shlex.quote(a) for a in argv), json.dumps(envelope).encode(), timeout)
    if code == 127:
        raise HostError(f"{machine}: python3 is not installed there (receipts need it); nothing was changed")
    try:
        d = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        why = err.decode(errors="replace").strip().splitlines()[-1:] or [f"exit {code}"]
        raise HostError(f"{machine}: the hook wiring did not answer ({why[0][:200]}); state unknown") from None
    return HookStatus.of(machine, d)
