"""The live grid of pane cards, grouped by machine and session; cards come and go with their panes."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Grid, Vertical, VerticalScroll
from textual.widgets import Label

from dashboard.core.model import SendRecord
from dashboard.core.registry import LOCAL
from dashboard.services.watch import PaneStatus
from dashboard.ui.widgets.pane_card import PaneCard

CARD_WIDTH = 40


class SessionGroup(Vertical):
    """A session's heading (with its machine, when not this one) and the grid of its panes' cards."""

    def __init__(self, group: tuple[int, str, str], cards: list[PaneCard], *, fleet: bool = False) -> None:
        super().__init__(classes="session-group")
        self.group = group
        self._cards = cards
        self._fleet = fleet

    @property
    def session(self) -> str:
        return self.group[2]

    def compose(self) -> ComposeResult:
        _, machine, session = self.group
        name = "sessions of one pane" if session == SOLO else session
        heading = f"▌ {machine} › {name}" if self._fleet or machine != LOCAL else f"▌ {name}"
        yield Label(heading, classes="session-heading")
        yield Grid(*self._cards, classes="session-cards")


SOLO = ""
"""The group of a machine's one-pane sessions (one session per agent is the common case): their cards share
one grid, each card naming its session, instead of one half-empty row per session. It sorts first."""


def _group(status: PaneStatus, order: dict[str, int], sizes: Counter[tuple[str, str]]) -> tuple[int, str, str]:
    pane = status.view.pane
    session = pane.session if sizes[(pane.machine, pane.session)] > 1 else SOLO
    return (order.get(pane.machine, len(order)), pane.machine, session)


def _position(status: PaneStatus, order: dict[str, int]) -> tuple[int, str, str, int, int]:
    pane = status.view.pane
    return (order.get(pane.machine, len(order)), pane.machine, pane.session, pane.window_index, pane.pane_index)


class PaneGrid(VerticalScroll):
    """Session groups of cards; the column count follows the width."""

    def __init__(self, clock: Callable[[], float] = time.time, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.clock = clock
        self.cards: dict[str, PaneCard] = {}
        self._query = ""

    @property
    def columns(self) -> int:
        return max(1, (self.size.width - 1) // (CARD_WIDTH + 1))

    def on_resize(self) -> None:
        self._apply_columns()

    def _apply_columns(self) -> None:
        for grid in self.query(".session-cards").results(Grid):
            grid.styles.grid_size_columns = self.columns

    async def update_panes(
        self, statuses: list[PaneStatus], last: dict[str, SendRecord], machines: list[str] | None = None
    ) -> None:
        """Bring the grid in line with a survey, touching only what changed.

        Vanished panes lose their card, new panes get one in place; unchanged cards are not
        rebuilt (a 200-pane rebuild blocks the loop for ~0.4 s) and repaint only when their
        data changed.
        """
        order = {name: i for i, name in enumerate(machines or [LOCAL])}
        statuses = sorted(statuses, key=lambda st: _position(st, order))
        sizes = Counter((st.view.pane.machine, st.view.pane.session) for st in statuses)
        wanted: dict[tuple[int, str, str], list[PaneStatus]] = {}
        for st in statuses:
            wanted.setdefault(_group(st, order, sizes), []).append(st)
        placed = {st.key: group for group, sts in wanted.items() for st in sts}
        # gone, or moving to another group (a session that gained or lost a pane): made again where it belongs
        gone = [key for key, card in self.cards.items() if placed.get(key) != self._group_of(card)]
        # a focused card that only moves group is made again focused: the prompt's target must not move
        refocus = [key for key in gone if key in placed and self.cards[key].has_focus]
        for key in gone:
            await self.cards.pop(key).remove()
        groups = {g.group: g for g in self.query(SessionGroup)}
        for name, group in list(groups.items()):
            if name not in wanted:
                await group.remove()
                del groups[name]
        for name, sts in wanted.items():
            existing = groups.get(name)
            if existing is None:
                cards = [self._new_card(st.key) for st in sts]
                later = [g for n, g in sorted(groups.items()) if n > name]
                groups[name] = SessionGroup(name, cards, fleet=len(order) > 1)
                await self.mount(groups[name], before=later[0] if later else None)
                continue
            grid = existing.query_one(Grid)
            for index, st in enumerate(sts):
                if st.key not in self.cards:
                    card = self._new_card(st.key)
                    children = list(grid.children)
                    await grid.mount(card, before=children[index] if index < len(children) else None)
        for key in refocus:
            self.cards[key].focus()
        self._apply_columns()
        for st in statuses:
            card = self.cards[st.key]
            card.take(st)
            card.last = last.get(st.key, card.last)
        self.apply_filter(self._query)

    @staticmethod
    def _group_of(card: PaneCard) -> tuple[int, str, str] | None:
        group = next((a for a in card.ancestors if isinstance(a, SessionGroup)), None)
        return group.group if group is not None else None

    def _new_card(self, pane_id: str) -> PaneCard:
        card = PaneCard(pane_id, self.clock)
        self.cards[pane_id] = card
        return card

    def apply_filter(self, query: str) -> None:
        self._query = query
        for card in self.cards.values():
            card.display = card.matches(query)
        for group in self.query(SessionGroup):
            group.display = any(c.display for c in group.query(PaneCard))

    def visible_cards(self) -> list[PaneCard]:
        return [c for c in self.cards.values() if c.display]
