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
import re
from typing import Any

import bashlex

from dashboard.core.blocklist.model import Block, Blocked, Cmd
from dashboard.core.blocklist.resolve import unresolved
from dashboard.core.blocklist.state import Shell
from dashboard.core.blocklist.tree import command_words, find, find_commands, text
from dashboard.core.blocklist.vocabulary import DOWNLOADERS, INTERPRETERS, SETUP_GENERATORS, SHELLS
from dashboard.core.blocklist.words import base, cluster_values, interp, runs_stdin, ssh_remote_words, value_of

_OUTPUT_OPTIONS = ("-o", "-O", "--output", "--output-document", "-out", "--out", "-d", "-C", "--directory")


def check_piped(cmd: Cmd, upstream: str) -> None:
    """A later pipeline stage that takes its program from the stage before it."""
    name = interp(base(cmd.words[0]))
    if upstream and ((name in INTERPRETERS and runs_stdin(cmd.words)) or _login_shell(cmd.words)):
        raise Blocked(Block("staged-exec", f"{upstream} | … {cmd.text}", f"{name} runs a program piped into it"))
    if upstream and name in SHELLS and "-c" in cmd.words[1:-1]:
        code = cmd.words[cmd.words.index("-c") + 1]
        if _reads_program(code):  # `… | sh -c 'exec sh'`: a shell inside hands the pipe to another
            raise Blocked(Block("staged-exec", f"{upstream} | … {cmd.text}", f"{code!r} runs the program piped in"))


def _reads_program(code: str) -> bool:
    try:
        trees = bashlex.parse(code)
    except Exception:  # unreadable code is judged by the walker when it reads it
        return False
    for tree in trees:
        for c in find_commands(tree):
            words = command_words(c)
            while words and base(words[0]) in ("exec", "command", "builtin", "env", "nohup"):
                words = words[1:]
            if words and interp(base(words[0])) in INTERPRETERS and runs_stdin(words):
                return True
    return False


def _login_shell(words: list[str]) -> bool:
    """`su`, `su -`, `sudo su`, `ssh HOST`, `script -q /dev/null`: a shell that reads commands from stdin."""
    name, args = base(words[0]), words[1:]
    operands = [a for a in args if not a.startswith("-")]
    if name in ("su", "runuser", "login", "sudo", "doas", "machinectl", "nsenter"):
        return not any(a in ("-c", "--command") or a.startswith("--command=") for a in args) and len(operands) <= 1
    if name == "ssh":
        rest = ssh_remote_words(args)
        return not rest or (interp(base(rest[0])) in INTERPRETERS and runs_stdin(rest))
    return name == "script" and not any(a in ("-c", "--command") for a in args)


def check_sockets(cmd: Cmd, name: str) -> None:
    """A shell or interpreter wired to a network socket (`sh < /dev/tcp/…`, `bash -i >& /dev/tcp/… 0>&1`)."""
    if interp(name) not in INTERPRETERS and name not in ("exec", "su", "script"):
        return
    for kind, target in cmd.redirects:
        if target.startswith(("/dev/tcp/", "/dev/udp/")):
            raise Blocked(Block("download-exec", cmd.text, f"{name} is wired to a network socket ({target})"))
        if kind == "<" and target.startswith(("/dev/fd/", "/proc/")):
            raise Blocked(Block("staged-exec", cmd.text, f"{name} reads its program from a file descriptor ({target})"))
    for r in cmd.redirect_nodes:
        if getattr(r, "type", "") in ("<&", "<>") and getattr(r, "input", None) in (None, 0):
            raise Blocked(Block("staged-exec", cmd.text, f"{name} reads its program from another file descriptor"))


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
            parts = (node.parts or []) if node is not None else []
            procsub = any(getattr(p, "kind", "") == "processsubstitution" for p in parts)
            if procsub and not (family in ("source", ".") and generated_source(shell, cmd, source)):
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
        if _generated(shell, node, source):
            generated = True
            continue
        raise Blocked(Block("staged-exec", cmd.text, f"eval runs text built from {part!r}"))
    return generated


def _generated(shell: Shell, node: Any, source: str) -> bool:
    """Is this word exactly one `$(GENERATOR ARGS)` (or `<(…)`) of a setup generator found on PATH as it was?"""
    parts = [p for p in getattr(node, "parts", []) or [] if getattr(p, "kind", "") != "tilde"]
    if len(parts) != 1 or parts[0].kind not in ("commandsubstitution", "processsubstitution"):
        return False
    if text(node, source).strip("\"'") != text(parts[0], source):
        return False  # more text beside the substitution: `"$(pyenv init -) $X"`
    inner = list(find_commands(parts[0].command))
    if len(inner) != 1 or shell.path_changed:
        return False  # a pipeline, or a PATH changed on this line: the name may be another program
    words = command_words(inner[0])
    if not words or "/" in words[0] or any(c in w for w in words for c in "$`"):
        return False
    if any(posixpath.basename(w) == words[0] for w in shell.written):
        return False  # a program of that name was written on this line
    allowed = SETUP_GENERATORS.get(words[0])
    return allowed is not None and (len(words) == 1 or words[1] in allowed)


def generated_source(shell: Shell, cmd: Cmd, source: str) -> bool:
    """`source <(kubectl completion bash)`: a setup generator's own output, as for eval."""
    return len(cmd.nodes) == 2 and _generated(shell, cmd.nodes[1], source)


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
        urls = [a for a in args if "://" in a or ("." in a and "/" in a and not a.startswith(("-", "/", ".")))]
        remote_name = (name == "wget" and not value_of(args, ("-O", "--output-document"))) or (
            name == "curl" and any(a == "-O" or (a.startswith("-") and not a.startswith("--") and "O" in a)
                                   or a == "--remote-name" for a in args))  # fmt: skip
        folder = value_of(args, ("-P", "--directory-prefix", "--output-dir")) or ""
        if remote_name:
            for url in urls:  # `curl -O URL`, `wget URL`: the file is named after the URL
                shell.note_written(posixpath.join(folder, posixpath.basename(url.split("?")[0].rstrip("/"))))
    if name in ("tar", "bsdtar", "unzip", "7z", "gunzip", "gzip", "bunzip2", "xz", "unxz", "zstd", "unzstd", "cpio"):
        sources = [a for a in args if not a.startswith("-")]
        if any(shell.wrote(a) for a in [*sources, value_of(args, ("-f", "--file")) or ""] if a):
            # unpacking a file this line wrote: whatever comes out is written by this line too
            shell.note_written(value_of(args, ("-C", "--directory", "-d")) or ".")
            for a in sources:
                shell.note_written(re.sub(r"\.(gz|bz2|xz|zst|tgz|zip|tar)$", "", a))
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
