"""One pane of the fleet: target, agent, state badge, time in state, last line, last verdict."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Region
from textual.reactive import reactive
from textual.widget import Widget

from dashboard.core.accounts import parse_reset, until
from dashboard.core.model import PaneState, SendRecord, Verdict
from dashboard.core.wording import verdict_mark
from dashboard.services.watch import PaneStatus

STATE_STYLE: dict[str, str] = {
    "idle": "bold black on #5fd787",
    "working": "bold black on #5fafff",
    "stuck-in-composer": "bold white on #d75f00",
    "dialog": "bold black on #ffd75f",
    "needs-input": "bold black on #ffaf00",
    "rate-limited": "bold white on #af5fd7",
    "dead": "bold white on #870000",
    "shell": "bold black on #bcbcbc",
    "unknown": "bold white on #585858",
}
VERDICT_STYLE: dict[str, str] = {
    "submitted": "bold green",
    "queued": "bold cyan",
    "stuck-in-composer": "bold #ff8700",
    "not-received": "bold red",
    "unrecognised": "bold red",
    "refused": "bold yellow",
    "error": "bold red",
    "pending": "dim",
    "started": "bold green",
    "finished": "bold green",
    "unreachable": "bold red",
    "identity-mismatch": "bold red",
    "interrupted": "bold #ff8700",
}
PHASE_LABEL = {
    "inspecting": "inspecting…",
    "waiting-idle": "waiting for idle…",
    "pasting": "pasting…",
    "waiting": "waiting…",
    "submitting": "submitting…",
    "retrying": "retrying Enter…",
    "verifying": "verifying…",
}


def card_id(key: str) -> str:
    """A widget id for a pane key: `%3` → pane-3; other characters are hex-escaped, so ids never collide."""
    body = key.removeprefix("%")
    return "pane-" + re.sub(r"[^A-Za-z0-9-]", lambda m: f"_{ord(m.group()):x}_", body)


def ago(seconds: float) -> str:
    """A short human duration: 4s, 15s, 3m, 2h05.

    Seconds count one by one only for the first ten (a send just landed); then by fives: a label that
    changes every second makes every young card repaint every second.
    """
    s = max(0, int(seconds))
    if s < 10:
        return f"{s}s"
    if s < 60:
        return f"{s - s % 5}s"
    if s < 3600:
        return f"{s // 60}m"
    return f"{s // 3600}h{(s % 3600) // 60:02d}"


class PaneCard(Widget, can_focus=True):
    """A focusable card; selection (space) makes it part of the next batch."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move('up')", "Up", show=False),
        Binding("down,j", "move('down')", "Down", show=False),
        Binding("left,h", "move('left')", "Left", show=False),
        Binding("right,l", "move('right')", "Right", show=False),
        Binding("g,home", "move('first')", "First", show=False),
        Binding("G,end", "move('last')", "Last", show=False),
    ]

    def action_move(self, direction: str) -> None:
        """Focus the card that lies that way on screen (the nearest one), or the first / last one shown."""
        cards = [c for c in self.screen.query(PaneCard) if c.display and c is not self and c.region.area]
        if direction in ("first", "last"):
            shown = sorted([*cards, self], key=lambda c: (c.region.y, c.region.x))
            target: PaneCard | None = shown[0] if direction == "first" else shown[-1]
        else:
            target = _nearest(self, cards, direction)
        if target is not None:
            target.focus()
            target.scroll_visible(animate=False)

    status: reactive[PaneStatus | None] = reactive(None, layout=False)
    """The pane's latest survey, with when it entered its state."""
    last: reactive[SendRecord | None] = reactive(None)
    """The newest send to this pane, from the log."""
    progress: reactive[str] = reactive("")
    """Phase of a send in flight to this pane ("" when none)."""
    selected: reactive[bool] = reactive(False)
    """Part of the current multi-selection."""

    def __init__(self, pane_id: str, clock: Callable[[], float] = time.time) -> None:
        super().__init__(id=card_id(pane_id), classes="pane-card")
        self.pane_id = pane_id
        """The pane's fleet-wide key: `%3` on this machine, `gpu1:%3` on another."""
        self.clock = clock
        self.painted_ages: tuple[str, str] = ("", "")
        """The age labels the last paint showed."""

    def take(self, st: PaneStatus) -> None:
        """A new survey of this pane: repaint only when something it shows changed.

        Every survey has a new time (`seen`), so a plain assignment would repaint every card every
        second. Only the pane's view, its state's start, or the survey passing the last send's
        verdict (which the card shows until then) change the picture.
        """
        old = self.status
        if old is not None and old.view == st.view and old.since == st.since and not self._passes_verdict(old, st):
            self.set_reactive(PaneCard.status, st)  # the new time, without a repaint
            return
        self.status = st

    def _passes_verdict(self, old: PaneStatus, new: PaneStatus) -> bool:
        last = self.last
        if last is None:
            return False
        end = last.created + last.elapsed_ms / 1000
        return old.seen <= end < new.seen

    def age_text(self) -> tuple[str, str]:
        """The age labels as painted (`· 12s`, `#41 · 3m ago`): the 1 s tick repaints only when they change."""
        now = self.clock()
        return (ago(now - self.status.since) if self.status else "", ago(now - self.last.created) if self.last else "")

    def watch_status(self, status: PaneStatus | None) -> None:
        for state in PaneState:
            self.set_class(status is not None and status.state is state, f"-{state.value}")
        self.set_class(status is not None and status.view.needs is not None, "-needs-input")

    def watch_selected(self, selected: bool) -> None:
        self.set_class(selected, "-selected")

    def watch_last(self, last: SendRecord | None) -> None:
        failed = last is not None and not last.verdict.delivered and last.verdict is not Verdict.PENDING
        self.set_class(failed, "-failed")

    @property
    def failed_send(self) -> SendRecord | None:
        """The last send when it did not deliver (what `r` re-sends)."""
        if self.last is not None and (self.last.verdict.undelivered or self.last.verdict is Verdict.ERROR):
            return self.last
        return None

    def render(self) -> Text:
        self.painted_ages = self.age_text()
        width = max(10, self.size.width - 2)
        st = self.status
        if st is None:
            return Text(self.pane_id)
        pane, cls = st.view.pane, st.view.cls
        head = Text()
        head.append(f"{'◉ ' if self.selected else ''}{pane.address}", style="bold")
        head.append(f" · {pane.pane_id}", style="dim")
        if pane.window_name and pane.window_name != (cls.agent or ""):
            head.append(f" · {pane.window_name}", style="dim")
        if st.view.account:
            head.append(f" · ⚑{st.view.account}", style="italic #af87ff")
        state = Text()
        last = self.last
        newer = last is not None and last.created + last.elapsed_ms / 1000 > st.seen
        if self.progress:
            # mid-send the composer holds our own paste: that is not a stuck composer
            state.append(" sending ", style="bold black on #5fd7ff")
        elif newer and last is not None and last.verdict.delivered:
            # the survey predates the verdict (it may show our paste still in the composer)
            state.append(f" {last.verdict.value} ", style=STATE_STYLE["working"])
        else:
            shown = st.view.shown_state
            state.append(f" {shown} ", style=STATE_STYLE.get(shown, ""))
        state.append(f" {cls.agent or pane.command or '-'}", style="italic")
        if st.view.hooks is not None:
            state.append(" ⚓", style="#87d7af")  # its agent writes receipts: the strongest evidence a send gets
        state.append(f" · {ago(self.clock() - st.since)}", style="dim")
        if cls.reset:
            when = parse_reset(cls.reset, datetime.fromtimestamp(self.clock()))
            state.append(f" · resets {cls.reset}" + (f" ({until(when, datetime.fromtimestamp(self.clock()))})"
                                                     if when else ""), style="dim")  # fmt: skip
        detail = cls.composer if cls.composer else cls.last_line
        if st.view.needs is not None and not cls.composer:
            detail = f"{st.view.needs.why} · {detail}"
        body = Text(" ".join(" ⏎ ".join((detail or "").splitlines()).split()) or " ")
        body.stylize("" if cls.composer else "dim")
        if cls.composer:
            body = Text("✎ ", style="bold #ff8700") + body
        if self.progress:
            foot = Text(f"▸ {PHASE_LABEL.get(self.progress, self.progress)}", style="bold cyan")
        elif self.last is not None:
            v = self.last.verdict.value
            sign = verdict_mark(self.last.verdict)
            foot = Text()
            foot.append(f"{sign} {v}", style=VERDICT_STYLE.get(v, ""))
            foot.append(f" · #{self.last.id} · {ago(self.clock() - self.last.created)} ago", style="dim")
        else:
            foot = Text("no sends yet", style="dim")
        lines = [head, state, body, foot]
        for line in lines:
            line.truncate(width, overflow="ellipsis")
        return Text("\n").join(lines)

    def matches(self, query: str) -> bool:
        """Filter: words must all match; `state:x`, `agent:x`, `session:x` match those fields."""
        st = self.status
        if st is None:
            return True
        pane, cls = st.view.pane, st.view.cls
        fields = {
            "state": st.view.shown_state,
            "agent": cls.agent or "",
            "session": pane.session,
            "machine": pane.machine,
            "account": st.view.account or "",
            "verdict": self.last.verdict.value if self.last else "",
        }
        hay = " ".join([pane.address, pane.pane_id, pane.command, *fields.values(), cls.composer or "", cls.last_line])
        for word in query.lower().split():
            key, sep, value = word.partition(":")
            if sep and key in fields:
                if not fields[key].lower().startswith(value):
                    return False
            elif word not in hay.lower():
                return False
        return True


def _nearest(card: PaneCard, others: list[PaneCard], direction: str) -> PaneCard | None:
    """The closest card whose box lies wholly in that direction, preferring the one most in line with this."""
    here = card.region
    cx, cy = here.x + here.width / 2, here.y + here.height / 2

    def ahead(r: Region) -> bool:
        return {
            "up": r.bottom <= here.y, "down": r.y >= here.bottom,
            "left": r.right <= here.x and r.y < here.bottom and r.bottom > here.y,
            "right": r.x >= here.right and r.y < here.bottom and r.bottom > here.y,
        }[direction]  # fmt: skip

    def cost(c: PaneCard) -> tuple[float, float]:
        r = c.region
        ox, oy = r.x + r.width / 2, r.y + r.height / 2
        along, across = (abs(oy - cy), abs(ox - cx)) if direction in ("up", "down") else (abs(ox - cx), abs(oy - cy))
        return along, across

    candidates = [c for c in others if ahead(c.region)]
    return min(candidates, key=cost) if candidates else None
