"""Rule `download-exec`: a download piped, redirected or substituted into an interpreter.

`curl … | sh`, `bash <(curl …)`, `bash < <(wget …)`, `sh -c "$(wget -O- …)"`, `eval "$(curl …)"`,
`curl … > >(sh)`, and a command name computed from a download (`$(curl …)`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dashboard.core.blocklist.model import Block, Blocked, Cmd
from dashboard.core.blocklist.tree import command_words, find, find_commands
from dashboard.core.blocklist.vocabulary import DOWNLOADERS, INTERPRETERS
from dashboard.core.blocklist.words import base, interp, runs_stdin


def check_computed_name(cmd: Cmd) -> None:
    """`$(curl …)` as the command name runs whatever was downloaded."""
    first_parts = list(getattr(cmd.nodes[0], "parts", []) or []) if cmd.nodes else []
    computed = any(c in cmd.words[0] for c in "$`") or any(n.kind == "commandsubstitution" for n in first_parts)
    if computed and _mentions_downloader(cmd.nodes[:1]):
        raise Blocked(Block("download-exec", cmd.text, "runs the output of a download as a command"))


def check_piped(cmd: Cmd, downloading: str) -> None:
    """A later pipeline stage: refused when an earlier one (`downloading`) downloads and this one runs stdin."""
    if downloading and interp(base(cmd.words[0])) in INTERPRETERS and runs_stdin(cmd.words):
        part = f"{downloading} | … {cmd.text}"
        raise Blocked(Block("download-exec", part, "a download is piped into an interpreter"))


def check(cmd: Cmd, name: str) -> None:
    if name in DOWNLOADERS:
        # `curl … > >(sh)`: the download's output goes into an interpreter
        for r in cmd.redirect_nodes:
            for sub in find(r, ("processsubstitution",)):
                for c in find_commands(sub.command):
                    words = command_words(c)
                    if words and interp(base(words[0])) in INTERPRETERS:
                        raise Blocked(Block("download-exec", cmd.text, "a download is fed into an interpreter"))
    if interp(name) not in INTERPRETERS and name not in ("eval", "make", "gmake"):
        return  # (make runs the recipes of a makefile: `make -f <(curl …)` runs a download too)
    # `bash < <(curl …)`, `bash <<< "$(curl …)"`: stdin from a download
    if _mentions_downloader(cmd.redirect_nodes):
        raise Blocked(Block("download-exec", cmd.text, "a download is redirected into an interpreter"))
    # `bash <(curl …)`, `sh -c "$(wget -O- …)"`, `eval "$(curl …)"`, `. <(curl …)`
    if _mentions_downloader(cmd.nodes[1:]):
        raise Blocked(Block("download-exec", cmd.text, "a download is substituted into an interpreter"))


def _mentions_downloader(nodes: Sequence[Any]) -> bool:
    """A command or process substitution among these words runs a downloader (at any depth)."""
    for node in nodes:
        for sub in find(node, ("commandsubstitution", "processsubstitution")):
            for c in find_commands(sub.command):
                if any(base(w) in DOWNLOADERS for w in command_words(c)):
                    return True
    return False
