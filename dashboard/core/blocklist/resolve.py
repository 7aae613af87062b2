r"""What a word will be when the shell runs it, as far as the text alone can tell.

A word is *resolved* when every expansion in it has a value the check knows: a literal, `~`,
`$HOME`, a variable assigned earlier on the same line, ANSI-C quoting (`$'\x72\x6d'` is `rm`).
Command substitutions, unknown variables and parameter operators (`${X:-ssh}`, `${D%X}`) are not:
their value exists only at run time, so a rule cannot vouch for them.
"""

from __future__ import annotations

import re
from typing import Any

from dashboard.core.blocklist.state import Shell
from dashboard.core.blocklist.tree import text

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]|[@*]")
_KNOWN = {"HOME", "USER", "LOGNAME", "PWD", "$", "?", "#", "!", "-", "RANDOM", "SECONDS", "LINENO", "PPID", "UID"}
"""Variables the rules already read as themselves (`$HOME` is home) or whose value names no place."""
_ESC = {"a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
        "\\": "\\", "'": "'", '"': '"', "?": "?"}  # fmt: skip


def unresolved(node: Any, source: str, shell: Shell) -> str | None:
    """The part of a word the check cannot evaluate (its text), or None when the word is known."""
    for part in getattr(node, "parts", []) or []:
        kind = getattr(part, "kind", "")
        if kind == "commandsubstitution" and fresh_temp(part):
            continue  # `$(mktemp)`: a new file in the temporary directory, nowhere else
        if kind in ("commandsubstitution", "processsubstitution"):
            return text(part, source)
        if kind == "parameter":
            value = getattr(part, "value", None)
            if not value:  # bashlex's reading of ANSI-C quoting ($'…'): decoded from the source instead
                if ansi_c(text(node, source)) is None:
                    return text(node, source)
                continue
            if _NAME.fullmatch(value) and value not in shell.opaque and (value in shell.variables or value in _KNOWN):
                continue
            return text(part, source)
    return None


def ansi_c(raw: str) -> str | None:
    """A word spelled with quotes and `$'…'` escapes, decoded; None when it holds anything else."""
    out: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if raw.startswith("$'", i):
            j = i + 2
            while j < len(raw) and raw[j] != "'":
                if raw[j] == "\\" and j + 1 < len(raw):
                    decoded, j = _escape(raw, j + 1)
                    if decoded is None:
                        return None
                    out.append(decoded)
                    continue
                out.append(raw[j])
                j += 1
            if j >= len(raw):
                return None
            i = j + 1
        elif ch == "'":
            end = raw.find("'", i + 1)
            if end < 0:
                return None
            out.append(raw[i + 1 : end])
            i = end + 1
        elif ch == '"':
            end = raw.find('"', i + 1)
            body = raw[i + 1 : end] if end >= 0 else None
            if body is None or any(c in body for c in "$`\\"):
                return None
            out.append(body)
            i = end + 1
        elif ch in "$`":
            return None
        elif ch == "\\" and i + 1 < len(raw):
            out.append(raw[i + 1])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _escape(raw: str, j: int) -> tuple[str | None, int]:
    """One backslash escape inside $'…' starting after the backslash: (its character, where next)."""
    c = raw[j]
    if c in _ESC:
        return _ESC[c], j + 1
    m = re.match(r"x([0-9a-fA-F]{1,2})|u([0-9a-fA-F]{1,4})|U([0-9a-fA-F]{1,8})|([0-7]{1,3})|c(.)", raw[j:])
    if m is None:
        return "\\" + c, j + 1
    if m.group(5):
        return chr(ord(m.group(5)) & 0x1F), j + m.end()
    digits = m.group(1) or m.group(2) or m.group(3)
    try:
        return (chr(int(digits, 16)) if digits else chr(int(m.group(4), 8))), j + m.end()
    except (ValueError, OverflowError):
        return None, j + m.end()


def names_a_known_place(word: str, part: str) -> bool:
    """Does a path `word` whose `part` is unresolved still say where it points?

    Only when the unknown part sits inside the last component after a literal start that no `.ssh`
    begins with: `out_$(date +%s).txt` is a file in a known directory, but `$D/x`, `"$(echo ~/.ssh)"`
    and `~/.$(echo ssh)` (which *is* `~/.ssh`) could be anywhere.
    """
    at = word.find(part)
    if at < 0 or "/" in word[at + len(part) :]:
        return False
    start = word[:at].rsplit("/", 1)[-1].replace('"', "").replace("'", "")  # quotes are not part of the name
    return bool(start) and not ".ssh".startswith(start.lower())


def fresh_temp(sub: Any) -> bool:
    """`$(mktemp)`, `$(mktemp -d)`, `$(mktemp -t x.XXXX)`: a new name under the temporary directory."""
    command: Any = getattr(sub, "command", None)
    if command is None or getattr(command, "kind", "") != "command":
        return False
    words = [getattr(p, "word", "") for p in command.parts if getattr(p, "kind", "") == "word"]
    if not words or words[0] != "mktemp" or len(command.parts) != len(words):
        return False
    return all(w in ("-d", "-q", "-u", "-t", "--directory", "--quiet") or ("/" not in w and "$" not in w
               and not w.startswith("-")) for w in words[1:])  # fmt: skip
