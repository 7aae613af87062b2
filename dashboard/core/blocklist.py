"""The exec blocklist: commands that must never be typed into a shell, however they are phrased.

The command is parsed with a real shell parser (bashlex), never matched as text: quoting tricks,
wrappers (`sudo`, `env`, `nohup`, `timeout`, `xargs`…), nested `sh -c` / `bash -c` / `eval` strings,
command and process substitutions, subshells, pipelines and `;` / `&&` / `||` lists are all looked
through. Four families are refused:

- `disk-wipe`: formatting or wiping a filesystem or block device (mkfs*, wipefs, blkdiscard, dd /
  shred / cat / tee / cp onto a block device, partition-table writes by fdisk, parted, sgdisk…);
- `fork-bomb`: a function that calls itself in a pipeline or in the background, whatever its name;
- `download-exec`: a download piped or substituted into an interpreter (`curl … | sh`,
  `bash <(curl …)`, `sh -c "$(wget -O- …)"`, `eval "$(curl …)"`);
- `ssh-dir`: writing, moving, deleting, linking, chmod-ing or appending under a `.ssh` directory
  (any spelling of home: `~`, `~user`, `$HOME`, `${HOME}`, `/root`, `/home/*`), or recursively
  deleting / re-owning a directory that contains one.

A command that cannot be parsed is refused (`unparseable`): what cannot be read cannot be vouched for.
There is no override. Pure: no I/O.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import bashlex

MAX_DEPTH = 8
"""How deep `sh -c "… eval '…'"` nesting is followed before the command is refused as unreadable."""


@dataclass(frozen=True, slots=True)
class Block:
    """Why a command is refused: the rule, the offending part of the command, and a sentence."""

    rule: str
    part: str
    reason: str

    def __str__(self) -> str:
        return f"blocked ({self.rule}): {self.reason} — {self.part!r}"


class _Blocked(Exception):
    def __init__(self, block: Block) -> None:
        super().__init__(block.reason)
        self.block = block


def check_command(command: str) -> Block | None:
    """The first rule the command breaks, or None when it may run."""
    try:
        _Checker().check_source(command, 0)
    except _Blocked as exc:
        return exc.block
    return None


# ----- vocabulary ---------------------------------------------------------------------------------

WRAPPERS: dict[str, tuple[set[str], bool]] = {
    # name: (options that take a value, whether a positional argument precedes the command)
    "sudo": ({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T", "-c"}, False),
    "doas": ({"-u", "-C"}, False),
    "env": ({"-u", "-C", "-S", "--unset", "--chdir", "--split-string"}, False),
    "nohup": (set(), False),
    "nice": ({"-n", "--adjustment"}, False),
    "ionice": ({"-c", "-n", "-p", "-P", "-u"}, False),
    "timeout": ({"-s", "-k", "--signal", "--kill-after"}, True),
    "stdbuf": ({"-i", "-o", "-e"}, False),
    "time": ({"-f", "-o"}, False),
    "command": (set(), False),
    "builtin": (set(), False),
    "exec": ({"-a"}, False),
    "setsid": (set(), False),
    "chronic": (set(), False),
    "unbuffer": (set(), False),
    "torsocks": (set(), False),
    "proxychains": ({"-f"}, False),
    "proxychains4": ({"-f"}, False),
    "xargs": ({"-I", "-i", "-n", "-P", "-d", "-E", "-e", "-L", "-l", "-s", "-a", "--arg-file", "--delimiter"}, False),
    "flock": ({"-w", "-E", "--timeout", "--conflict-exit-code"}, True),
    "watch": ({"-n", "-d", "--interval"}, False),
    "strace": ({"-e", "-o", "-p", "-s", "-u"}, False),
    "ltrace": ({"-e", "-o", "-p", "-s", "-u"}, False),
    "chroot": ({"--userspec", "--groups"}, True),
    "runuser": ({"-u", "-g", "-G", "-l"}, False),
    "catchsegv": (set(), False),
    "faketime": (set(), True),
    "firejail": (set(), False),
    "unshare": (set(), False),
    "nsenter": ({"-t", "--target"}, False),
    "busybox": (set(), False),
    "pkexec": ({"--user"}, False),
}
SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "tcsh", "csh", "yash", "busybox"}
INTERPRETERS = SHELLS | {
    "python", "python2", "python3", "pypy", "pypy3", "perl", "ruby", "node", "nodejs", "deno", "bun", "php",
    "lua", "luajit", "pwsh", "powershell", "Rscript", "tclsh", "wish", "osascript", "source", ".",
}  # fmt: skip
DOWNLOADERS = {
    "curl", "wget", "wget2", "fetch", "aria2c", "http", "https", "httpie", "xh", "lwp-download", "lwp-request",
    "GET", "ftp", "tftp", "lynx", "links", "w3m", "elinks", "axel", "curlie", "powershell", "iwr", "nc", "ncat",
    "socat", "openssl", "scp", "sftp", "rsync", "gsutil", "aws", "s3cmd", "rclone",
}  # fmt: skip
FORMATTERS = re.compile(r"^(mkfs(\..+)?|mke2fs|mkdosfs|mkswap|mkntfs|mkexfatfs|mkexfat|mkfs_.+|wipefs|blkdiscard)$")
PARTITIONERS = {"fdisk", "sfdisk", "cfdisk", "parted", "sgdisk", "gdisk", "cgdisk", "partprobe_"}
BLOCK_DEVICE = re.compile(
    r"^/dev/(sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|md\d|md/|dm-\d|loop\d|sr\d|mapper/|disk/|zd\d|"
    r"rbd\d|nbd\d|bcache\d|root$|ram\d|mtdblock\d|fd\d|ubd|drbd\d|zvol/|disk\d|rdisk\d|ada\d|da\d|"
    r"[a-z0-9_-]+/[a-z0-9_-]+$)"
)
SSH_FILES = ("authorized_keys", "authorized_keys2", "known_hosts", "known_hosts.old", "config", "id_rsa",
             "id_ed25519", "id_ecdsa", "id_dsa", "id_rsa.pub", "id_ed25519.pub", "id_ecdsa.pub", "environment",
             "rc", ".ssh")  # fmt: skip
EDITORS = {"vi", "vim", "nvim", "nano", "emacs", "ed", "ex", "joe", "micro", "pico", "mcedit", "kak", "hx"}
SSH_WRITERS_ALL = {"rm", "rmdir", "unlink", "shred", "truncate", "touch", "mkdir", "chmod", "chown", "chgrp",
                   "chattr", "setfacl", "mv", "srm", "wipe"}  # fmt: skip
RECURSIVE_DESTROYERS = {"rm", "chmod", "chown", "chgrp", "shred", "srm", "wipe", "setfacl", "chattr"}


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*|[0-9@*]+)(?:\[[^]]*\])?\}|\$([A-Za-z_][A-Za-z0-9_]*|[0-9@*])")


def _base(word: str) -> str:
    return word.rsplit("/", 1)[-1]


def _interp(name: str) -> str:
    """`python3.12` → `python3`… → the interpreter family name used in INTERPRETERS."""
    if name in INTERPRETERS:
        return name
    stripped = re.sub(r"[\d.]+$", "", name)
    return stripped if stripped in INTERPRETERS else name


# ----- the walk -----------------------------------------------------------------------------------


@dataclass
class _Cmd:
    """One simple command after unwrapping: its words, redirections, and the AST words they came from."""

    words: list[str]
    nodes: list[Any]
    redirects: list[tuple[str, str]] = field(default_factory=list)
    text: str = ""
    redirect_nodes: list[Any] = field(default_factory=list)


@dataclass
class _Checker:
    variables: dict[str, str] = field(default_factory=dict)
    in_ssh_dir: bool = False
    cwd_home: bool = False
    cwd: str | None = None
    """The directory a `cd` to a plain absolute path moved to (None: unknown)."""
    functions: dict[str, Any] = field(default_factory=dict)
    calls: dict[str, set[str]] = field(default_factory=dict)
    _depth_fn: int = 0

    def check_source(self, source: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise _Blocked(Block("unparseable", source[:80], f"nested more than {MAX_DEPTH} levels deep"))
        if "\x00" in source:
            raise _Blocked(Block("unparseable", source[:80], "contains a NUL byte"))
        if not source.strip():
            return
        bang = _history_expansion(source)
        if bang is not None:
            why = "history expansion (!) would rewrite the command after the check"
            raise _Blocked(Block("unparseable", bang, why))
        source = _lenient(source)
        try:
            trees = bashlex.parse(source)
        except Exception as exc:  # bashlex raises several types (ParsingError, NotImplementedError, …)
            bomb = _forkbomb_text(source)
            if bomb:
                raise _Blocked(Block("fork-bomb", bomb, "a function that calls itself in the background")) from None
            why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise _Blocked(Block("unparseable", source[:80], f"cannot be parsed, so it is refused ({why})")) from None
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
        self.functions[name] = body
        self.calls[name] = _background_calls(body, name)
        if _in_cycle(self.calls, name):
            why = f"function '{name}' spawns itself in the background"
            raise _Blocked(Block("fork-bomb", _text(node, source), why))
        self.visit(body, source, depth, piped=False)  # a body runs however it is reached (trap, alias, …)

    def _pipeline(self, commands: list[Any], source: str, depth: int) -> None:
        """`curl … | sh`: a downloader feeding, through any stages, an interpreter that runs its stdin."""
        downloading = ""
        ssh_path = ""
        for stage in commands:
            for c in _find_commands(stage):
                raw = self._simple(c, source, depth)
                cmd = self._unwrap(raw, depth, source)
                if cmd is None or raw is None:
                    continue
                name = _base(cmd.words[0])
                if _base(raw.words[0]) == "xargs" and ssh_path and name in SSH_WRITERS_ALL | {"cp", "ln", "tee"}:
                    part = f"… {ssh_path} … | {' '.join(raw.words[:3])}"
                    raise _Blocked(Block("ssh-dir", part, "feeds a .ssh path to a command that changes it"))
                if downloading and _interp(name) in INTERPRETERS and _runs_stdin(cmd.words):
                    part = f"{downloading} | … {cmd.text}"
                    raise _Blocked(Block("download-exec", part, "a download is piped into an interpreter"))
                if name in DOWNLOADERS and not downloading:
                    downloading = cmd.text
                ssh_path = ssh_path or next((w for w in cmd.words[1:] if self._protected(w)), "")

    def _command(self, node: Any, source: str, depth: int, *, piped: bool) -> None:
        raw = self._simple(node, source, depth)
        if raw is None:
            return
        cmd = self._unwrap(raw, depth, source)
        if cmd is None:
            return
        self._rules(cmd, source, depth, piped=piped)

    def _simple(self, node: Any, source: str, depth: int) -> _Cmd | None:
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
                assignments.append((name, self._expand(value)))
            elif part.kind == "word":
                self._substitutions(part, source, depth)
                expanded = _braces(self._expand(part.word))
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
                self.variables[name] = value
            if redirects:
                return _Cmd([":"], [], redirects, _text(node, source), nodes_redirect)
            return None
        return _Cmd(words, nodes, redirects, _text(node, source), nodes_redirect)

    def _expand(self, word: str) -> str:
        def sub(m: re.Match[str]) -> str:
            name = m.group(1) or m.group(2)
            return self.variables.get(name, m.group(0))

        return _VAR.sub(sub, word)

    def _redirect_node(self, part: Any, source: str) -> str | None:
        output = getattr(part, "output", None)
        if output is None or isinstance(output, int) or not hasattr(output, "word"):
            return None
        target = self._expand(output.word)
        if part.type in (">", ">>", ">|", "&>", "&>>", "<>", ">&") and not target.isdigit() and target != "-":
            if _is_block_device(self._abs(target)):
                raise _Blocked(Block("disk-wipe", _text(part, source), f"writes onto the block device {target}"))
            if self._protected(target) or (self.in_ssh_dir and not target.startswith(("/", "~", "$"))):
                raise _Blocked(Block("ssh-dir", _text(part, source), f"writes under a .ssh directory ({target})"))
        return target

    def _substitutions(self, node: Any, source: str, depth: int) -> None:
        """Command and process substitutions inside a word are commands too: check them."""
        for sub in _find(node, ("commandsubstitution", "processsubstitution")):
            self.visit(sub.command, source, depth, piped=False)

    def _unwrap(self, cmd: _Cmd | None, depth: int, source: str) -> _Cmd | None:
        """Strip wrappers (`sudo -u x env A=1 nohup …`) down to the command that really runs."""
        if cmd is None:
            return None
        words = list(cmd.words)
        for _ in range(16):
            if not words:
                return None
            name = _base(words[0])
            if name not in WRAPPERS:
                break
            if name == "busybox" and len(words) > 1:
                words = words[1:]
                continue
            if name == "flock" and "-c" in words[:-1]:
                self.check_source(words[words.index("-c") + 1], depth + 1)  # `flock LOCK -c 'cmd'`
                return None
            if name == "watch":
                rest = [w for w in words[1:] if not w.startswith("-") and not w.replace(".", "").isdigit()]
                self.check_source(" ".join(rest), depth + 1)  # watch runs its arguments through sh -c
                return None
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
                    self.check_source(words[i + 1] + " " + shlex.join(words[i + 2 :]), depth + 1)
                    return None
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
                return _Cmd(["sh"], cmd.nodes[-1:], cmd.redirects, cmd.text, cmd.redirect_nodes)  # a root shell
            words = words[i:]
        if not words:
            return None
        offset = len(cmd.words) - len(words)
        return _Cmd(words, cmd.nodes[offset:], cmd.redirects, cmd.text, cmd.redirect_nodes)

    # -- the four families (and the strings that are commands) ------------------------------------

    def _rules(self, cmd: _Cmd, source: str, depth: int, *, piped: bool) -> None:
        name = _base(cmd.words[0])
        if name.startswith("$") and name[1:2].isalpha() and f"$'{name[1:]}" in source.replace('"', "'"):
            name = name[1:]  # bashlex reads ANSI-C quoting $'mkfs.ext4' as $mkfs.ext4
        args = cmd.words[1:]
        computed = any(c in cmd.words[0] for c in "$`") or any(
            n.kind == "commandsubstitution" for n in _first_parts(cmd)
        )
        if computed and _mentions_downloader(cmd.nodes[:1]):
            # the command name is computed: `$(curl …)` runs what was downloaded
            raise _Blocked(Block("download-exec", cmd.text, "runs the output of a download as a command"))
        if name in self.functions and piped and _in_cycle(self.calls, name):
            raise _Blocked(Block("fork-bomb", cmd.text, f"calls the self-spawning function '{name}'"))
        self._strings(cmd, name, args, depth)
        self._download_exec(cmd, name, args)
        self._disk(cmd, name, args)
        self._ssh(cmd, name, args, depth, source)
        if name in ("export", "declare", "local", "readonly", "typeset"):
            for a in args:
                key, eq, value = a.partition("=")
                if eq and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                    self.variables[key] = value
        if name in self.functions and self._depth_fn < 4:
            # a call binds $1…, $@ and $FUNCNAME: check the body again with what it was given
            saved = dict(self.variables)
            self.variables.update({str(i + 1): a for i, a in enumerate(args)})
            self.variables.update({"@": " ".join(args), "*": " ".join(args), "FUNCNAME": name})
            self._depth_fn += 1
            try:
                self.visit(self.functions[name], source, depth, piped=False)
            finally:
                self._depth_fn -= 1
                self.variables = saved
        if name in ("cd", "pushd", "popd"):
            target = args[-1] if args and name != "popd" else "-"
            if target in ("..", "-") or target.startswith("../"):
                self.in_ssh_dir = False
            else:
                self.in_ssh_dir = self._protected(target) or (
                    self.in_ssh_dir and not target.startswith(("/", "~", "$"))
                )
            self.cwd_home = _is_home_ancestor(target) and not self.in_ssh_dir
            self.cwd = _norm(target) if target.startswith("/") and "$" not in target else None

    def _strings(self, cmd: _Cmd, name: str, args: list[str], depth: int) -> None:
        """`sh -c STRING`, `eval WORDS`, `su -c STRING`, `find -exec CMD`, `xargs CMD`: parse and check."""
        if _interp(name) in SHELLS or name == "eval":
            for kind, target in cmd.redirects:
                if kind == "<<<":
                    self.check_source(target, depth + 1)  # `bash <<< 'cmd'` runs the string
        if name in SHELLS:
            for i, a in enumerate(args):
                if a == "-c" or (a.startswith("-") and not a.startswith("--") and "c" in a[1:] and len(a) <= 6):
                    if i + 1 < len(args):
                        self.check_source(args[i + 1], depth + 1)
                    return
        if name == "eval":
            self.check_source(" ".join(args), depth + 1)
        if name in ("su", "runuser"):
            for i, a in enumerate(args):
                if (a == "-c" or (a.startswith("-") and not a.startswith("--") and "c" in a)) and i + 1 < len(args):
                    self.check_source(args[i + 1], depth + 1)
                elif a.startswith("--command="):
                    self.check_source(a.split("=", 1)[1], depth + 1)
        if name in ("find",):
            names = [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-name", "-iname")]
            # a name filter that matches nothing a .ssh directory holds (`-name '*.swp'`) cannot reach it
            may_hit = not names or any(fnmatch.fnmatch(f, pat) for pat in names for f in SSH_FILES)
            for i, a in enumerate(args):
                if a in ("-exec", "-execdir", "-ok", "-okdir"):
                    end = next((j for j in range(i + 1, len(args)) if args[j] in (";", "+", "\\;")), len(args))
                    inner = [x for x in args[i + 1 : end]]
                    starts = [p for p in args[:i] if not p.startswith("-")] or ["."]
                    # what {} stands for: anything below the start, so a home start may mean its .ssh
                    home = _is_home_ancestor(starts[0]) or (self.cwd_home and starts[0] in (".", "./"))
                    found = f"{starts[0]}/.ssh/found" if home and may_hit else starts[0]
                    inner = [found if x == "{}" else x for x in inner]
                    if inner:
                        self.check_source(shlex.join(inner), depth + 1)
            starts = [p for p in args if not p.startswith(("-", "(", ")", "!"))]
            home = any(_is_home_ancestor(p) or (self.cwd_home and p in (".", "./")) for p in starts[:1])
            if "-delete" in args and (any(self._protected(p) for p in starts[:1]) or (home and may_hit)):
                raise _Blocked(Block("ssh-dir", cmd.text, "deletes under a .ssh directory"))
        if name == "xargs" and len(args) > 0:
            self.check_source(shlex.join(args), depth + 1)

    def _download_exec(self, cmd: _Cmd, name: str, args: list[str]) -> None:
        interp = _interp(name)
        if name in DOWNLOADERS:
            # `curl … > >(sh)`: the download's output goes into an interpreter
            for r in cmd.redirect_nodes:
                for sub in _find(r, ("processsubstitution",)):
                    for c in _find_commands(sub.command):
                        words = [p.word for p in c.parts if p.kind == "word"]
                        if words and _interp(_base(words[0])) in INTERPRETERS:
                            raise _Blocked(Block("download-exec", cmd.text, "a download is fed into an interpreter"))
        if interp not in INTERPRETERS and name != "eval":
            return
        # `bash < <(curl …)`, `bash <<< "$(curl …)"`: stdin from a download
        if _mentions_downloader(cmd.redirect_nodes):
            raise _Blocked(Block("download-exec", cmd.text, "a download is redirected into an interpreter"))
        # `bash <(curl …)`, `sh -c "$(wget -O- …)"`, `eval "$(curl …)"`, `. <(curl …)`
        if _mentions_downloader(cmd.nodes[1:]):
            raise _Blocked(Block("download-exec", cmd.text, "a download is substituted into an interpreter"))

    def _abs(self, path: str) -> str:
        return posixpath.join(self.cwd, path) if self.cwd and not path.startswith(("/", "~", "$")) else path

    def _disk(self, cmd: _Cmd, name: str, args: list[str]) -> None:
        args = [f"of={self._abs(a[3:])}" if a.startswith("of=") else a for a in args]
        if self.cwd == "/dev":
            args = [self._abs(a) if not a.startswith("-") and "=" not in a else a for a in args]
        if name == "mkswap":
            # a swap *file* is everyday setup; a device is a wipe
            if any(_is_block_device(a) or "$" in a for a in args if not a.startswith("-")):
                raise _Blocked(Block("disk-wipe", cmd.text, "mkswap formats a device"))
        elif FORMATTERS.match(name):
            raise _Blocked(Block("disk-wipe", cmd.text, f"{name} formats or wipes a filesystem or device"))
        if name == "dd":
            for a in args:
                if a.startswith("of="):
                    target = a[3:]
                    if _is_block_device(target) or any(c in target for c in "$`"):
                        raise _Blocked(Block("disk-wipe", cmd.text, f"dd writes onto {target}"))
        if name in ("shred", "srm", "wipe", "cat", "tee", "cp", "pv", "install", "ddrescue", "badblocks"):
            devices = [a for a in args if _is_block_device(a)]
            ops = [a for a in args if not a.startswith("-")]
            if name == "cat":
                devices = []  # cat only reads its operands; its writes are redirections
            if name in ("cp", "install") and ops:
                devices = [a for a in ops[-1:] if _is_block_device(a)]
            if name == "ddrescue":
                devices = [a for a in ops[1:2] if _is_block_device(a)]  # infile outfile [mapfile]
            if name == "badblocks" and not any(
                a.startswith("-") and not a.startswith("--") and set(a[1:]) & {"w", "n"} for a in args
            ):
                devices = []
            if devices:
                raise _Blocked(Block("disk-wipe", cmd.text, f"{name} writes onto the block device {devices[0]}"))
        if name in PARTITIONERS and not _partition_read_only(name, args):
            raise _Blocked(Block("disk-wipe", cmd.text, f"{name} can rewrite a partition table"))
        if name in ("zpool",) and args and args[0] in ("create", "destroy", "labelclear"):
            raise _Blocked(Block("disk-wipe", cmd.text, f"zpool {args[0]} destroys data on its devices"))
        wipe = {"luksFormat", "erase", "luksErase", "reencrypt"} & set(args)
        if name == "cryptsetup" and wipe:
            raise _Blocked(Block("disk-wipe", cmd.text, f"cryptsetup {sorted(wipe)[0]} wipes a device"))
        if name == "nvme" and {"format", "sanitize"} & set(args):
            raise _Blocked(Block("disk-wipe", cmd.text, "nvme format/sanitize erases a drive"))
        if name == "hdparm" and any(a.startswith(("--security-erase", "--trim-sector-ranges")) for a in args):
            raise _Blocked(Block("disk-wipe", cmd.text, "hdparm erases a drive"))

    def _ssh(self, cmd: _Cmd, name: str, args: list[str], depth: int, source: str) -> None:
        operands = [a for a in args if not a.startswith("-") or a == "-"]
        flags = [a for a in args if a.startswith("-")]

        def protected(path: str) -> bool:
            return self._protected(path) or (self.in_ssh_dir and not path.startswith(("/", "~", "$")))

        def refuse(path: str, what: str) -> None:
            raise _Blocked(Block("ssh-dir", cmd.text, f"{what} under a .ssh directory ({path})"))

        recursive = any(f in ("-r", "-R", "--recursive") or (not f.startswith("--") and ("r" in f or "R" in f))
                        for f in flags)  # fmt: skip
        if name in RECURSIVE_DESTROYERS and (recursive or (name == "rm" and any("f" in f for f in flags))):
            for path in operands:
                if _is_home_ancestor(path) and (recursive or name != "rm"):
                    refuse(path, f"{name} reaches everything")
        if name in SSH_WRITERS_ALL:
            for path in operands:
                if protected(path):
                    refuse(path, f"{name} changes something")
            if name == "mv":
                for path in operands:
                    if _is_home_ancestor(path):
                        refuse(path, "mv moves a home directory, with its .ssh,")
        if name in ("cp", "install", "ln", "rsync", "scp", "link", "rename"):
            dest = _value_of(args, ("-t", "--target-directory")) or (operands[-1] if operands else "")
            if name in ("rename",) and operands:
                dest = operands[-1]
            if dest and protected(dest):
                refuse(dest, f"{name} writes")
            sources = operands[:-1] if dest == (operands[-1] if operands else "") else operands
            if (
                dest
                and _is_home_ancestor(dest)
                and (name == "rsync" or any(_base(src.rstrip("/")) == ".ssh" for src in sources))
            ):
                refuse(dest, f"{name} copies into a home directory, over its .ssh")
            if name == "rsync" and "--remove-source-files" in args and any(protected(p) for p in operands[:-1]):
                refuse(operands[0], "rsync removes files")
        if name == "tee":
            for path in operands:
                if path != "-" and protected(path):
                    refuse(path, "tee writes")
        in_place = any(f.startswith("--in-place") or (not f.startswith("--") and "i" in f[1:].split(".")[0])
                       for f in flags)  # fmt: skip
        if name in ("sed", "perl", "ruby") and in_place:
            for path in operands:
                if protected(path):
                    refuse(path, f"{name} -i edits a file")
        if name == "dd":
            for a in args:
                if a.startswith("of=") and protected(a[3:]):
                    refuse(a[3:], "dd writes")
        if name in ("curl", "wget", "wget2", "aria2c", "axel"):
            for opt in ("-o", "--output", "-O", "--output-document", "-P", "--directory-prefix", "-d", "--dir"):
                value = _value_of(args, (opt,))
                if value and protected(value):
                    refuse(value, f"{name} downloads")
            for value in _cluster_values(args, "oOPd"):  # `curl -sSLo FILE`, `wget -qO FILE`
                if protected(value):
                    refuse(value, f"{name} downloads")
        if name in ("tar", "unzip", "7z", "bsdtar", "cpio"):
            value = _value_of(args, ("-C", "--directory", "-d", "-o"))
            if value and (protected(value) or _is_home_ancestor(value)):
                refuse(value, f"{name} extracts (into a home directory, its .ssh included)")
        if name == "git" and args[:1] == ["clone"] and len(operands) >= 3 and protected(operands[-1]):
            refuse(operands[-1], "git clone writes")
        if name == "ssh-keygen":
            reads = {"-l", "-y", "-F", "-B", "-L", "-Q", "-D"}
            key_file = _value_of(args, ("-f",))
            if "-R" in flags:
                refuse(key_file or "~/.ssh/known_hosts", "ssh-keygen -R rewrites known_hosts")
            if (
                key_file
                and protected(key_file)
                and not reads & set(flags)
                and not any(f.startswith("-") and set(f[1:]) & {"l", "y"} for f in flags)
            ):
                refuse(key_file, "ssh-keygen writes a key")
        if name in EDITORS:
            for path in operands:
                if protected(path):
                    refuse(path, f"{name} edits a file")
        if name == "truncate" or name == "install":
            for path in operands:
                if protected(path):
                    refuse(path, f"{name} writes")

    def _protected(self, path: str) -> bool:
        return _is_ssh_path(path)


# ----- helpers ------------------------------------------------------------------------------------


def _history_expansion(source: str) -> str | None:
    """An unquoted `!` that interactive bash would expand (`!!`, `!#:1-3`, `!$`…), or None.

    bash expands it anywhere but inside single quotes or after a backslash, unless a blank, `=` or
    `(` follows (`[ a != b ]`, `! cmd`, extglob `!(…)`).
    """
    single = False
    i = 0
    while i < len(source):
        ch = source[i]
        if ch == "\\" and not single:
            i += 2
            continue
        if ch == "'":
            single = not single
        elif ch == "!" and not single:
            nxt = source[i + 1 : i + 2]
            if nxt and nxt not in ' \t\n=("':
                return source[max(0, i - 20) : i + 12]
        i += 1
    return None


_ARITH = re.compile(r"\$\(\(([^()]*(?:\([^()]*\)[^()]*)*)\)\)")
_DOUBLE_BRACKET = re.compile(r"\[\[\s([^\]]*)\s\]\]")


def _lenient(source: str) -> str:
    """What bashlex cannot parse but hides no command: `$((1+2))`, `[[ -f x ]]`, a leading `time`.

    Only forms with no `$(`, backtick or `<(` inside are rewritten, so nothing that runs is hidden.
    """

    def plain(body: str) -> bool:
        return "$(" not in body and "`" not in body and "<(" not in body and ">(" not in body

    source = _ARITH.sub(lambda m: "0" if plain(m.group(1)) else m.group(0), source)
    source = _DOUBLE_BRACKET.sub(lambda m: "true" if plain(m.group(1)) else m.group(0), source)
    return re.sub(r"(^|[;&|]\s*)time\s+(?=\S)", r"\1", source)


def _text(node: Any, source: str) -> str:
    try:
        start, end = node.pos
        return str(source[start:end])
    except (AttributeError, TypeError, ValueError):
        return source[:80]


def _find(node: Any, kinds: Sequence[str]) -> Iterator[Any]:
    """Every descendant of the given kinds, not descending into what was found."""
    stack = [node]
    while stack:
        n = stack.pop()
        for child in list(getattr(n, "parts", []) or []) + list(getattr(n, "list", []) or []):
            if getattr(child, "kind", None) in kinds:
                yield child
            else:
                stack.append(child)
        for attr in ("command", "output"):
            child = getattr(n, attr, None)
            if child is not None and hasattr(child, "kind") and n.kind not in kinds:
                if child.kind in kinds:
                    yield child
                else:
                    stack.append(child)


def _first_parts(cmd: _Cmd) -> list[Any]:
    return list(getattr(cmd.nodes[0], "parts", []) or []) if cmd.nodes else []


def _mentions_downloader(nodes: Sequence[Any]) -> bool:
    """A command or process substitution among these words runs a downloader (at any depth)."""
    for node in nodes:
        for sub in _find(node, ("commandsubstitution", "processsubstitution")):
            for c in _find_commands(sub.command):
                words = [p.word for p in c.parts if p.kind == "word"]
                if any(_base(w) in DOWNLOADERS for w in words):
                    return True
    return False


def _find_commands(node: Any) -> Iterator[Any]:
    if getattr(node, "kind", None) == "command":
        yield node
    for child in list(getattr(node, "parts", []) or []) + list(getattr(node, "list", []) or []):
        yield from _find_commands(child)
    inner = getattr(node, "command", None)
    if inner is not None and hasattr(inner, "kind"):
        yield from _find_commands(inner)


def _background_calls(body: Any, name: str) -> set[str]:
    """Commands a function body runs in a pipeline or in the background (`$FUNCNAME` is the function)."""
    out: set[str] = set()

    def called(node: Any) -> str | None:
        word = _command_name(node)
        if word in ("$FUNCNAME", "${FUNCNAME}", "${FUNCNAME[0]}"):
            return name
        return word

    for node in _walk(body):
        if node.kind == "pipeline":
            out |= {w for c in node.parts if c.kind == "command" and (w := called(c))}
        if node.kind == "list":
            parts = node.parts
            for i, p in enumerate(parts[:-1]):
                nxt = parts[i + 1]
                if nxt.kind == "operator" and nxt.op == "&":
                    out |= {w for c in _walk(p) if (w := called(c))}
    return out


def _in_cycle(calls: dict[str, set[str]], start: str) -> bool:
    """Does `start` reach itself through background/pipeline calls (f→f, or f→g→f)?"""
    seen: set[str] = set()
    stack = list(calls.get(start, ()))
    while stack:
        n = stack.pop()
        if n == start:
            return True
        if n in seen:
            continue
        seen.add(n)
        stack.extend(calls.get(n, ()))
    return False


def _walk(node: Any) -> Iterator[Any]:
    yield node
    for child in list(getattr(node, "parts", []) or []) + list(getattr(node, "list", []) or []):
        if hasattr(child, "kind"):
            yield from _walk(child)


def _command_name(node: Any) -> str | None:
    if getattr(node, "kind", None) != "command":
        return None
    words = [p.word for p in node.parts if p.kind == "word"]
    return words[0] if words else None


_FORKBOMB_TEXT = re.compile(r"([^\s(){};|&]+)\s*\(\s*\)\s*\{[^}]*?\1\s*\|\s*\1\s*&")


def _forkbomb_text(source: str) -> str | None:
    m = _FORKBOMB_TEXT.search(source)
    return m.group(0) if m else None


def _runs_stdin(words: list[str]) -> bool:
    """Does this interpreter invocation take its program from stdin?"""
    name = _interp(_base(words[0]))
    args = words[1:]
    if any(a in ("/dev/stdin", "/dev/fd/0", "/proc/self/fd/0", "-") for a in args):
        return True
    if name in ("source", "."):
        return any(a in ("/dev/stdin", "/proc/self/fd/0", "-") for a in args)
    code_flags = {"-c", "-e", "-E", "-m", "-r", "--command", "--eval", "-p", "--print", "-n"}
    if name in SHELLS:
        if "-s" in args or "-" in args:
            return True
        operands = [a for a in args if not a.startswith("-")]
        return not operands and not any(a == "-c" or (a.startswith("-") and "c" in a[1:]) for a in args)
    if "-" in args or "/dev/stdin" in args:
        return True
    if any(a in code_flags or (a.startswith("-") and not a.startswith("--") and a[1:2] in "cemrEpn") for a in args):
        return False
    return not [a for a in args if not a.startswith("-")]


def _norm(path: str) -> str:
    p = posixpath.normpath(path.strip()) if path.strip().startswith("/") else path.strip()
    return "/" + p.lstrip("/") if p.startswith("//") else p


def _is_block_device(path: str) -> bool:
    p = _norm(path)
    if p in ("/dev/null", "/dev/zero", "/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty", "/dev/random",
             "/dev/urandom", "/dev/full"):  # fmt: skip
        return False
    if p.startswith(("/dev/fd/", "/dev/pts/", "/dev/shm/", "/dev/tty", "/dev/mqueue/", "/dev/hugepages/")):
        return False
    return bool(BLOCK_DEVICE.match(p))


_HOME_PREFIX = re.compile(r"^(~[A-Za-z0-9_.-]*|\$\{?HOME\}?|/root|/home/[^/]+|/Users/[^/]+|/var/root)(?=/|$)")


def _components(path: str) -> list[str]:
    return [c for c in re.split(r"/+", path) if c and c != "."]


def _is_ssh_path(path: str) -> bool:
    """Any path with a `.ssh` component (or a glob that would match one, or `..` tricks around one)."""
    if not path or path.startswith("-"):
        return False
    norm: list[str] = []
    for comp in _components(path.replace("\\", "")):
        if comp == "..":
            if norm:
                norm.pop()
            continue
        norm.append(comp)
    for comp in norm:
        if comp == ".ssh":
            return True
        # an unset or unknown variable inside a name could be anything: `.ss${x}h` may well be `.ssh`
        pattern = _VAR.sub("*", comp).replace("[^", "[!")
        if pattern[:1] in (".", "[") and any(ch in pattern for ch in "*?[") and fnmatch.fnmatchcase(".ssh", pattern):
            return True
    return False


def _is_home_ancestor(path: str) -> bool:
    """Is this a directory that holds users' .ssh directories (`/`, `/home`, `/root`, `~`, `$HOME`)?"""
    p = _norm(path).rstrip("/") or "/"
    if p in ("/", "/home", "/Users", "/*", "/home/*", "/root", "/var/root"):
        return True
    m = _HOME_PREFIX.match(p)
    return bool(m and m.end() == len(p))


def _value_of(args: list[str], options: Sequence[str]) -> str | None:
    for i, a in enumerate(args):
        for opt in options:
            if a == opt and i + 1 < len(args):
                return args[i + 1]
            if opt.startswith("--") and a.startswith(opt + "="):
                return a[len(opt) + 1 :]
            if not opt.startswith("--") and a.startswith(opt) and len(a) > len(opt) and opt not in ("-d", "-o"):
                return a[len(opt) :]
    return None


def _cluster_values(args: list[str], letters: str) -> list[str]:
    """Values of short options given in a cluster: `-sSLo FILE` → FILE, `-qOfile` → file."""
    out = []
    for i, a in enumerate(args):
        if not a.startswith("-") or a.startswith("--") or len(a) < 3:
            continue
        for j, ch in enumerate(a[1:], start=1):
            if ch in letters:
                rest = a[j + 1 :]
                if rest:
                    out.append(rest)
                elif i + 1 < len(args):
                    out.append(args[i + 1])
                break
    return out


def _partition_read_only(name: str, args: list[str]) -> bool:
    if name in ("fdisk", "sfdisk"):
        return any(a in ("-l", "--list", "-s", "--show-size", "-d", "--dump", "-J", "--json", "-V", "--verify",
                         "--version", "-h", "--help") for a in args)  # fmt: skip
    if name == "parted":
        if any(a in ("-l", "--list", "-v", "--version", "-h", "--help") for a in args):
            return True
        rest = [a for a in args if not a.startswith("-")]
        if len(rest) >= 4 and rest[1] == "unit":
            rest = [rest[0], *rest[3:]]
        return len(rest) >= 2 and rest[1:] in (["print"], ["p"], ["print", "free"], ["print", "all"])
    if name in ("sgdisk", "gdisk"):
        reads = ("-p", "--print", "-v", "--verify", "-i", "--info", "-O", "--print-mbr", "-V", "--version", "-?", "-l")
        return bool(args) and all(a in reads or not a.startswith("-") for a in args) and any(a in reads for a in args)
    return False


_BRACE = re.compile(r"\{([^{}]*,[^{}]*)\}")
_RANGE = re.compile(r"\{([A-Za-z0-9])\.\.([A-Za-z0-9])\}")


def _braces(word: str, limit: int = 64) -> list[str]:
    """Brace expansion (`~/.s{s,x}h` → `~/.ssh`, `~/.sxh`) so spelling tricks are seen as bash sees them."""

    def chars(m: re.Match[str]) -> str:
        a, b = ord(m.group(1)), ord(m.group(2))
        step = 1 if b >= a else -1
        return "{" + ",".join(chr(c) for c in range(a, b + step, step)) + ",}" if abs(b - a) < 64 else m.group(0)

    word = _RANGE.sub(chars, word)
    out = [word]
    for _ in range(4):
        nxt: list[str] = []
        changed = False
        for w in out:
            m = _BRACE.search(w)
            if m is None:
                nxt.append(w)
                continue
            changed = True
            for alt in m.group(1).split(","):
                nxt.append(w[: m.start()] + alt + w[m.end() :])
        out = nxt[:limit]
        if not changed:
            break
    return out
