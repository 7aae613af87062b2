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
