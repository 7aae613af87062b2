"""Rule `scheduled-job`: handing a job scheduler a payload that runs later, out of any check's sight.

`crontab FILE`, `crontab -` and `(crontab -l; echo …) | crontab -`, `crontab -r`, `at`/`batch` with a
job, every `systemd-run`, `launchctl load|submit|bootstrap`, and writing into cron, systemd or
launchd directories. Looking is fine: `crontab -l`, `atq`, `at -l`, `systemctl list-timers`.
"""

from __future__ import annotations

import re

from dashboard.core.blocklist.model import Block, Blocked, Cmd
from dashboard.core.blocklist.paths import norm

_SCHEDULE_DIRS = re.compile(
    r"^(/etc/cron[^/]*|/etc/anacrontab|/var/spool/cron|/var/spool/at|/etc/systemd/|/usr/lib/systemd/|/lib/systemd/|"
    r"/etc/init\.d/|/etc/rc\.local|/Library/Launch(Agents|Daemons)|/System/Library/Launch)"
    r"|^(~[^/]*|\$\{?HOME\}?|/root|/home/[^/]+|/Users/[^/]+)/(\.config/systemd/|Library/LaunchAgents|\.config/autostart)"
)


def check(cmd: Cmd, name: str) -> None:
    args = cmd.words[1:]
    if name == "crontab":
        looking = [a for a in args if a not in ("-l", "-u") and not a.startswith("-u")]
        users = {args[i + 1] for i, a in enumerate(args[:-1]) if a == "-u"}
        if "-l" not in args or set(looking) - users:
            raise Blocked(Block("scheduled-job", cmd.text, "installs or removes cron jobs (only crontab -l looks)"))
    elif name in ("at", "batch"):
        if name == "batch" or not args or not set(args[:1]) <= {"-l", "-c", "-d", "-r", "-V"}:
            raise Blocked(Block("scheduled-job", cmd.text, f"{name} queues a job to run later"))
    elif name in ("systemd-run", "schtasks"):
        raise Blocked(Block("scheduled-job", cmd.text, f"{name} starts a job outside this shell"))
    elif name == "launchctl" and set(args[:1]) & {"load", "submit", "bootstrap", "enable", "kickstart", "start"}:
        raise Blocked(Block("scheduled-job", cmd.text, "launchctl starts or installs a job"))
    elif name == "systemctl" and {"link", "enable", "edit", "set-environment", "import-environment"} & set(args):
        units = [a for a in args if "/" in a or a.endswith((".service", ".timer", ".path"))]
        if "link" in args or "edit" in args or "set-environment" in args or any("/" in u for u in units):
            raise Blocked(Block("scheduled-job", cmd.text, "systemctl installs a unit or environment from here"))


def is_schedule_path(path: str) -> bool:
    """Where cron, systemd or launchd pick up jobs to run later."""
    return bool(_SCHEDULE_DIRS.match(norm(path)))


_STARTUP = re.compile(
    r"(^|/)(\.bashrc|\.bash_profile|\.bash_login|\.bash_logout|\.bash_aliases|\.profile|\.zshrc|\.zshenv|"
    r"\.zprofile|\.zlogin|\.zlogout|\.kshrc|\.mkshrc|\.cshrc|\.tcshrc|\.login|\.xinitrc|\.xprofile|\.xsession|"
    r"\.tmux\.conf|\.gitconfig|\.inputrc|\.pythonrc(\.py)?|sitecustomize\.py|usercustomize\.py|"
    r"[^/]+\.pth)$"
    r"|(^|/)\.config/(fish/|autostart/|git/config$|tmux/|environment\.d/)|(^|/)\.git/(hooks/|config$)"
    r"|^/etc/(profile|bash\.bashrc|bashrc|zsh/|zshrc|zprofile|profile\.d/|environment$|ld\.so\.preload$)"
)


def is_startup_file(path: str) -> bool:
    """A file every new (login or interactive) shell runs: what is written there runs later."""
    return bool(_STARTUP.search(norm(path)))
