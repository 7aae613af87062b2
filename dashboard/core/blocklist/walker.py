"""The walk over bashlex parse trees: every command the line would run reaches the rules.

Lists, pipelines, subshells, compounds, loops, function bodies, command and process substitutions,
wrappers and command strings (`sh -c`, `eval`…) are all followed, up to MAX_DEPTH strings deep.
One `Shell` carries what earlier commands changed to the later ones.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

import bashlex

from dashboard.core.blocklist import (
    disk_wipe,
    download_exec,
    dynamic,
    fork_bomb,
    inline_code,
    nested,
    scheduler,
    ssh_dir,
    staged,
)
from dashboard.core.blocklist.model import Block, Blocked, Cmd
from dashboard.core.blocklist.resolve import ansi_c, unresolved
from dashboard.core.blocklist.state import Shell
from dashboard.core.blocklist.tree import find, find_commands, text
from dashboard.core.blocklist.vocabulary import (
    CODE_VARIABLES,
    DOWNLOADERS,
    EDITORS,
    PATH_WRITERS,
    REBINDERS,
    SHELLS,
    SSH_WRITERS_ALL,
)
from dashboard.core.blocklist.words import base, braces, cluster_values, history_expansion, interp, lenient, value_of

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
    _feeder: str | None = None
    """The program feeding the pipeline stage being read (what `xargs` gets its items from)."""
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
            why = f"cannot be parsed, so it is refused ({_why(exc)})"
            raise Blocked(Block("unparseable", source[:80], why)) from None
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
            for i, c in enumerate(commands):
                words = text(commands[i - 1], source).split() if i else []
                self._feeder = base(words[0]) if words else None
                self.visit(c, source, depth, piped=True)
            self._feeder = None
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
            if kind != "if":
                fork_bomb.check_loop(node, source)
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
        # a body runs however it is reached (trap, alias, …); its arguments are judged at each call
        saved = dict(self.shell.variables)
        self.shell.variables.update({p: f"_arg{p}_" for p in (*"123456789", "@", "*", "#", "FUNCNAME")})
        try:
            self.visit(body, source, depth, piped=False)
        finally:
            self.shell.variables = saved

    def _pipeline(self, commands: list[Any], source: str, depth: int) -> None:
        """What one stage hands the next: a download (into an interpreter), a .ssh path (into `xargs rm`)."""
        downloading = ""
        ssh_path = ""
        upstream = ""
        for stage in commands:
            self._feeder = base(upstream.split()[0]) if upstream.split() else None
            if upstream:
                fork_bomb.check_fed_loop(upstream, stage, source)
            for c in find_commands(stage):
                raw = self._simple(c, source, depth)
                cmd = self._unwrap(raw, depth)
                if cmd is None or raw is None:
                    continue
                ssh_dir.check_xargs_feed(raw, cmd, ssh_path)
                download_exec.check_piped(cmd, downloading)
                staged.check_piped(cmd, upstream)
                fork_bomb.check_flood(upstream, raw)
                if base(cmd.words[0]) in DOWNLOADERS and not downloading:
                    downloading = cmd.text
                ssh_path = ssh_path or ssh_dir.first_ssh_path(cmd)
            upstream = upstream or text(stage, source)
        self._feeder = None

    def _command(self, node: Any, source: str, depth: int, *, piped: bool) -> None:
        raw = self._simple(node, source, depth)
        if raw is None:
            return
        if base(raw.words[0]) == "exec" and len(raw.words) == 1:
            # `exec < file`, `exec 0</dev/tcp/…`: the shell's own input, re-pointed at what the check cannot read
            for r in raw.redirect_nodes:
                fd = getattr(r, "input", None)
                if r.type in ("<", "<&", "<>", "<<<") and fd in (None, 0):
                    raise Blocked(Block("staged-exec", raw.text, "re-points the shell's own input"))
            staged.check_sockets(raw, "exec")
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
        assignments: list[tuple[str, str, bool]] = []
        for part in node.parts:
            if part.kind == "assignment":
                self._substitutions(part, source, depth)
                name, _, value = part.word.partition("=")
                known = unresolved(part, source, self.shell) is None
                assignments.append((name, self.shell.expand(value), known))
                self.shell.path_changed |= name == "PATH"
                self._code_variable(name, self.shell.expand(value), known, text(part, source), depth)
            elif part.kind == "word":
                self._substitutions(part, source, depth)
                raw = text(part, source)
                decoded = ansi_c(raw) if "$'" in raw else None  # bashlex misreads $'\x72\x6d'
                expanded = [decoded] if decoded is not None else braces(self.shell.expand(part.word))
                if decoded is None and "$" in raw and not any(q in raw for q in "'\"\\"):
                    expanded = [w for e in expanded for w in self.shell.split(e)]  # unquoted: split as bash does
                if re.search(r"\$\{?[@*]", part.word):  # "$@" is one word per argument
                    expanded = [w for e in expanded for w in e.split()]
                for w in expanded:
                    words.append(w)
                    nodes.append(part)
            elif part.kind == "redirect":
                self._substitutions(part, source, depth)
                target = self._redirect_node(part, source)
                nodes_redirect.append(part)  # also `<&3`: a descriptor, no target word
                if target is not None:
                    redirects.append((part.type, target))
        if not words:
            for name, value, known in assignments:  # `D=~/.ssh` on its own: remembered for later commands
                self.shell.assign(name, value, known=known)
            if redirects:
                return Cmd([":"], [], redirects, text(node, source), nodes_redirect)
            return None
        return Cmd(words, nodes, redirects, text(node, source), nodes_redirect)

    def _redirect_node(self, part: Any, source: str) -> str | None:
        """The redirection's target, expanded; writes onto a device or under a .ssh are refused here."""
        output = getattr(part, "output", None)
        if output is None or isinstance(output, int) or not hasattr(output, "word"):
            return None
        raw = text(output, source)
        decoded = ansi_c(raw) if "$'" in raw else None  # `>> ~/$'.ssh'/k`: bashlex misreads ANSI-C quoting
        target = decoded if decoded is not None else self.shell.expand(output.word)
        if part.type in (">", ">>", ">|", "&>", "&>>", "<>", ">&") and not target.isdigit() and target != "-":
            disk_wipe.check_redirect(self.shell, target, part, source)
            ssh_dir.check_redirect(self.shell, target, part, source)
            dynamic.check_redirect(self.shell, target, part, source)
            if scheduler.is_schedule_path(target):
                raise Blocked(Block("scheduled-job", text(part, source), f"writes where jobs are picked up ({target})"))
        return target

    def _substitutions(self, node: Any, source: str, depth: int) -> None:
        """Command and process substitutions inside a word are commands too: check them."""
        for sub in find(node, ("commandsubstitution", "processsubstitution")):
            self.visit(sub.command, source, depth, piped=False)

    def _unwrap(self, cmd: Cmd | None, depth: int) -> Cmd | None:
        """Strip wrappers (`sudo -u x env A=1 nohup …`); a wrapper that runs a string has it checked."""
        if cmd is None:
            return None
        fork_bomb.check_watch(cmd)
        _xargs_command(cmd)
        inner = nested.unwrap(cmd)
        if base(cmd.words[0]) == "xargs" and isinstance(inner, Cmd) and inner.words:
            inner = _xargs_items(cmd, inner, self._feeder)
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
        dynamic.check_name(self.shell, cmd, source)
        fork_bomb.check_call(self.shell, cmd, name, piped=piped)
        if name == "eval":
            download_exec.check(cmd, name)
            if staged.check_eval(self.shell, cmd, source):
                return  # a setup generator's own output (`eval "$(ssh-agent -s)"`)
        for inner in nested.strings(self.shell, cmd, name, args):
            self.check_source(inner, depth + 1)
        download_exec.check(cmd, name)
        staged.check(self.shell, cmd, name, source)
        staged.check_sockets(cmd, name)
        inline_code.check(cmd, name)
        scheduler.check(cmd, name)
        disk_wipe.check(self.shell, cmd, name, args)
        ssh_dir.check(self.shell, cmd, name, args)
        dynamic.check_paths(self.shell, cmd, name, source)
        self._schedule_paths(cmd, name)
        self._startup_files(cmd, name, depth)
        staged.note_writes(self.shell, cmd, name)
        if name == "alias":
            self._aliases(cmd, source, depth)
        rebind = REBINDERS.get(name)
        if rebind is not None and any(a in rebind for a in args):
            raise Blocked(Block("dynamic-command", cmd.text, f"{name} {' '.join(a for a in args if a in rebind)} "
                                "changes what a command name or key runs"))  # fmt: skip
        if name in ("export", "declare", "local", "readonly", "typeset"):
            for word, node in zip(args, cmd.nodes[1:], strict=False):
                key, eq, value = word.partition("=")
                if eq and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                    known = unresolved(node, source, self.shell) is None
                    self._code_variable(key, value, known, cmd.text, depth)
                    self.shell.assign(key, value, known=known)
        if name in ("read", "mapfile", "readarray", "printf", "getopts", "set"):
            self.shell.unknown_from(name, args)  # `read D`, `printf -v D`, `set -- …`: values from outside
        if name == "ln":
            operands = [a for a in args if not a.startswith("-")]
            if len(operands) >= 2 and any(self.shell.under_ssh(o) for o in operands[:-1]):
                self.shell.ssh_links.add(posixpath.normpath(operands[-1]))
            if len(operands) >= 2 and any(self.shell.is_device(o) for o in operands[:-1]):
                self.shell.device_links.add(posixpath.normpath(self.shell.absolute(operands[-1])))
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
            target = cmd.nodes[-1] if len(cmd.nodes) > 1 else None
            self.shell.cwd_unknown = target is not None and unresolved(target, source, self.shell) is not None

    def _code_variable(self, name: str, value: str, known: bool, part: str, depth: int) -> None:
        """Variables whose value the shell runs: a prompt's command, a startup file for every new shell."""
        if name in CODE_VARIABLES:
            if not known:
                raise Blocked(Block("dynamic-command", part, f"{name} holds code the check cannot read"))
            self.check_source(value, depth + 1)
        if name in ("LD_PRELOAD", "LD_AUDIT", "DYLD_INSERT_LIBRARIES"):
            raise Blocked(Block("staged-exec", part, f"{name} loads a library into every program that runs"))
        if name in ("BASH_ENV", "ENV") and (not known or self.shell.wrote(value)):
            raise Blocked(Block("staged-exec", part, f"every new shell runs {value}, which this line writes or builds"))

    def _aliases(self, cmd: Cmd, source: str, depth: int) -> None:
        """An alias's text is a command line that runs whenever the alias is used: read it now."""
        for word, node in zip(cmd.words[1:], cmd.nodes[1:], strict=False):
            _, eq, value = word.partition("=")
            if not eq:
                continue
            part = unresolved(node, source, self.shell)
            if part is not None:
                raise Blocked(Block("dynamic-command", cmd.text, f"an alias whose text comes from {part!r}"))
            self.check_source(value, depth + 1)

    def _startup_files(self, cmd: Cmd, name: str, depth: int) -> None:
        """Writing into a file every new shell (or git, tmux, python) runs: what it adds runs later, unseen."""
        targets = [t for kind, t in cmd.redirects if kind in (">", ">>", ">|", "&>", "&>>")]
        if name == "tee":
            targets += [a for a in cmd.words[1:] if not a.startswith("-")]
        hit = next((t for t in targets if scheduler.is_startup_file(t)), None)
        if hit is not None:
            why = f"writes into {hit}, which runs at every start: what it adds runs later, out of the check's sight"
            raise Blocked(Block("scheduled-job", cmd.text, why))

    def _schedule_paths(self, cmd: Cmd, name: str) -> None:
        """Copying, linking, downloading or editing into where jobs or start-up code are picked up."""
        if not (name in PATH_WRITERS or name in EDITORS or name in ("perl", "ruby")):
            return
        args = cmd.words[1:]
        operands = [a for a in args if not a.startswith("-")]
        in_place = any(a == "--in-place" or (a.startswith("-") and not a.startswith("--") and "i" in a) for a in args)
        if name in ("sed", "perl", "ruby") and not in_place:
            return  # reading it
        if name in ("cp", "mv", "ln", "install", "rsync", "scp", "link", "rename"):
            operands = operands[-1:] + [v for v in [value_of(args, ("-t", "--target-directory"))] if v]
        elif name in DOWNLOADERS:
            operands = [v for v in [value_of(args, (o,)) for o in ("-o", "--output", "-O", "--output-document")] if v]
            operands += cluster_values(args, "oO")
        for path in operands:
            if scheduler.is_schedule_path(path) or scheduler.is_startup_file(path):
                why = f"{name} writes where jobs or start-up code are picked up ({path})"
                raise Blocked(Block("scheduled-job", cmd.text, why))


def _xargs_command(cmd: Cmd) -> None:
    """`… | xargs -I% % -rf x`, `… | parallel`: the command to run comes from the input."""
    name = base(cmd.words[0])
    if name == "parallel" and not [w for w in cmd.words[1:] if not w.startswith("-") and not w.isdigit()]:
        raise Blocked(Block("staged-exec", cmd.text, "parallel runs the lines it reads as commands"))
    if name != "xargs":
        return
    words = cmd.words
    marks = [words[i + 1] for i, w in enumerate(words[:-1]) if w in ("-I", "-i", "--replace")]
    marks += [w[2:] for w in words if w.startswith(("-I", "-i")) and len(w) > 2]
    if "-i" in words:
        marks.append("{}")
    inner = nested.unwrap(cmd)
    first = inner.words[0] if isinstance(inner, Cmd) and inner.words else ""
    if isinstance(inner, Cmd) and interp(base(first)) in SHELLS and inner.words[-1] in ("-c", "-ic", "-lc"):
        raise Blocked(Block("staged-exec", cmd.text, f"{first} -c runs code that comes from xargs' input"))
    if any(m and m in first for m in marks):
        raise Blocked(Block("dynamic-command", cmd.text, f"the command to run comes from xargs' input ({first})"))


def _why(exc: Exception) -> str:
    """The parser's complaint in a person's words: never its internal node dump."""
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    token = re.search(r"token = \{([^}]*)\}", first)
    if token and ("Node(" in first or "parts = " in first):
        return f"'{token.group(1)}' is not a construct the checker reads; write the command without it"
    return first if len(first) <= 120 else first[:117] + "…"


_LISTERS = {"find", "fd", "fdfind", "git", "ls", "grep", "rg", "ag", "echo", "printf", "seq"}
"""Programs whose output, fed to xargs, is a list of names the check has already judged the source of."""


def _xargs_items(raw: Cmd, inner: Cmd, feeder: str | None) -> Cmd:
    """The command xargs runs, with what it reads from its input standing for an unknown word.

    `… | xargs -I{} dd of={}`: the placeholder is unknown; `xargs rm -rf < list`: the paths are.
    Items listed by `find`, `git ls-files`, `grep -l`… come from a source the check has read.
    """
    words = raw.words
    marks = [words[i + 1] for i, w in enumerate(words[:-1]) if w in ("-I", "-i", "--replace")]
    marks += [w[2:] for w in words if w.startswith("-I") and len(w) > 2]
    unknown = "${xargs input}"
    if marks:
        replaced = list(inner.words)
        for m in (m for m in marks if m):
            replaced = [w.replace(m, unknown) for w in replaced]
        inner = Cmd(replaced, inner.nodes, inner.redirects, inner.text, inner.redirect_nodes)
    name = base(inner.words[0])
    if feeder not in _LISTERS and (name in SSH_WRITERS_ALL or name in ("dd", "shred", "cp", "mv", "ln", "tee")):
        raise Blocked(Block("dynamic-path", raw.text, f"{name} acts on paths xargs reads from an input the check "
                            "cannot see"))  # fmt: skip
    return inner
