"""Rule `disk-wipe`: formatting or wiping a filesystem or block device.

mkfs* / wipefs / blkdiscard, dd / shred / cp / tee onto a device (by argument or redirection),
partition-table writers (fdisk, parted, sgdisk… unless only listing), zpool, cryptsetup, nvme, hdparm.
"""

from __future__ import annotations

from typing import Any

from dashboard.core.blocklist.model import Block, Blocked, Cmd
from dashboard.core.blocklist.state import Shell
from dashboard.core.blocklist.tree import text
from dashboard.core.blocklist.vocabulary import DISK_DESTROYERS, FORMATTERS, PARTITIONERS


def check_redirect(shell: Shell, target: str, part: Any, source: str) -> None:
    """`> /dev/sda`: an output redirection onto a block device (or a link made to one on this line)."""
    if shell.is_device(shell.absolute(target)):
        raise Blocked(Block("disk-wipe", text(part, source), f"writes onto the block device {target}"))


def check(shell: Shell, cmd: Cmd, name: str, args: list[str]) -> None:
    is_block_device = shell.is_device
    args = [f"of={shell.absolute(a[3:])}" if a.startswith("of=") else a for a in args]
    if shell.cwd == "/dev":
        args = [shell.absolute(a) if not a.startswith("-") and "=" not in a else a for a in args]
    if name == "mkswap":
        # a swap *file* is everyday setup; a device is a wipe
        if any(is_block_device(a) or "$" in a for a in args if not a.startswith("-")):
            raise Blocked(Block("disk-wipe", cmd.text, "mkswap formats a device"))
    elif FORMATTERS.match(name):
        raise Blocked(Block("disk-wipe", cmd.text, f"{name} formats or wipes a filesystem or device"))
    if name == "dd":
        for a in args:
            if a.startswith("of="):
                target = a[3:]
                if is_block_device(target) or any(c in target for c in "$`"):
                    raise Blocked(Block("disk-wipe", cmd.text, f"dd writes onto {target}"))
    if name in ("shred", "srm", "wipe", "cat", "tee", "cp", "pv", "install", "ddrescue", "badblocks"):
        devices = [a for a in args if is_block_device(a)]
        ops = [a for a in args if not a.startswith("-")]
        if name == "cat":
            devices = []  # cat only reads its operands; its writes are redirections
        if name in ("cp", "install") and ops:
            devices = [a for a in ops[-1:] if is_block_device(a)]
        if name == "ddrescue":
            devices = [a for a in ops[1:2] if is_block_device(a)]  # infile outfile [mapfile]
        if name == "badblocks" and not any(
            a.startswith("-") and not a.startswith("--") and set(a[1:]) & {"w", "n"} for a in args
        ):
            devices = []
        if devices:
            raise Blocked(Block("disk-wipe", cmd.text, f"{name} writes onto the block device {devices[0]}"))
    if name in PARTITIONERS and not _partition_read_only(name, args):
        raise Blocked(Block("disk-wipe", cmd.text, f"{name} can rewrite a partition table"))
    destroys = DISK_DESTROYERS.get(name)
    if destroys is not None and (not destroys or set(args) & destroys):
        verb = next((a for a in args if a in destroys), "")
        raise Blocked(Block("disk-wipe", cmd.text, f"{name} {verb}".rstrip() + " destroys a disk, volume or pool"))
    if name in ("zpool",) and args and args[0] in ("create", "destroy", "labelclear"):
        raise Blocked(Block("disk-wipe", cmd.text, f"zpool {args[0]} destroys data on its devices"))
    wipe = {"luksFormat", "erase", "luksErase", "reencrypt"} & set(args)
    if name == "cryptsetup" and wipe:
        raise Blocked(Block("disk-wipe", cmd.text, f"cryptsetup {sorted(wipe)[0]} wipes a device"))
    if name == "nvme" and {"format", "sanitize"} & set(args):
        raise Blocked(Block("disk-wipe", cmd.text, "nvme format/sanitize erases a drive"))
    if name == "hdparm" and any(a.startswith(("--security-erase", "--trim-sector-ranges")) for a in args):
        raise Blocked(Block("disk-wipe", cmd.text, "hdparm erases a drive"))


def _partition_read_only(name: str, args: list[str]) -> bool:
    """Only listing or printing the table (`fdisk -l`, `parted /dev/sda print`), which is everyday."""
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
