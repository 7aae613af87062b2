"""Dispatch: send prompts to AI coding agents in tmux panes and prove they were submitted."""

__version__ = "0.1.0"
