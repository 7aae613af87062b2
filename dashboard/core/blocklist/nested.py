"""Commands inside commands: wrappers to strip, and strings that are command lines.

Wrappers: `sudo -u x env A=1 nohup …`. Strings: `sh -c`, `bash <<<`, `eval`, `su -c`, `find -exec`,
`xargs`, `flock -c`, `watch`, `env -S`. These only say what really runs; the walker parses and checks it.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator

from dashboard.core.blocklist.model import Cmd
from dashboard.core.blocklist.paths import find_may_reach_ssh, is_home_ancestor
from dashboard.core.blocklist.state import Shell
from dashboard.core.blocklist.vocabulary import CARRIERS, GIT_COMMAND_KEYS, SHELLS, WRAPPERS
from dashboard.core.blocklist.words import base, interp, ssh_remote_words


def unwrap(cmd: Cmd) -> Cmd | str | None:
    """The command that really runs under the wrappers, or None when nothing runs.

    A str is a command line the wrapper runs instead (`flock LOCK -c 'cmd'`, `watch cmd`, `env -S 'cmd'`).
    """
    words = list(cmd.words)
    for _ in range(16):
        if not words:
            return None
        name = base(words[0])
        if name not in WRAPPERS:
            break
        if name == "busybox" and len(words) > 1:
            words = words[1:]
            continue
        if name == "flock" and "-c" in words[:-1]:
            return words[words.index("-c") + 1]  # `flock LOCK -c 'cmd'`
        if name == "watch":
            rest = [w for w in words[1:] if not w.startswith("-") and not w.replace(".", "").isdigit()]
            return " ".join(rest)  # watch runs its arguments through sh -c
        takes_value, positional = WRAPPERS[name]
        i = 1
        while i < len(words):
            w = words[i]
            if w == "--":
                i += 1
                break
            if name == "env" and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w):
                i += 1
                continue
            if name == "env" and w in ("-S", "--split-string") and i + 1 < len(words):
                # env -S "sh -c …": the string is split into a command line
                return words[i + 1] + " " + shlex.join(words[i + 2 :])
            if w.startswith("-") and w != "-":
                i += 2 if w in takes_value else 1
                continue
            break
        if positional and i < len(words):
            i += 1
        if (
            name in ("sudo", "doas", "su")
            and i >= len(words)
            and any(w in ("-s", "-i", "--shell", "--login") for w in words[1:])
        ):
            return Cmd(["sh"], cmd.nodes[-1:], cmd.redirects, cmd.text, cmd.redirect_nodes)  # a root shell
        words = words[i:]
    if not words:
        return None
    offset = len(cmd.words) - len(words)
    return Cmd(words, cmd.nodes[offset:], cmd.redirects, cmd.text, cmd.redirect_nodes)


def strings(shell: Shell, cmd: Cmd, name: str, args: list[str]) -> Iterator[str]:
    """The command lines this command runs as strings (`sh -c`, `eval`, `find -exec`, `xargs`…).

    Lazy: each is checked (and may change `shell`, e.g. its `cwd_home`) before the next is made.
    """
    if interp(name) in SHELLS or name == "eval":
        for kind, target in cmd.redirects:
            if kind == "<<<":
                yield target  # `bash <<< 'cmd'` runs the string
    if name in SHELLS:
        for i, a in enumerate(args):
            if a == "-c" or (a.startswith("-") and not a.startswith("--") and "c" in a[1:] and len(a) <= 6):
                if i + 1 < len(args):
                    yield args[i + 1]
                return
    if name == "eval":
        yield " ".join(args)
    if name in ("su", "runuser"):
        for i, a in enumerate(args):
            if (a == "-c" or (a.startswith("-") and not a.startswith("--") and "c" in a)) and i + 1 < len(args):
                yield args[i + 1]
            elif a.startswith("--command="):
                yield a.split("=", 1)[1]
    if name in ("find",):
        may_hit = find_may_reach_ssh(args)
        for i, a in enumerate(args):
            if a in ("-exec", "-execdir", "-ok", "-okdir"):
                end = next((j for j in range(i + 1, len(args)) if args[j] in (";", "+", "\\;")), len(args))
                inner = [x for x in args[i + 1 : end]]
                starts = [p for p in args[:i] if not p.startswith("-")] or ["."]
                # what {} stands for: anything below the start, so a home start may mean its .ssh
                home = is_home_ancestor(starts[0]) or (shell.cwd_home and starts[0] in (".", "./"))
                found = f"{starts[0]}/.ssh/{{}}" if home and may_hit else starts[0]
                if starts[0].startswith("/dev"):
                    found = "/dev/sdz"  # anything find meets under /dev may be a disk
                inner = [x.replace("{}", found) for x in inner]
                if inner:  # an expansion stays one to the check (`-exec $X {}`); the rest is quoted
                    yield " ".join(x if x.startswith("$") else shlex.quote(x) for x in inner)
    if name == "xargs" and len(args) > 0:
        yield shlex.join(args)
    yield from _carried(name, args)
    if name == "trap" and args and args[0] not in ("-", "-p", "-l", "--"):
        yield args[0]  # `trap CODE SIGNAL`: the code runs when the signal comes (EXIT: when the shell ends)
    if name == "git":
        # `git -c alias.x='!cmd' x`, `git config alias.x '!cmd'`, core.sshCommand, core.pager…: shell commands
        pairs = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "-c"]
        if "config" in args:
            rest = [a for a in args[args.index("config") + 1 :] if not a.startswith("-")]
            pairs += [f"{rest[0]}={rest[1]}"] if len(rest) >= 2 else []
        for pair in pairs:
            key, _, value = pair.partition("=")
            if key.lower().startswith("alias.") and value.startswith("!"):
                yield value[1:]
            elif key.lower() in GIT_COMMAND_KEYS or key.lower().endswith((".proxycommand", ".command")):
                yield value


_TMUX_KEYS = re.compile(r"^(Enter|C-[a-zA-Z\[\]\\]|M-.|Escape|Tab|BSpace|Space|Up|Down|Left|Right|Home|End|F\d+|KP.*)$")


def _carried(name: str, args: list[str]) -> Iterator[str]:
    """Command lines other programs carry in their arguments and run (or type into a shell)."""
    escapes_only = name in _ESCAPE_ONLY  # their values are SQL, ex commands…: only a shell escape runs a command
    for opt, takes in CARRIERS.get(name, ()):
        for i, a in enumerate(args):
            value = None
            cluster = len(opt) == 2 and a.startswith("-") and not a.startswith("--") and len(a) > 2
            if (a == opt or (cluster and a.endswith(opt[1]) and takes)) and takes and i + 1 < len(args):
                value = args[i + 1]  # `-c CMD`, and the cluster `-qc CMD`
            elif a.startswith(opt + "=") and len(a) > len(opt) + 1:
                value = a[len(opt) + 1 :]
            if value is None:
                continue
            stripped = _strip_bang(value)
            if not escapes_only or stripped != value:
                yield stripped
            elif opt.startswith("-o") and a.startswith("-o") and opt[2:] and a[2:].lower().startswith(opt[2:].lower()):
                yield a.split("=", 1)[-1] if "=" in a else ""
    if name == "sqlite3":
        for a in args:
            if a.lstrip().startswith((".shell", ".system")):
                yield _strip_bang(a.lstrip())
    if name in ("mysql", "mariadb"):
        for i, a in enumerate(args[:-1]):
            value = args[i + 1]
            if a in ("-e", "--execute") and value.lstrip().lower().startswith(("system ", "\\!")):
                yield value.lstrip().split(None, 1)[1] if " " in value.strip() else ""
    if name == "ssh":
        # `ssh host CMD…`: the words after the host run in the remote login shell; -o ProxyCommand=… locally
        for i, a in enumerate(args):
            if a == "-o" and i + 1 < len(args) and args[i + 1].lower().startswith(("proxycommand", "localcommand")):
                yield args[i + 1].split("=", 1)[-1] if "=" in args[i + 1] else args[i + 1].split(None, 1)[-1]
        rest = ssh_remote_words(args)
        if rest:
            yield " ".join(rest)
    if name in ("tmux", "screen"):
        words = [a for a in args if not a.startswith("-")]
        verbs = {"send-keys", "send", "new-session", "new", "new-window", "neww", "split-window", "splitw",
                 "run-shell", "run", "respawn-pane", "respawnp", "respawn-window", "if-shell", "ifsh", "stuff",
                 "display-popup", "popup", "pipe-pane", "pipep"}  # fmt: skip
        if any(w in verbs for w in words) or "-X" in args:
            verb = next((w for w in args if w in verbs), "")
            start = args.index(verb) + 1 if verb in args else 0
            typed = [a for a in args[start:] if not _TMUX_KEYS.match(a)]
            skip = {"-t", "-c", "-n", "-s", "-F", "-x", "-y", "-e", "-w", "-h", "-p", "-l"}
            text, i = [], 0
            while i < len(typed):
                if typed[i] in skip:
                    i += 2
                    continue
                if typed[i].startswith("-") and len(typed[i]) <= 3:
                    i += 1
                    continue
                text.append(typed[i])
                i += 1
            if text:  # typed into, or run by, another shell: checked as if run here
                yield " ".join(text).replace("\\n", "\n").replace("\\r", "\n")
        elif name == "screen":
            rest, i = [], 0
            while i < len(args):
                if args[i] in ("-S", "-c", "-e", "-h", "-L", "-Logfile", "-p", "-T", "-t"):
                    i += 2
                    continue
                if args[i].startswith("-"):
                    i += 2 if len(args[i]) > 2 and args[i][-1] in "SceLpTt" else 1  # `-dmS NAME`
                    continue
                rest = args[i:]
                break
            if rest:
                yield " ".join(rest)  # `screen -dmS x CMD…` runs CMD


_ESCAPE_ONLY = {"psql", "sqlite3", "vim", "vi", "nvim", "ex", "view", "gdb", "less"}


def _strip_bang(value: str) -> str:
    r"""`exec=CMD`, `!CMD` (vim's shell escape, psql's `\\!`, sqlite's `.shell`) → CMD."""
    lead = value.lstrip(" :")
    for prefix in ("exec=", "!", "\\! ", "\\!", ".shell ", ".system ", "shell ", "silent !", "silent!"):
        if lead.startswith(prefix):
            return lead[len(prefix) :]
    return value
