"""One line per fleet: every machine with its reachability and identity status, worst first."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from dashboard.services.watch import MachineStatus

_MARK = {
    "ok": ("●", "bold #5fd787"),
    "no-tmux": ("○", "bold #bcbcbc"),
    "unreachable": ("✖", "bold #ff5f5f"),
    "mismatch": ("⚠", "bold #ffd75f"),
    "error": ("✖", "bold #ff8700"),
}
_LABEL = {"mismatch": "WRONG IDENTITY", "unreachable": "unreachable", "error": "error"}
_RANK = {"mismatch": 0, "unreachable": 1, "error": 2, "no-tmux": 3, "ok": 4}


class FleetBar(Static):
    """Shown only when machines are registered: a wrong or missing machine must be impossible to miss."""

    def update_machines(self, machines: dict[str, MachineStatus]) -> None:
        self.set_class(any(not m.ok for m in machines.values()), "-trouble")
        line = Text()
        for m in machines.values():
            mark, style = _MARK.get(m.state, ("?", "bold"))
            if line:
                line.append("   ")
            line.append(f"{mark} {m.name}", style=style)
            if m.state == "ok":
                line.append(f" {m.panes} panes · {m.agents} agents", style="dim")
            elif m.state == "no-tmux":
                line.append(" no tmux server", style="dim")
            else:
                line.append(f" {_LABEL.get(m.state, m.state)}", style=style)
        trouble = sorted((m for m in machines.values() if not m.ok), key=lambda m: _RANK.get(m.state, 9))
        for m in trouble[:3]:
            line.append("\n")
            line.append(f"  {m.name}: {m.detail}", style=_MARK.get(m.state, ("", ""))[1])
        self.update(line)
