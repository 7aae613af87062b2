"""Dispatch: send prompts to AI coding agents in tmux panes and prove they were submitted.

The import package is `dashboard` (the design card's name); the program is `dispatch`, and
`python -m dashboard` runs the same thing. Layers: README, "How the code is laid out".
"""

__version__ = "0.1.0"
