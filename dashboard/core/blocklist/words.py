"""Shell words and text as bash reads them: quoting, `$VAR` and brace expansion, option values.

String helpers only: no parse trees and no state, so each is testable on its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from dashboard.core.blocklist.vocabulary import INTERPRETERS, SHELLS

VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*|[0-9@*]+)(?:\[[^]]*\])?\}|\$([A-Za-z_][A-Za-z0-9_]*|[0-9@*])")
"""`$NAME`, `${NAME}`, `${NAME[…]}`, `$1`, `$@`: group 1 or 2 is the name."""


def base(word: str) -> str:
    return word.rsplit("/", 1)[-1]


def interp(name: str) -> str:
    """`python3.12` → `python3`… → the interpreter family name used in INTERPRETERS."""
    if name in INTERPRETERS:
        return name
    stripped = re.sub(r"[\d.]+$", "", name)
    return stripped if stripped in INTERPRETERS else name


def history_expansion(source: str) -> str | None:
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
            prev = source[i - 1 : i]
            # bash leaves `${!name}` (indirection) and `[!…]` (a negated glob class) alone
            if nxt and nxt not in ' \t\n=("' and prev not in ("{", "["):
                return source[max(0, i - 20) : i + 12]
        i += 1
    return None


_ARITH = re.compile(r"\$\(\(([^()]*(?:\([^()]*\)[^()]*)*)\)\)")
_C_FOR = re.compile(r"(^|[;&|(]\s*|\s)for\s*\(\(([^;()]*);([^;()]*);([^()]*)\)\)")
_ARRAY = re.compile(r"(?<![\w$])([A-Za-z_][A-Za-z0-9_]*)\+?=\(([^()]*)\)")
_DOUBLE_BRACKET = re.compile(r"\[\[\s([^\]]*)\s\]\]")


def lenient(source: str) -> str:
    """What bashlex cannot parse but hides no command: `$((1+2))`, `[[ -f x ]]`, a leading `time`.

    Only forms with no `$(`, backtick or `<(` inside are rewritten, so nothing that runs is hidden.
    """

    def plain(body: str) -> bool:
        return "$(" not in body and "`" not in body and "<(" not in body and ">(" not in body

    # C-style for: an empty condition loops for ever (kept as `while true` for the fork-loop rule)
    source = _C_FOR.sub(lambda m: m.group(1) + ("while true" if not m.group(3).strip() else "for _ in 1")
                        if plain(m.group(0)) else m.group(0), source)  # fmt: skip
    source = _ARRAY.sub(lambda m: f"{m.group(1)}=_array_" if plain(m.group(2)) else m.group(0), source)
    source = _ARITH.sub(lambda m: "0" if plain(m.group(1)) else m.group(0), source)
    source = _DOUBLE_BRACKET.sub(lambda m: "true" if plain(m.group(1)) else m.group(0), source)
    return re.sub(r"(^|[;&|]\s*)time\s+(?=\S)", r"\1", source)


_BRACE = re.compile(r"\{([^{}]*,[^{}]*)\}")
_RANGE = re.compile(r"\{([A-Za-z0-9])\.\.([A-Za-z0-9])\}")


def braces(word: str, limit: int = 64) -> list[str]:
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


def value_of(args: list[str], options: Sequence[str]) -> str | None:
    """The value given to the first of these options: `-o FILE`, `-oFILE`, `--output=FILE`."""
    for i, a in enumerate(args):
        for opt in options:
            if a == opt and i + 1 < len(args):
                return args[i + 1]
            if opt.startswith("--") and a.startswith(opt + "="):
                return a[len(opt) + 1 :]
            if not opt.startswith("--") and a.startswith(opt) and len(a) > len(opt) and opt not in ("-d", "-o"):
                return a[len(opt) :]
    return None


def cluster_values(args: list[str], letters: str) -> list[str]:
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


def runs_stdin(words: list[str]) -> bool:
    """Does this interpreter invocation take its program from stdin?"""
    name = interp(base(words[0]))
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


_SSH_TAKES = set("bcDEeFIiJLlmOopQRSWw")
"""ssh's options that take a value (`-p 22`, `-o X=Y`, `-i key`…)."""


def ssh_remote_words(args: list[str]) -> list[str]:
    """What `ssh [options] HOST WORDS…` runs on the other side (empty: a login shell)."""
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("-") and len(a) >= 2:
            i += 2 if a[-1] in _SSH_TAKES and len(a) == 2 else 1
            continue
        return args[i + 1 :]
    return []
