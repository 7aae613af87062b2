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

Layout, imports pointing down only: `vocabulary` (names) and `model` (Block, Cmd) at the bottom;
`words`, `paths`, `tree` and `state` read words, paths, parse trees and what earlier commands
changed; one module per family (`disk_wipe`, `download_exec`, `fork_bomb`, `ssh_dir`) and `nested`
(wrappers and command strings) above them; `walker` on top, which runs them all.
"""

from dashboard.core.blocklist.model import Block
from dashboard.core.blocklist.vocabulary import (
    BLOCK_DEVICE,
    DOWNLOADERS,
    EDITORS,
    FORMATTERS,
    INTERPRETERS,
    PARTITIONERS,
    RECURSIVE_DESTROYERS,
    SHELLS,
    SSH_FILES,
    SSH_WRITERS_ALL,
    WRAPPERS,
)
from dashboard.core.blocklist.walker import MAX_DEPTH, check_command

__all__ = [
    "BLOCK_DEVICE",
    "DOWNLOADERS",
    "EDITORS",
    "FORMATTERS",
    "INTERPRETERS",
    "MAX_DEPTH",
    "PARTITIONERS",
    "RECURSIVE_DESTROYERS",
    "SHELLS",
    "SSH_FILES",
    "SSH_WRITERS_ALL",
    "WRAPPERS",
    "Block",
    "check_command",
]
