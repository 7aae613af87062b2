"""One send from the log: verdict, evidence, timings, and the before/after screens side by side."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from dashboard.core.diff import side_by_side
from dashboard.core.model import SendRecord, batch_ref
from dashboard.ui.messages import ResendRequested
from dashboard.ui.widgets.pane_card import VERDICT_STYLE

CHANGED = {"replace", "delete", "insert"}


def describe(rec: SendRecord) -> Text:
    """The header block: verdict, target, reason, evidence, attempts, timings."""
    v = rec.verdict.value
    t = Text()
    t.append(f" {v} ", style=f"reverse {VERDICT_STYLE.get(v, '')}")
    t.append(f"  send #{rec.id}", style="bold")
    t.append(f"  {rec.target} ({rec.pane_id or '?'}) on {rec.machine}")
    if rec.batch:
        t.append(f"  batch {batch_ref(rec.batch)}", style="dim")
    if rec.resend_of:
        t.append(f"  re-send of #{rec.resend_of}", style="dim")
    t.append(f"\n reason    {rec.reason}")
    t.append(f"\n evidence  {', '.join(rec.evidence) or '-'}")
    t.append(f"\n agent     {rec.agent or '-'} (state before: {rec.state_before or '-'})")
    t.append(f"   attempts {rec.attempts}   delay {rec.delay_ms} ms   total {rec.elapsed_ms} ms")
    prompt = " ⏎ ".join(rec.prompt.splitlines())
    t.append(f"\n prompt    {prompt[:200]}", style="italic")
    return t


class DiffScreen(Screen[None]):
    """Before (left) and after (right); changed rows highlighted. `p` swaps in the after-paste screen."""

    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("p", "toggle_paste", "After-paste / after"),
        Binding("r", "resend", "Re-send"),
    ]

    def __init__(self, record: SendRecord) -> None:
        super().__init__()
        self.record = record
        self.show_paste = False

    def compose(self) -> ComposeResult:
        yield Static(describe(self.record), id="diff-header")
        with Horizontal(id="diff-body"):
            with VerticalScroll(id="diff-before", classes="diff-side"):
                yield Static(id="before-text")
            with VerticalScroll(id="diff-after", classes="diff-side"):
                yield Static(id="after-text")
        yield Footer()

    def on_mount(self) -> None:
        self._render_sides()
        # the composer and the newest output sit at the bottom of a pane: start there
        self.call_after_refresh(self._to_bottom)

    def _to_bottom(self) -> None:
        for side in self.query(".diff-side"):
            side.scroll_end(animate=False)

    def _render_sides(self) -> None:
        snaps = self.record.snapshots
        before = snaps.get("before", "")
        after_key = "after-paste" if self.show_paste else "after"
        after = snaps.get(after_key, "")
        left, right = Text(no_wrap=True), Text(no_wrap=True)
        for row in side_by_side(before, after):
            changed = row.tag in CHANGED
            left.append(row.before or "", style="on #4a1a1a" if changed and row.before else "")
            left.append("\n")
            right.append(row.after or "", style="on #1a4a1a" if changed and row.after else "")
            right.append("\n")
        self.query_one("#before-text", Static).update(left if before else Text("(no snapshot: nothing was sent)"))
        self.query_one("#after-text", Static).update(right if after else Text(f"(no {after_key} snapshot)"))
        self.query_one("#diff-before").border_title = "before"
        self.query_one("#diff-after").border_title = after_key

    def action_toggle_paste(self) -> None:
        self.show_paste = not self.show_paste
        self._render_sides()

    def action_resend(self) -> None:
        self.post_message(ResendRequested(self.record))
