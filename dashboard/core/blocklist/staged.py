"""Rule `staged-exec`: a shell or interpreter running a program the check cannot read.

Its program comes from a pipe (`base64 -d <<< … | sh`, `xxd -r -p … | bash`, `… | python3`), a
here-string or here-document with expansions in it, a process substitution (`source <(…)`), a file
written earlier on the same line (`curl -so /tmp/x URL; bash /tmp/x`, `git clone URL d && d/run`),
or `eval` of anything but literal text (or a setup generator's output: `eval "$(ssh-agent -s)"`).
A literal program (`sh -c 'ls'`, `bash <<< 'ls'`) is read and checked by the other rules instead;
a program file that was there before the line is the operator's own (`bash script.sh`).
"""

from __future__ import annotations

import posixpath
from typing import Any

from dashboard.core.blocklist.model import Block, Blocked, Cmd
from dashboard.core.blocklist.resolve import unresolved
from dashboard.core.blocklist.state import Shell
from dashboard.core.blocklist.tree import command_words, find, find_commands, text
from dashboard.core.blocklist.vocabulary import DOWNLOADERS, INTERPRETERS, SETUP_GENERATORS, SHELLS
from dashboard.core.blocklist.words import base, cluster_values, interp, runs_stdin, value_of

_OUTPUT_OPTIONS = ("-o", "-O", "--output", "--output-document", "-out", "--out", "-d", "-C", "--directory")


def check_piped(cmd: Cmd, upstream: str) -> None:
    """A later pipeline stage that takes its program from the stage before it."""
    name = interp(base(cmd.words[0]))
    if upstream and name in INTERPRETERS and runs_stdin(cmd.words):
        raise Blocked(Block("staged-exec", f"{upstream} | … {cmd.text}", f"{name} runs a program piped into it"))


def check(shell: Shell, cmd: Cmd, name: str, source: str) -> None:
    """Program text from an expansion, a substitution or a file this line wrote."""
    family = interp(name)
    if family in INTERPRETERS or name == "eval":
        for kind, _target in cmd.redirects:
            if kind in ("<<<", "<"):
                node = _redirect_word(cmd, kind)
                part = unresolved(node, source, shell) if node is not None else None
                if part is not None:
                    raise Blocked(Block("staged-exec", cmd.text, f"{name} reads its program from {part!r}"))
        for r in cmd.redirect_nodes:
            heredoc = getattr(r, "heredoc", None)
            if heredoc is not None and _expands(getattr(heredoc, "value", ""), text(r, source)):
                raise Blocked(Block("staged-exec", cmd.text, f"{name} reads a here-document with expansions in it"))
    for r in cmd.redirect_nodes:  # `… > >(sh)`: a shell reads this command's output as its program
        for sub in find(r, ("processsubstitution",)):
            for c in find_commands(sub.command):
                words = command_words(c)
                if words and interp(base(words[0])) in INTERPRETERS and runs_stdin(words):
                    raise Blocked(Block("staged-exec", cmd.text, f"{words[0]} runs this command's output"))
    if family in INTERPRETERS:
        script = _script(cmd.words, family)
        if script is not None:
            i, word = script
            node = cmd.nodes[i] if i < len(cmd.nodes) else None
            if node is not None and any(getattr(p, "kind", "") == "processsubstitution" for p in node.parts or []):
                raise Blocked(Block("staged-exec", cmd.text, f"{name} runs the output of {text(node, source)!r}"))
            if shell.wrote(word):
                raise Blocked(Block("staged-exec", cmd.text, f"{name} runs {word}, written earlier on this line"))
    if "/" in cmd.words[0] and shell.wrote(cmd.words[0]):
        raise Blocked(Block("staged-exec", cmd.text, f"runs {cmd.words[0]}, written earlier on this line"))


def check_eval(shell: Shell, cmd: Cmd, source: str) -> bool:
    """`eval` of text the check cannot read is refused; True when it evals a setup generator's output.

    `eval "$(ssh-agent -s)"`, `eval "$(pyenv init -)"`: the code comes from a program on the machine
    whose purpose is printing its own shell setup, which is no more than running that program.
    """
    generated = False
    for node in cmd.nodes[1:]:
        part = unresolved(node, source, shell)
        if part is None:
            continue
        subs = [p for p in getattr(node, "parts", []) or [] if getattr(p, "kind", "") == "commandsubstitution"]
        inner = [c for sub in subs for c in find_commands(sub.command)]
        if len(subs) == 1 and len(inner) == 1 and _generator(command_words(inner[0])):
            generated = True
            continue
        raise Blocked(Block("staged-exec", cmd.text, f"eval runs text built from {part!r}"))
    return generated


def _generator(words: list[str]) -> bool:
    if not words or any(c in w for w in words for c in "$`"):
        return False
    name, args = base(words[0]), words[1:]
    allowed = SETUP_GENERATORS.get(name)
    return allowed is not None and (not args or args[0] in allowed)


def note_writes(shell: Shell, cmd: Cmd, name: str) -> None:
    """Remember the files and directories this command writes, so running one later on the line is seen."""
    args = cmd.words[1:]
    for kind, target in cmd.redirects:
        if kind in (">", ">>", ">|", "&>", "&>>"):
            shell.note_written(target)
    for opt in _OUTPUT_OPTIONS:
        value = value_of(args, (opt,))
        if value and name not in ("ls", "du", "sort", "grep"):
            shell.note_written(value)
    if name in DOWNLOADERS:
        for value in cluster_values(args, "oO"):  # `curl -so FILE`, `wget -qO FILE`
            shell.note_written(value)
    operands = [a for a in args if not a.startswith("-")]
    if name in ("tee", "touch", "mkdir") or (name in ("cp", "mv", "install", "ln", "rsync", "scp") and operands):
        for path in operands if name in ("tee", "touch", "mkdir") else operands[-1:]:
            shell.note_written(path)
    if name == "git" and "clone" in args:
        rest = [a for a in args[args.index("clone") + 1 :] if not a.startswith("-")]
        if len(rest) >= 2:
            shell.note_written(rest[1])
        elif rest:
            shell.note_written(posixpath.basename(rest[0].rstrip("/")).removesuffix(".git"))
    if name in ("dd",):
        for a in args:
            if a.startswith("of="):
                shell.note_written(a[3:])


def _redirect_word(cmd: Cmd, kind: str) -> Any | None:
    for r in cmd.redirect_nodes:
        if getattr(r, "type", None) == kind:
            return getattr(r, "output", None)
    return None


def _expands(body: str, redirect: str) -> bool:
    """An unquoted here-document delimiter lets `$(…)`, `` ` `` and `$VAR` run in its body."""
    quoted = any(q in redirect.split("<<", 1)[-1][:3] for q in ("'", '"', "\\"))
    return not quoted and any(m in body for m in ("$(", "`", "${", "$"))


def _script(words: list[str], family: str) -> tuple[int, str] | None:
    """The program file an interpreter runs (its first operand), unless it runs -c/-e code or stdin."""
    args = words[1:]
    if family in ("source", "."):
        return (1, args[0]) if args else None
    skip_next = False
    for i, a in enumerate(args, start=1):
        if skip_next:
            skip_next = False
            continue
        if a in ("-c", "-e", "-E", "-r", "-m", "--command", "--eval", "-p", "--print"):
            return None
        if a in ("-o", "-O", "-W", "-X", "-I", "-M", "--rcfile", "--init-file"):
            skip_next = True
            continue
        if a.startswith("-"):
            if family in SHELLS and "c" in a[1:] and not a.startswith("--"):
                return None
            continue
        return i, a
    return None
