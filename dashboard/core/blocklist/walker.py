"""The walk over bashlex parse trees: every command the line would run reaches the rules.

Lists, pipelines, subshells, compounds, loops, function bodies, command and process substitutions,
wrappers and command strings (`sh -c`, `eval`…) are all followed, up to MAX_DEPTH strings deep.
One `Shell` carries what earlier commands changed to the later ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import bashlex

from dashboard.core.blocklist import disk_wipe, download_exec, fork_bomb, nested, ssh_dir
from dashboard.core.blocklist.model import Block, Blocked, Cmd
from dashboard.core.blocklist.state import Shell
from dashboard.core.blocklist.tree import find, find_commands, text
from dashboard.core.blocklist.vocabulary import DOWNLOADERS
from dashboard.core.blocklist.words import base, braces, history_expansion, lenient

MAX_DEPTH = 8
"""How deep `sh -c "… eval '…'"` nesting is followed before the command is refused as unreadable."""


def check_command(command: str) -> Block | None:
    """The first rule the command breaks, or None when it may run."""
    try:
        _Walker().check_source(command, 0)
    except Blocked as exc:
        return exc.block
    return None


@dataclass
class _Walker:
    shell: Shell = field(default_factory=Shell)
    _depth_fn: int = 0
    """How many function calls deep the body of a called function is being re-read."""

    def check_source(self, source: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise Blocked(Block("unparseable", source[:80], f"nested more than {MAX_DEPTH} levels deep"))
        if "\x00" in source:
            raise Blocked(Block("unparseable", source[:80], "contains a NUL byte"))
        if not source.strip():
            return
        bang = history_expansion(source)
        if bang is not None:
            why = "history expansion (!) would rewrite the command after the check"
            raise Blocked(Block("unparseable", bang, why))
        source = lenient(source)
        try:
            trees = bashlex.parse(source)
        except Exception as exc:  # bashlex raises several types (ParsingError, NotImplementedError, …)
            bomb = fork_bomb.in_text(source)
            if bomb is not None:
                raise Blocked(bomb) from None
            why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise Blocked(Block("unparseable", source[:80], f"cannot be parsed, so it is refused ({why})")) from None
        for tree in trees:
            self.visit(tree, source, depth, piped=False)

    def visit(self, node: Any, source: str, depth: int, *, piped: bool) -> None:
        kind = node.kind
        if kind == "list":
            parts = node.parts
            for i, part in enumerate(parts):
                if part.kind == "operator":
                    continue
                background = i + 1 < len(parts) and parts[i + 1].kind == "operator" and parts[i + 1].op == "&"
                self.visit(part, source, depth, piped=piped or background)
        elif kind == "pipeline":
            commands = [p for p in node.parts if p.kind != "pipe"]
            self._pipeline(commands, source, depth)
            for c in commands:
                self.visit(c, source, depth, piped=True)
        elif kind == "command":
            self._command(node, source, depth, piped=piped)
        elif kind == "function":
            self._function(node, source, depth)
        elif kind == "compound":
            for part in node.list:
                if part.kind not in ("reservedword",):
                    self.visit(part, source, depth, piped=piped)
            for redirect in getattr(node, "redirects", []) or []:
                self._redirect_node(redirect, source)
        elif kind in ("for", "while", "until", "if"):
            for part in node.parts:
                if part.kind in ("reservedword", "word"):
                    if part.kind == "word":
                        self._substitutions(part, source, depth)
                    continue
                self.visit(part, source, depth, piped=piped)
        elif kind in ("operator", "reservedword", "pipe"):
            return
        else:
            for child in getattr(node, "parts", []) or []:
                self.visit(child, source, depth, piped=piped)

    # -- pieces -----------------------------------------------------------------------------------

    def _function(self, node: Any, source: str, depth: int) -> None:
        name = next(p.word for p in node.parts if p.kind == "word")
        body = node.parts[-1]
        self.shell.functions[name] = body
        fork_bomb.check_definition(self.shell, name, node, source)
        self.visit(body, source, depth, piped=False)  # a body runs however it is reached (trap, alias, …)

    def _pipeline(self, commands: list[Any], source: str, depth: int) -> None:
        """What one stage hands the next: a download (into an interpreter), a .ssh path (into `xargs rm`)."""
        downloading = ""
        ssh_path = ""
        for stage in commands:
            for c in find_commands(stage):
                raw = self._simple(c, source, depth)
                cmd = self._unwrap(raw, depth)
                if cmd is None or raw is None:
                    continue
                ssh_dir.check_xargs_feed(raw, cmd, ssh_path)
                download_exec.check_piped(cmd, downloading)
                if base(cmd.words[0]) in DOWNLOADERS and not downloading:
                    downloading = cmd.text
                ssh_path = ssh_path or ssh_dir.first_ssh_path(cmd)

    def _command(self, node: Any, source: str, depth: int, *, piped: bool) -> None:
        raw = self._simple(node, source, depth)
        if raw is None:
            return
        cmd = self._unwrap(raw, depth)
        if cmd is None:
            return
        self._rules(cmd, source, depth, piped=piped)

    def _simple(self, node: Any, source: str, depth: int) -> Cmd | None:
        """Words with variables from earlier assignments substituted; substitutions checked on the way."""
        words: list[str] = []
        nodes: list[Any] = []
        redirects: list[tuple[str, str]] = []
        nodes_redirect: list[Any] = []
        assignments: list[tuple[str, str]] = []
        for part in node.parts:
            if part.kind == "assignment":
                self._substitutions(part, source, depth)
                name, _, value = part.word.partition("=")
                assignments.append((name, self.shell.expand(value)))
            elif part.kind == "word":
                self._substitutions(part, source, depth)
                expanded = braces(self.shell.expand(part.word))
                if re.search(r"\$\{?[@*]", part.word):  # "$@" is one word per argument
                    expanded = [w for e in expanded for w in e.split()]
                for w in expanded:
                    words.append(w)
                    nodes.append(part)
            elif part.kind == "redirect":
                self._substitutions(part, source, depth)
                target = self._redirect_node(part, source)
                if target is not None:
                    redirects.append((part.type, target))
                    nodes_redirect.append(part)
        if not words:
            for name, value in assignments:  # `D=~/.ssh` on its own: remembered for later commands
                self.shell.variables[name] = value
            if redirects:
                return Cmd([":"], [], redirects, text(node, source), nodes_redirect)
            return None
        return Cmd(words, nodes, redirects, text(node, source), nodes_redirect)

    def _redirect_node(self, part: Any, source: str) -> str | None:
        """The redirection's target, expanded; writes onto a device or under a .ssh are refused here."""
        output = getattr(part, "output", None)
        if output is None or isinstance(output, int) or not hasattr(output, "word"):
            return None
        target = self.shell.expand(output.word)
        if part.type in (">", ">>", ">|", "&>", "&>>", "<>", ">&") and not target.isdigit() and target != "-":
            disk_wipe.check_redirect(self.shell, target, part, source)
            ssh_dir.check_redirect(self.shell, target, part, source)
        return target

    def _substitutions(self, node: Any, source: str, depth: int) -> None:
        """Command and process substitutions inside a word are commands too: check them."""
        for sub in find(node, ("commandsubstitution", "processsubstitution")):
            self.visit(sub.command, source, depth, piped=False)

    def _unwrap(self, cmd: Cmd | None, depth: int) -> Cmd | None:
        """Strip wrappers (`sudo -u x env A=1 nohup …`); a wrapper that runs a string has it checked."""
        if cmd is None:
            return None
        inner = nested.unwrap(cmd)
        if isinstance(inner, str):
            self.check_source(inner, depth + 1)
            return None
        return inner

    def _rules(self, cmd: Cmd, source: str, depth: int, *, piped: bool) -> None:
        """The four families on one command, then what it changes for later ones (variables, `cd`)."""
        name = base(cmd.words[0])
        if name.startswith("$") and name[1:2].isalpha() and f"$'{name[1:]}" in source.replace('"', "'"):
            name = name[1:]  # bashlex reads ANSI-C quoting $'mkfs.ext4' as $mkfs.ext4
        args = cmd.words[1:]
        download_exec.check_computed_name(cmd)
        fork_bomb.check_call(self.shell, cmd, name, piped=piped)
        for inner in nested.strings(self.shell, cmd, name, args):
            self.check_source(inner, depth + 1)
        download_exec.check(cmd, name)
        disk_wipe.check(self.shell, cmd, name, args)
        ssh_dir.check(self.shell, cmd, name, args)
        if name in ("export", "declare", "local", "readonly", "typeset"):
            self.shell.declare(args)
        if name in self.shell.functions and self._depth_fn < 4:
            # a call binds $1…, $@ and $FUNCNAME: check the body again with what it was given
            saved = dict(self.shell.variables)
            self.shell.variables.update({str(i + 1): a for i, a in enumerate(args)})
            self.shell.variables.update({"@": " ".join(args), "*": " ".join(args), "FUNCNAME": name})
            self._depth_fn += 1
            try:
                self.visit(self.shell.functions[name], source, depth, piped=False)
            finally:
                self._depth_fn -= 1
                self.shell.variables = saved
        if name in ("cd", "pushd", "popd"):
            self.shell.change_dir(name, args)
