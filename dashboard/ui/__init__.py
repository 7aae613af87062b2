"""The Textual dashboard: renders service results and events, calls services; no tmux or SQL here."""
