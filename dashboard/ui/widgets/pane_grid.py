"""The live grid of pane cards, grouped by session; cards are added and removed as panes come and go."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Grid, Vertical, VerticalScroll
from textual.widgets import Label

from dashboard.core.model import SendRecord
from dashboard.services.watch import PaneStatus
from dashboard.ui.widgets.pane_card import PaneCard

CARD_WIDTH = 40


class SessionGroup(Vertical):
    """A session's heading and the grid of its panes' cards."""

    def __init__(self, session: str, cards: list[PaneCard]) -> None:
        super().__init__(classes="session-group")
        self.session = session
        self._cards = cards

    def compose(self) -> ComposeResult:
        yield Label(f"▌ {self.session}", classes="session-heading")
        yield Grid(*self._cards, classes="session-cards")


def _position(status: PaneStatus) -> tuple[str, int, int]:
    pane = status.view.pane
    return (pane.session, pane.window_index, pane.pane_index)


class PaneGrid(VerticalScroll):
    """Session groups of cards; the column count follows the width."""

    def __init__(self, clock: Callable[[], float] = time.time, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.clock = clock
        self.cards: dict[str, PaneCard] = {}
        self._order: list[str] = []
        self._query = ""

    @property
    def columns(self) -> int:
        return max(1, (self.size.width - 1) // (CARD_WIDTH + 1))

    def on_resize(self) -> None:
        self._apply_columns()

    def _apply_columns(self) -> None:
        for grid in self.query(".session-cards").results(Grid):
            grid.styles.grid_size_columns = self.columns

    async def update_panes(self, statuses: list[PaneStatus], last: dict[str, SendRecord]) -> None:
        """Bring the grid in line with a survey: new panes get cards, vanished panes lose theirs."""
        statuses = sorted(
            statuses, key=lambda s: (s.view.pane.session, s.view.pane.window_index, s.view.pane.pane_index)
        )
        order = [f"{s.view.pane.session}\x00{s.pane_id}" for s in statuses]
        if order != self._order:
            # the set of panes changed: rebuild (cheap at fleet sizes), keeping per-card state and focus
            old, self.cards = self.cards, {}
            focused = self.app.focused
            await self.remove_children()
            groups: dict[str, list[PaneCard]] = {}
            for st in statuses:
                card = PaneCard(st.pane_id, self.clock)
                prev = old.get(st.pane_id)
                if prev is not None:
                    card.selected, card.progress = prev.selected, prev.progress
                self.cards[st.pane_id] = card
                groups.setdefault(st.view.pane.session, []).append(card)
            await self.mount_all([SessionGroup(name, cards) for name, cards in groups.items()])
            self._order = order
            self._apply_columns()
            if isinstance(focused, PaneCard) and focused.pane_id in self.cards:
                self.cards[focused.pane_id].focus()
        for st in statuses:
            card = self.cards[st.pane_id]
            card.status = st
            card.last = last.get(st.pane_id, card.last)
            card.refresh()
        self.apply_filter(self._query)

    def apply_filter(self, query: str) -> None:
        self._query = query
        for card in self.cards.values():
            card.display = card.matches(query)
        for group in self.query(SessionGroup):
            group.display = any(c.display for c in group.query(PaneCard))

    def visible_cards(self) -> list[PaneCard]:
        return [c for c in self.cards.values() if c.display]
