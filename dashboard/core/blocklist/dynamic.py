r"""Rules `dynamic-command` and `dynamic-path`: what runs, or where it writes, is known only at run time.

A command word built by an expansion the check cannot evaluate (`$(printf '\x72\x6d')`, `$cmd`
with `cmd` unknown, `${X:-rm}`), and a path a command writes, deletes or changes — or a redirection
target — whose directory comes from one (`"$(echo ~/.ssh)"`, `~/.${X:-ssh}`, `$D` after
`read D <<< ~/.ssh`) are refused: the other rules judge what they can read, and this one refuses
what they cannot. An unknown part inside a file's own name in a known directory is fine
(`> out_$(date +%s).log`); so is any expansion in an argument that names no place.
"""

from __future__ import annotations

from typing import Any

from dashboard.core.blocklist.model import Block, Blocked, Cmd
from dashboard.core.blocklist.resolve import names_a_known_place, unresolved
from dashboard.core.blocklist.state import Shell
from dashboard.core.blocklist.tree import text
from dashboard.core.blocklist.vocabulary import EDITORS, FORMATTERS, PARTITIONERS, PATH_WRITERS, SSH_FILES
from dashboard.core.blocklist.words import base

_GLOB = set("*?[")


def check_name(shell: Shell, cmd: Cmd, source: str) -> None:
    """The command word itself must be known: otherwise nothing else about the command can be judged."""
    part = unresolved(cmd.nodes[0], source, shell) if cmd.nodes else None
    if part is not None:
        why = f"the command to run comes from {part!r}, which the check cannot evaluate"
        raise Blocked(Block("dynamic-command", cmd.text, why))


def check_redirect(shell: Shell, target: str, part: Any, source: str) -> None:
    """An output redirection whose target the check cannot tell (`> "$(echo ~/.ssh)/k"`)."""
    output = getattr(part, "output", None)
    if output is not None and any(getattr(p, "kind", "") == "processsubstitution" for p in output.parts or []):
        return  # `> >(cmd)` writes into a command, not a place: staged-exec judges what reads it
    unknown = unresolved(output, source, shell) if output is not None else None
    if unknown is not None and not names_a_known_place(text(output, source), unknown):
        raise Blocked(Block("dynamic-path", text(part, source), f"writes to a place built from {unknown!r}"))


def check_paths(shell: Shell, cmd: Cmd, name: str, source: str) -> None:
    """A command that writes, deletes or changes its path operands, given one the check cannot tell."""
    if not (name in PATH_WRITERS or name in EDITORS or name in PARTITIONERS or FORMATTERS.match(name)):
        return
    skip = _not_paths(cmd.words, name)
    for i, (word, node) in enumerate(zip(cmd.words[1:], cmd.nodes[1:], strict=False), start=1):
        if i in skip:
            continue
        unknown = unresolved(node, source, shell)
        if unknown is not None and not names_a_known_place(text(node, source), unknown):
            why = f"{name} acts on a path built from {unknown!r}, which the check cannot evaluate"
            raise Blocked(Block("dynamic-path", cmd.text, why))
        if shell.cwd_unknown and not word.startswith(("/", "~", "$", "-")) and _may_name_ssh(word):
            why = f"{name} acts on {word!r} in a directory the check cannot tell (after cd to an expansion)"
            raise Blocked(Block("dynamic-path", cmd.text, why))


def _not_paths(words: list[str], name: str) -> set[int]:
    """Positions of arguments that are not paths (sed's script, chmod's mode, git's message…)."""
    skip: set[int] = set()
    if name == "sed":
        scripts = [i for i, w in enumerate(words) if w in ("-e", "--expression", "-f", "--file")]
        skip |= {i + 1 for i in scripts}
        if not scripts:
            first = next((i for i, w in enumerate(words[1:], start=1) if not w.startswith("-")), None)
            if first is not None:
                skip.add(first)
    elif name in ("chmod", "chown", "chgrp", "setfacl", "chattr", "truncate"):
        first = next((i for i, w in enumerate(words[1:], start=1) if not w.startswith("-")), None)
        if first is not None and name != "truncate":
            skip.add(first)  # the mode / owner
        skip |= {i + 1 for i, w in enumerate(words) if w in ("-s", "--size", "--reference")}
    elif name == "git":
        # only where git works (-C DIR) and a clone's destination name a place it writes
        keep = {i + 1 for i, w in enumerate(words) if w == "-C"}
        if "clone" in words:
            keep |= set(range(words.index("clone") + 1, len(words)))
        skip = set(range(1, len(words))) - keep
    elif name in ("cp", "ln", "install", "rsync", "scp", "link"):
        # they read their sources; only where they write matters (the last operand, or -t DIR)
        operands = [i for i, w in enumerate(words) if i and not w.startswith("-")]
        target = {i + 1 for i, w in enumerate(words) if w in ("-t", "--target-directory")}
        skip = set(operands[:-1]) - target if not target else set(operands) - target
        if name == "rsync" and "--remove-source-files" in words:
            skip = set()
    elif name in ("curl", "wget"):
        # their operands are URLs; only where they write is a place (-o FILE, -P DIR, --output-dir DIR)
        outs = ("-o", "--output", "--output-dir", "-O", "--output-document", "-P", "--directory-prefix")
        keep = {i + 1 for i, w in enumerate(words) if w in outs and not (name == "curl" and w == "-O")}
        skip = set(range(1, len(words))) - keep
    elif name == "find":
        # its start points matter when it deletes or runs something on what it finds
        acts = any(w in ("-delete", "-exec", "-execdir", "-ok", "-okdir", "-fprint", "-fls") for w in words)
        starts = [i for i, w in enumerate(words) if i and not w.startswith(("-", "(", "!"))]
        first_expr = next((i for i, w in enumerate(words) if i and w.startswith(("-", "(", "!"))), len(words))
        skip = set(range(1, len(words))) - ({i for i in starts if i < first_expr} if acts else set())
    elif name == "dd":
        skip = {i for i, w in enumerate(words) if i and not w.startswith(("of=", "if="))}
    return skip


def _may_name_ssh(word: str) -> bool:
    """A relative operand that could be a .ssh directory or something in one, in an unknown directory."""
    return bool(_GLOB & set(word)) or word in (".", "..", "./", "../") or base(word.rstrip("/")) in SSH_FILES
