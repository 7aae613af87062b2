"""Rule `ssh-dir`: writing, moving, deleting, linking, chmod-ing or appending under a `.ssh` directory.

Also refused: recursively deleting or re-owning, moving, copying or extracting over a directory that
holds one (`/`, `/home`, `~`…), and feeding a .ssh path through a pipe to `xargs rm`.
"""

from __future__ import annotations

from typing import Any

from dashboard.core.blocklist.model import Block, Blocked, Cmd
from dashboard.core.blocklist.paths import find_may_reach_ssh, is_home_ancestor, is_ssh_path
from dashboard.core.blocklist.state import Shell
from dashboard.core.blocklist.tree import text
from dashboard.core.blocklist.vocabulary import EDITORS, RECURSIVE_DESTROYERS, SSH_READERS, SSH_WRITERS_ALL
from dashboard.core.blocklist.words import base, cluster_values, value_of


def check_redirect(shell: Shell, target: str, part: Any, source: str) -> None:
    """`>> ~/.ssh/authorized_keys`: an output redirection under a .ssh directory."""
    if shell.under_ssh(target):
        raise Blocked(Block("ssh-dir", text(part, source), f"writes under a .ssh directory ({target})"))


def check_xargs_feed(raw: Cmd, cmd: Cmd, ssh_path: str) -> None:
    """`find ~/.ssh | xargs rm`: an earlier pipeline stage named `ssh_path`, and xargs hands it on."""
    if base(raw.words[0]) == "xargs" and ssh_path and base(cmd.words[0]) in SSH_WRITERS_ALL | {"cp", "ln", "tee"}:
        part = f"… {ssh_path} … | {' '.join(raw.words[:3])}"
        raise Blocked(Block("ssh-dir", part, "feeds a .ssh path to a command that changes it"))


def _extracting(args: list[str]) -> bool:
    first = args[0] if args else ""
    clusters = [a for a in args if a.startswith("-") and not a.startswith("--")]
    extract = any(a in ("--extract", "--get") or "x" in a for a in clusters)
    return extract or (not first.startswith("-") and "x" in first)


_KNOWN_HERE = SSH_WRITERS_ALL | EDITORS | {"cp", "install", "ln", "rsync", "scp", "link", "rename", "tee", "sed",
    "perl", "ruby", "dd", "curl", "wget", "wget2", "aria2c", "axel", "tar", "unzip", "7z", "bsdtar", "cpio",
    "ssh-keygen", "find"}  # fmt: skip
"""Commands the rules above judge by their own options; any other command is judged by `_unknown_writer`."""
_OUTPUT_OPTIONS = ("-o", "--output", "-out", "--out", "-O", "--outfile", "--output-file", "-w", "--write")


def _unknown_writer(shell: Shell, cmd: Cmd, name: str, args: list[str]) -> None:
    """A .ssh path given to a command not known to only read it: it may well write there.

    The rules above know how cp, tar, curl… write; a reader (`cat`, `grep`, `ssh -i`) only looks,
    except through an output option (`sort -o`); anything else (`socat OPEN:…`, `gpg -o`, `7z -o…`,
    `kubectl cp`, `sshfs`, `patch`, `split`) is refused when a .ssh path appears in its arguments.
    """
    if name in _KNOWN_HERE or name in shell.functions:
        return  # a function defined on the line is judged by its body, read again with these arguments
    if name in SSH_READERS:
        for value in [value_of(args, (opt,)) for opt in _OUTPUT_OPTIONS] + cluster_values(args, "o"):
            if value and shell.under_ssh(value):
                raise Blocked(Block("ssh-dir", cmd.text, f"{name} writes its output under a .ssh directory ({value})"))
        return
    volumes = {args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-v", "--volume")}
    for a in args:
        if a in volumes or a.startswith(("--volume=", "--mount=")):
            continue  # judged above: a read-only mount of a .ssh only looks
        for piece in _pieces(a):
            if shell.under_ssh(piece) and not (name in ("ssh", "scp", "sftp") and a.startswith("-")):
                why = f"{name} is given a path under a .ssh directory ({piece}) and is not known to only read it"
                raise Blocked(Block("ssh-dir", cmd.text, why))


def _pieces(arg: str) -> list[str]:
    """An argument and the paths inside it: `OPEN:~/.ssh/k,creat`, `-o$HOME/.ssh`, `--file=~/.ssh/x`."""
    out = [arg]
    if arg.startswith("-") and len(arg) > 2:
        out.append(arg[2:] if not arg.startswith("--") else arg.partition("=")[2])
    for sep in (":", "=", ","):
        out += [p for part in list(out) for p in part.split(sep)[1:]]
    return [p for p in out if p]


def first_ssh_path(cmd: Cmd) -> str:
    """The first argument naming a .ssh path, or ""."""
    return next((w for w in cmd.words[1:] if is_ssh_path(w)), "")


def check(shell: Shell, cmd: Cmd, name: str, args: list[str]) -> None:
    operands = [a for a in args if not a.startswith("-") or a == "-"]
    flags = [a for a in args if a.startswith("-")]
    protected = shell.under_ssh

    def refuse(path: str, what: str, *, home: bool = False) -> None:
        where = "a directory that holds a .ssh" if home else "under a .ssh directory"
        raise Blocked(Block("ssh-dir", cmd.text, f"{what} {where} ({path})"))

    recursive = any(f in ("-r", "-R", "--recursive") or (not f.startswith("--") and ("r" in f or "R" in f))
                    for f in flags)  # fmt: skip
    if name in RECURSIVE_DESTROYERS and (recursive or (name == "rm" and any("f" in f for f in flags))):
        for path in operands:
            if is_home_ancestor(path) and (recursive or name != "rm"):
                refuse(path, f"{name} recursively changes", home=True)
    if name in SSH_WRITERS_ALL:
        for path in operands:
            if protected(path):
                refuse(path, f"{name} changes something")
        if name == "mv":
            for path in operands:
                if is_home_ancestor(path):
                    refuse(path, "mv moves", home=True)
    if name in ("cp", "install", "ln", "rsync", "scp", "link", "rename"):
        dest = value_of(args, ("-t", "--target-directory")) or (operands[-1] if operands else "")
        if name in ("rename",) and operands:
            dest = operands[-1]
        if dest and protected(dest):
            refuse(dest, f"{name} writes")
        sources = operands[:-1] if dest == (operands[-1] if operands else "") else operands
        if (
            dest
            and is_home_ancestor(dest)
            and (name == "rsync" or any(base(src.rstrip("/")) in (".ssh", ".", "*") for src in sources))
        ):
            refuse(dest, f"{name} copies over", home=True)
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
        for opt in (
            "-o",
            "--output",
            "-O",
            "--output-document",
            "-P",
            "--directory-prefix",
            "-d",
            "--dir",
            "--output-dir",
        ):
            value = value_of(args, (opt,))
            if value and protected(value):
                refuse(value, f"{name} downloads")
        for value in cluster_values(args, "oOPd"):  # `curl -sSLo FILE`, `wget -qO FILE`
            if protected(value):
                refuse(value, f"{name} downloads")
    if name in ("tar", "unzip", "7z", "bsdtar", "cpio") and (name not in ("tar", "bsdtar") or _extracting(args)):
        opts = {"unzip": ("-d",), "cpio": ("-D", "--directory"), "7z": ("-o",)}.get(name, ("-C", "--directory"))
        value = value_of(args, opts)
        if name == "7z":
            value = value or next((a[2:] for a in args if a.startswith("-o") and len(a) > 2), None)
        if value and (protected(value) or is_home_ancestor(value)):
            inside = protected(value)
            refuse(value, f"{name} extracts" if inside else f"{name} extracts into", home=not inside)
    if name == "git" and args[:1] == ["clone"] and len(operands) >= 3 and protected(operands[-1]):
        refuse(operands[-1], "git clone writes")
    if name == "ssh-keygen":
        reads = {"-l", "-y", "-F", "-B", "-L", "-Q", "-D"}
        key_file = value_of(args, ("-f",))
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
    if name in ("tar", "bsdtar", "gtar") and _extracting(args):
        for path in operands:
            if protected(path):
                refuse(path, f"{name} extracts a member")
    if name in ("docker", "podman", "nerdctl"):
        for i, a in enumerate(args):
            volume = args[i + 1] if a in ("-v", "--volume") and i + 1 < len(args) else a.partition("=")[2]
            if a in ("-v", "--volume") or a.startswith(("--volume=", "--mount=")):
                src, _, rest = volume.partition(":")
                if (protected(src) or is_home_ancestor(src)) and not rest.endswith((":ro", ",ro")) and rest != "ro" \
                        and "readonly" not in volume:  # fmt: skip
                    refuse(src, f"{name} mounts it writable")
    _unknown_writer(shell, cmd, name, args)
    if name == "find":
        for i, a in enumerate(args[:-1]):
            if a in ("-fprint", "-fprint0", "-fprintf", "-fls") and protected(args[i + 1]):
                refuse(args[i + 1], f"find {a} writes")
    if name == "ssh-copy-id":
        raise Blocked(Block("ssh-dir", cmd.text, "ssh-copy-id writes into a .ssh/authorized_keys (the target's)"))
    if name == "find" and "-delete" in args:
        starts = [p for p in args if not p.startswith(("-", "(", ")", "!"))]
        home = any(is_home_ancestor(p) or (shell.cwd_home and p in (".", "./")) for p in starts[:1])
        if any(is_ssh_path(p) for p in starts[:1]) or (home and find_may_reach_ssh(args)):
            raise Blocked(Block("ssh-dir", cmd.text, "deletes under a .ssh directory"))
