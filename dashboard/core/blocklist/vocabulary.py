"""The names the rules know: wrappers, shells, interpreters, downloaders, disk tools, .ssh contents.

Data only, so a new spelling is added here without touching a rule.
"""

from __future__ import annotations

import re

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
    r"rbd\d|nbd\d|block/|bcache\d|root$|ram\d|mtdblock\d|fd\d|ubd|drbd\d|zvol/|disk\d|rdisk\d|ada\d|da\d|"
    r"[a-z0-9_-]+/[a-z0-9_-]+$)"
)
SSH_FILES = ("authorized_keys", "authorized_keys2", "known_hosts", "known_hosts.old", "config", "id_rsa",
             "id_ed25519", "id_ecdsa", "id_dsa", "id_rsa.pub", "id_ed25519.pub", "id_ecdsa.pub", "environment",
             "rc", ".ssh")  # fmt: skip
EDITORS = {"vi", "vim", "nvim", "nano", "emacs", "ed", "ex", "joe", "micro", "pico", "mcedit", "kak", "hx"}
SSH_WRITERS_ALL = {"rm", "rmdir", "unlink", "shred", "truncate", "touch", "mkdir", "chmod", "chown", "chgrp",
                   "chattr", "setfacl", "mv", "srm", "wipe"}  # fmt: skip
RECURSIVE_DESTROYERS = {"rm", "chmod", "chown", "chgrp", "shred", "srm", "wipe", "setfacl", "chattr"}
PATH_WRITERS = SSH_WRITERS_ALL | {
    "cp", "ln", "install", "rsync", "scp", "tee", "link", "rename", "dd", "tar", "unzip", "cpio", "sed", "git",
    "mount", "patch", "socat", "ssh-copy-id", "ssh-keygen", "wipefs", "blkdiscard", "mkfifo", "mknod", "curl", "wget",
    "find",
}  # fmt: skip
"""Commands that write, delete or change the paths they are given (`dynamic-path` needs to know where)."""
SETUP_GENERATORS: dict[str, set[str]] = {
    # programs that print their own shell setup for `eval "$(…)"`, and the first argument that asks for it
    "ssh-agent": {"-s", "-c"}, "direnv": {"hook"}, "pyenv": {"init", "virtualenv-init"}, "rbenv": {"init"},
    "nodenv": {"init"}, "goenv": {"init"}, "jenv": {"init"}, "plenv": {"init"}, "zoxide": {"init"},
    "starship": {"init"}, "fnm": {"env"}, "mise": {"activate"}, "rtx": {"activate"}, "brew": {"shellenv"},
    "opam": {"env"}, "thefuck": {"--alias"}, "keychain": {"--eval"}, "dircolors": {"-b"}, "gpg-agent": {"--daemon"},
    "conda": {"shell.bash", "shell.zsh"}, "micromamba": {"shell"}, "luarocks": {"path"}, "atuin": {"init"},
    "fzf": {"--bash", "--zsh"}, "oh-my-posh": {"init"}, "pipenv": {"--completion"}, "kubectl": {"completion"},
    "helm": {"completion"}, "gh": {"completion"}, "docker": {"completion"}, "rustup": {"completions"},
    "npm": {"completion"}, "poetry": {"completions"}, "uv": {"generate-shell-completion"},
}  # fmt: skip
SSH_READERS = {
    # commands that only read what they are given (a .ssh path among their arguments is looked at, not changed)
    "ls", "cat", "less", "more", "head", "tail", "grep", "egrep", "fgrep", "rg", "ag", "ack", "stat", "file", "wc",
    "md5sum", "sha1sum", "sha256sum", "sha512sum", "b2sum", "cksum", "diff", "cmp", "comm", "ssh", "ssh-add",
    "sftp", "du", "realpath", "readlink", "basename", "dirname", "echo", "printf", "test", "[", "bat", "batcat",
    "jq", "yq", "od", "xxd", "hexdump", "strings", "sort", "uniq", "cut", "tr", "column", "nl", "fold", "tree",
    "exa", "eza", "lsd", "getfacl", "lsattr", "namei", "cd", "pushd", "popd", "type", "which", "true", "false",
    ":", "ssh-keyscan", "view", "base64", "sha224sum", "sha384sum", "fmt", "pr", "tac", "rev",
    "look", "zcat", "zless", "bzcat", "xzcat", "keychain", "pv",
}  # fmt: skip
"""Readers; `sort -o`, `base64 -o`… still write, so their output options are judged as writes."""
CODE_VARIABLES = {
    "PROMPT_COMMAND", "PS0", "PS1", "PS2", "PS3", "PS4", "GIT_SSH_COMMAND", "GIT_SSH", "GIT_EXTERNAL_DIFF",
    "GIT_PAGER", "GIT_EDITOR", "GIT_ASKPASS", "GIT_SEQUENCE_EDITOR", "SSH_ASKPASS", "SUDO_ASKPASS", "PAGER",
    "MANPAGER", "EDITOR", "VISUAL", "RSYNC_RSH", "LESSOPEN", "LESSCLOSE", "BROWSER",
}  # fmt: skip
"""Variables whose value is a command line something runs (the prompt, git, ssh, a pager, an editor)."""
GIT_COMMAND_KEYS = {
    "core.sshcommand", "core.pager", "core.editor", "core.fsmonitor", "core.askpass", "sequence.editor",
    "diff.external", "credential.helper", "gpg.program", "pager.log", "pager.diff", "interactive.difffilter",
}  # fmt: skip
"""git settings whose value git runs as a shell command."""
CARRIERS: dict[str, tuple[tuple[str, bool], ...]] = {
    # program: (option, takes a separate value) pairs whose value is a command line it runs
    "tar": (("--checkpoint-action", False), ("--to-command", True), ("--use-compress-program", True),
            ("-I", True), ("--rsh-command", True), ("--info-script", True), ("--new-volume-script", True)),
    "rsync": (("-e", True), ("--rsh", True), ("--rsync-path", True)),
    "script": (("-c", True), ("--command", True)),
    "vim": (("-c", True), ("--cmd", True)), "vi": (("-c", True),), "nvim": (("-c", True), ("--cmd", True)),
    "ex": (("-c", True),), "view": (("-c", True),),
    "man": (("-P", True), ("--pager", True)), "less": (("-c", False),),
    "psql": (("-c", True), ("--command", True)), "sqlite3": (("-cmd", True),),
    "parallel": ((":::", True),), "scp": (("-S", True),),
    "ssh": (("-oProxyCommand", False), ("-oLocalCommand", False)),
    "nmap": (("--script", True),), "zip": (("-TT", True), ("--unzip-command", True)),
    "gdb": (("-ex", True),),
}  # fmt: skip
"""Options that hold a command line the program runs (`tar --to-command`, `rsync -e`, `vim -c '!…'`)."""
REBINDERS: dict[str, set[str]] = {"hash": {"-p"}, "enable": {"-f"}, "bind": {"-x"}, "complete": {"-C"},
                                   "compgen": {"-C"}}  # fmt: skip
"""Builtins whose option makes a name or a key run something else (`hash -p /bin/rm ls`)."""
DISK_DESTROYERS: dict[str, set[str]] = {
    # tool: the verbs that destroy (empty: the tool itself only destroys)
    "diskutil": {"eraseDisk", "eraseVolume", "zeroDisk", "randomDisk", "secureErase", "partitionDisk", "reformat"},
    "gpart": {"destroy", "delete", "create"}, "zfs": {"destroy"}, "lvremove": set(), "vgremove": set(),
    "pvremove": set(), "mdadm": {"--zero-superblock", "--create", "-C"}, "scrub": set(), "newfs": set(),
    "newfs_apfs": set(), "newfs_hfs": set(), "newfs_msdos": set(), "newfs_exfat": set(), "bioctl": {"-d"},
    "dmsetup": {"remove", "wipe_table"}, "lvreduce": set(),
}  # fmt: skip
