"""One line per fleet: every machine with its reachability and identity status, worst first."""

from __future__ import annotations

from collections import Counter

from rich.text import Text
from textual.widgets import Static

from dashboard.services.watch import MachineStatus, PaneStatus

_MARK = {
    "ok": ("●", "bold #5fd787"),
    "no-tmux": ("○", "bold #bcbcbc"),
    "unreachable": ("✖", "bold #ff5f5f"),
    "mismatch": ("⚠", "bold #ffd75f"),
    "error": ("✖", "bold #ff8700"),
}
_LABEL = {"mismatch": "WRONG IDENTITY", "unreachable": "unreachable", "error": "error"}
_RANK = {"mismatch": 0, "unreachable": 1, "error": 2, "no-tmux": 3, "ok": 4}


def _show(bar: Static, line: Text, visible: bool = True) -> None:
    """Update a bar only when what it shows changed: an unchanged bar costs no layout and no repaint."""
    if bar.display != visible:
        bar.display = visible
    if getattr(bar, "_shown", None) != line:
        bar._shown = line  # type: ignore[attr-defined]
        bar.update(line)


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
                how = "live" if m.feed else "polled (tmux < 3.7)" if m.feed_note else "polled"
                line.append(f" {m.panes} panes · {m.agents} agents · {how}", style="dim")
            elif m.state == "no-tmux":
                line.append(" no tmux server", style="dim")
            else:
                line.append(f" {_LABEL.get(m.state, m.state)}", style=style)
        trouble = sorted((m for m in machines.values() if not m.ok), key=lambda m: _RANK.get(m.state, 9))
        for m in trouble[:3]:
            line.append("\n")
            line.append(f"  {m.name}: {m.detail}", style=_MARK.get(m.state, ("", ""))[1])
        _show(self, line)


class AccountBar(Static):
    """Per account (subscription): how many of its agents work, idle, or wait out a rate limit (and until when)."""

    def update_accounts(self, statuses: list[PaneStatus]) -> None:
        counts: dict[str, Counter[str]] = {}
        resets: dict[str, str] = {}
        for st in statuses:
            if st.view.account is None or st.view.cls.agent is None:
                continue
            state = st.view.cls.state.value
            counts.setdefault(st.view.account, Counter())[state] += 1
            if state == "rate-limited" and st.view.cls.reset:
                resets.setdefault(st.view.account, st.view.cls.reset)
        line = Text()
        for name in sorted(counts):
            c = counts[name]
            if line:
                line.append("   ")
            line.append(f"⚑{name}", style="bold #af87ff")
            parts = [(f"{n} {label}", style) for n, label, style in
                     ((c["working"], "working", "#5fafff"), (c["idle"], "idle", "#5fd787")) if n]  # fmt: skip
            if c["rate-limited"]:
                reset = f" (resets {resets[name]})" if name in resets else ""
                parts.append((f"{c['rate-limited']} limited{reset}", "bold #af5fd7"))
            other = sum(c.values()) - c["working"] - c["idle"] - c["rate-limited"]
            if other:
                parts.append((f"{other} other", "dim"))
            for text, style in parts:
                line.append(" " + text, style=style)
        _show(self, line, bool(counts))
