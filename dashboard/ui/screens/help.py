"""`?`: what every key does."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# Dispatch — keys

| key | does |
|---|---|
| arrows or h j k l, g / G, tab | move to the card that way on screen; the first / last card; the next card |
| space | select / unselect the focused pane (a batch goes to every selected pane) |
| a / escape | select every visible pane / clear the selection |
| c or enter | write a prompt in the composer |
| ctrl+s | send the prompt: to the selected panes, else to the focused pane |
| up / down, ctrl+u | in the prompt: earlier prompts sent (from the log too) / back; clear the prompt |
| ctrl+e | exec mode: the composer runs a one-line shell command in shell panes (never agents; blocklist applies) |
| r | re-send the focused pane's last failed delivery (verified again) |
| R | re-send every failure of the last batch |
| V | verify the last batch now (read-only): confirmed / refuted / unknown beside each verdict |
| d | before/after diff of the focused pane's last send |
| n | what needs you: a dialog, a question, a turn ended, stuck text, a failed send, a lifted rate limit |
| p | show / hide the focused pane's screen under the grid (live: it changes as the pane prints) |
| o | go to the focused pane in tmux (inside its server: switch there; else the attach command, copied) |
| L | the send log (enter: diff, r: re-send, / filter) |
| s | schedules: state (failing ones stand out), next run, last runs and why |
| / | filter panes: words, `state:idle`, `agent:claude`, `session:web`, `machine:gpu1`, `verdict:stuck` |
| t | the table view: one row per pane (same filter, focus, selection); t again for the cards |
| T | light / dark theme |
| ctrl+p | command palette |
| q | quit |

A send is **submitted** only on evidence read from the pane after Enter: the agent's working indicator, or
the prompt leaving the composer and appearing as submitted input. Anything else is named — stuck in composer,
not received, unrecognised, refused — and its before/after screens are kept in the log.
"""


class HelpScreen(ModalScreen[None]):
    """Key reference over the current screen."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Markdown(HELP)
