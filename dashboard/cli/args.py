"""Checks on what a user typed: UTF-8, ranges, contradictions, prompts from files or stdin."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from dashboard.cli.exits import UsageError
from dashboard.core.registry import LOCAL, RegistryError, split_target
from dashboard.core.timing import DelayPolicy

if TYPE_CHECKING:
    from dashboard.services.send import SendOptions

# Upper bounds of numeric options: beyond them a value is a typo, not a wish (and some would overflow SQLite)
MAX_WAIT_S = 86_400.0
"""--timeout (--when-idle, exec --wait, canary) and --expect-timeout: a day."""
MAX_VERIFY_MS = 600_000
MAX_RETRIES = 10
"""Each extra submit key waits twice as long as the one before (600 ms, 1.2 s, …): 10 is already ~10 minutes."""
MAX_LEASE_S = 600.0
MAX_BUSY_MS = 600_000
"""DISPATCH_DB_BUSY_MS: ten minutes."""
MAX_FAIL_AFTER = 1000
MAX_ROW_ID = 2**63 - 1
"""The largest SQLite integer: a bigger send or batch number cannot exist (and would overflow the query)."""
READ_FACTOR = 4
"""A prompt file (or stdin) is read up to READ_FACTOR × --max-bytes: more is a usage error, never read whole."""
PATH_ARGS = frozenset({"file", "out", "transcript", "socket_path", "socket_name", "ref"})
"""Arguments that are file or socket paths: any bytes are fine there (they go back to the OS as they came)."""
ARG_LABELS = {
    "prompt": "the prompt",
    "words": "the command",
    "target": "the target",
    "targets": "the target",
    "name": "the name",
    "names": "the machine name",
    "machines": "the machine name",
    "address": "the address",
}


def row_id(text: str) -> int:
    """A send or batch number as argparse reads it: a positive integer that SQLite can hold."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_ROW_ID:
        raise argparse.ArgumentTypeError(f"{text}: expected a number from 1 to {MAX_ROW_ID}")
    return value


def batch_id(text: str) -> int:
    """A batch as every command spells it: `b7` (as `verify` and `evidence` take it) or `7`."""
    return row_id(text[1:] if text[:1] in ("b", "B") and text[1:].isdigit() else text)


def check_text_args(args: argparse.Namespace) -> None:
    """Every text argument must be UTF-8: argv bytes that are not arrive as surrogate escapes.

    Left alone they would fail much later, blamed on whatever first tried to encode them (the log
    database). Paths are exempt: the OS takes their bytes back as they came.
    """
    for dest, value in vars(args).items():
        if dest in PATH_ARGS:
            continue
        values = value if isinstance(value, list) else [value]
        for i, item in enumerate(values, 1):
            at = _bad_utf8_at(item) if isinstance(item, str) else None
            if at is None:
                continue
            label = ARG_LABELS.get(dest, "--" + dest.replace("_", "-"))
            which = "the argument" if len(values) == 1 else ("word" if dest == "words" else "argument") + f" {i}"
            raise UsageError(f"{label} is not valid UTF-8 (byte {at} of {which})")


def _bad_utf8_at(text: str) -> int | None:
    """The byte offset of the first byte that is not UTF-8 (a surrogate escape from argv), or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return len(text[: exc.start].encode("utf-8"))
    return None


def check_targets(targets: Sequence[str], machines: Collection[str], *, nothing: str = "nothing was sent") -> None:
    """Every target names this machine or a registered one; anything else is a usage error (nothing recorded).

    `gpu1:%12` with no `gpu1` registered is not a session `gpu1` (a `%` pane id has no session in
    front of it), so it is an unknown machine too, not a target tmux is left to fail to find.
    """
    known = [LOCAL, *(m for m in machines if m != LOCAL)]
    for target in targets:
        head, sep, rest = target.partition(":")
        try:
            split_target(target, set(known))
        except RegistryError as exc:
            if exc.malformed:
                raise
            if head in known:  # a machine and no pane: `gpu1:`
                raise UsageError(f"{exc}; {nothing}") from None
        else:
            if not (sep and head not in known and rest.startswith("%")):
                continue
        raise UsageError(f"unknown machine '{head}' in target '{target}' (known: {', '.join(known)}); {nothing}")


def in_range(flag: str, value: float, low: float, high: float, unit: str = "", *, above_low: bool = False) -> None:
    """Refuse an option outside [low, high] ((low, high] with above_low), nan and infinities included."""
    if not ((low < value if above_low else low <= value) and value <= high):
        shown = str(value) if isinstance(value, int) else f"{value:g}"
        expected = f"more than {low:g} and at most {high:g}" if above_low else f"from {low:g} to {high:g}"
        raise UsageError(f"{flag} {shown}: expected {expected}{unit}")


def read_prompt(args: argparse.Namespace, max_bytes: int = 256 * 1024) -> str:
    """The prompt from the argument, a file, or stdin; unreadable input is a usage error.

    Input is read up to READ_FACTOR × max_bytes (the guard then applies the exact limit to the
    normalised prompt): `-f /dev/zero` or an endless pipe is refused, not read until memory runs out.
    """
    if args.prompt is not None and args.file:
        raise UsageError("give the prompt as an argument or with -f, not both")
    if args.file:
        limit = READ_FACTOR * max_bytes
        source = "the prompt on stdin" if args.file == "-" else f"prompt file {args.file}"
        try:
            if args.file == "-":
                if sys.stdin is None:  # started with stdin closed (`<&-`)
                    raise UsageError("cannot read the prompt from stdin: stdin is closed; nothing was sent")
                data = sys.stdin.buffer.read(limit + 1)
            else:
                with open(args.file, "rb") as f:
                    data = f.read(limit + 1)
        except OSError as exc:
            what = "the prompt from stdin" if args.file == "-" else f"prompt file {args.file}"
            raise UsageError(f"cannot read {what}: {exc.strerror or exc}; nothing was sent") from None
        if len(data) > limit:
            raise UsageError(
                f"{source} is over {limit:,} bytes ({READ_FACTOR} × --max-bytes {max_bytes:,}); nothing was sent"
            )
        try:
            return data.decode()
        except UnicodeDecodeError as exc:
            raise UsageError(f"{source} is not UTF-8 text (byte {exc.start}); nothing was sent") from None
    if args.prompt is None:
        raise UsageError("no prompt: give it as an argument or with -f FILE")
    return str(args.prompt)


def send_options(args: argparse.Namespace) -> SendOptions:
    """The SendOptions of `send` and `batch`, every option checked: a contradiction or absurd value is a usage error."""
    from dashboard.services.send import SendOptions

    if args.queue and args.when_idle:
        raise UsageError(
            "--queue and --when-idle contradict each other (--queue sends to the busy agent now, --when-idle waits"
            " for it to finish): give one"
        )
    policy = DelayPolicy().overridden(
        os.environ,
        fixed_ms=args.delay_ms,
        floor_ms=args.delay_floor_ms,
        ceil_ms=args.delay_ceil_ms,
        ms_per_word=args.ms_per_word,
        ms_per_char=args.ms_per_char,
    )
    in_range("--timeout", args.timeout, 0, MAX_WAIT_S, " seconds")
    in_range("--retries", args.retries, 0, MAX_RETRIES, " (each waits twice as long as the one before)")
    in_range("--verify-ms", args.verify_ms, 0, MAX_VERIFY_MS, " ms")
    in_range("--lease-timeout", args.lease_timeout, 0, MAX_LEASE_S, " seconds")
    if args.max_bytes <= 0:
        raise UsageError(f"--max-bytes {args.max_bytes}: expected at least 1")
    return SendOptions(
        delay=policy,
        raw=args.raw,
        when_idle=args.when_idle,
        idle_timeout=args.timeout,
        queue=args.queue,
        allow_limited=args.allow_limited,
        retries=args.retries,
        verify_ms=args.verify_ms,
        max_bytes=args.max_bytes,
        lease_timeout=args.lease_timeout,
    )


def db_busy_ms() -> int:
    """DISPATCH_DB_BUSY_MS: whole milliseconds from 0 (do not wait) to MAX_BUSY_MS; unset or blank is 3000."""
    busy = os.environ.get("DISPATCH_DB_BUSY_MS", "").strip()
    if not busy:
        return 3000
    if not re.fullmatch(r"[0-9]+", busy) or int(busy) > MAX_BUSY_MS:
        raise UsageError(f"DISPATCH_DB_BUSY_MS={busy!r}: expected whole milliseconds from 0 to {MAX_BUSY_MS}")
    return int(busy)
