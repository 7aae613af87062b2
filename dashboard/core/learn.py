"""Proposing an agent profile from screens recorded on a live agent (`dispatch agents learn`). Pure.

The recording is: the idle screen, the same screen with a harmless marker pasted into the composer
(not submitted), screens while a turn runs, and the screen after it. From them: where the composer
is (the marker's line, its prompt glyph, the closing line below it), the hint an empty composer
shows, lines only this agent draws, what marks a running turn, the agent's process. What cannot be
derived is left out and said in `notes` — never guessed silently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

INTERPRETERS = re.compile(r"^(?:node|nodejs|bun|deno|python[0-9.]*)$")


@dataclass
class Learned:
    """A proposed profile (its data, as a TOML table would hold it) and what could not be derived."""

    data: dict[str, object]
    notes: list[str] = field(default_factory=list)
    ok: bool = True
    """False when no usable profile could be made (the notes say why)."""


def _rule(line: str) -> str:
    """A regex for a closing line: a run of one character (a rule), or the line's start as literal text."""
    body = line.strip()
    if body and len(set(body)) == 1 and len(body) >= 10:
        return rf"^\s*{re.escape(body[0])}{{10,}}\s*$"
    start = re.split(r"[/~]", line.rstrip()[:30])[0]  # up to any path: it differs on every machine
    return "^" + re.escape(start)


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z]{2,}", text)


def derive(
    name: str,
    command: str,
    cmdline: str | None,
    idle: Sequence[str],
    typed: Sequence[str],
    marker: str,
    working: Sequence[Sequence[str]],
    done: Sequence[str],
) -> Learned:
    """A profile proposal (the TOML table's data) from a recording; see the module docstring."""
    data: dict[str, object] = {"name": name, "label": name, "checked_against": ""}
    out = Learned(data)
    out.notes.append("checked_against is empty: set it to the agent's version")
    at = next((i for i, ln in enumerate(typed) if marker in ln), None)
    if at is None:
        out.ok = False
        out.notes.append("the pasted marker never showed on screen: no composer found (is the pane an idle agent?)")
        return out
    glyph = typed[at][: typed[at].index(marker)]
    below = next((j for j in range(at + 1, len(typed)) if typed[j].strip()), None)
    if below is None:
        out.ok = False
        out.notes.append("nothing is drawn below the composer: a profile needs a closing line under it")
        return out
    top = glyph.rstrip()
    composer: dict[str, str] = {"bottom": _rule(typed[below])}
    if top.strip():
        composer["top"] = "^" + re.escape(top) + r"(?:\s|$)"
        composer["first_prefix"] = "^" + re.escape(top) + " ?"
    else:
        composer["body"] = "^" + re.escape(glyph)
        out.notes.append("the composer line has no prompt glyph: its lines are found by indentation")
    data["composer"] = composer
    # the empty composer in the idle screen: the last line with the glyph that has the closing line below it
    closing = re.compile(composer["bottom"])
    idle_at = next(
        (i for i in range(len(idle) - 1, -1, -1)
         if top.strip() and idle[i].startswith(top) and any(closing.search(ln) for ln in idle[i + 1 :])),
        None,
    )  # fmt: skip
    hint = idle[idle_at][len(glyph) :].strip() if idle_at is not None else ""
    if hint:
        data["placeholders"] = ["^" + re.escape(hint) + "$"]
        out.notes.append(f"the empty composer shows {hint!r}: taken as the agent's hint, not typed text")
    span = set(range(max(0, at - 1), below + 1))
    own = [
        ln.strip() for i, ln in enumerate(idle)
        if i not in span and len(_words(ln)) >= 2 and "/" not in ln and marker not in ln
    ]  # fmt: skip
    picks = list(dict.fromkeys([*own[:2], *own[-1:]]))
    data["signatures"] = [r"^\s*" + re.escape(p[:32]) for p in picks]
    if len(picks) < 2:
        out.notes.append("few lines only this agent draws: add signatures by hand or it may not be picked by screen")
    chrome = [ln.strip() for ln in idle[below + 1 :] if ln.strip()]
    if chrome:
        data["chrome"] = [re.escape(c[:24]) for c in chrome[:3]]
    phrase = _working_phrase(working, [*idle, *done])
    if phrase:
        data["working"] = [phrase]
    else:
        out.notes.append("no working indicator was seen (a turn too quick to catch?): add `working` by hand")
    base = command.rsplit("/", 1)[-1]
    if INTERPRETERS.match(base) and cmdline:
        script = next((a for a in cmdline.split()[1:] if not a.startswith("-")), "")
        program = re.sub(r"\.(?:js|mjs|cjs|py)$", "", script.rsplit("/", 1)[-1])
        if program:
            data["launched"] = [rf"\b{re.escape(program)}\b"]
        out.notes.append(f"runs under {base}: picked by its command line ({cmdline[:60]!r}) and its screen")
    else:
        data["processes"] = [base]
    out.notes.append(f"never derived from one turn (add by hand where the agent has them): {', '.join(NOT_DERIVED)}")
    return out


_STOP_WORDS = {"esc", "interrupt", "cancel", "stop", "ctrl+c", "steer"}
NOT_DERIVED = ("dialog", "rate_limit", "reset", "queued", "queue_key", "title_working", "reply_prefix",
               "reply_noise", "answered")  # fmt: skip
"""Fields a recording of one quiet turn cannot show: the note names them, so they are added by hand."""


def _working_phrase(working: Sequence[Sequence[str]], quiet: Sequence[str]) -> str | None:
    """The longest run of words on most working screens and on no quiet one, as a regex."""
    if not working:
        return None
    quiet_text = " ".join(" ".join(_words(ln)) for ln in quiet)
    screens = [" ".join(" ".join(_words(ln)) for ln in s) for s in working]
    best: tuple[bool, bool, int, int, str] | None = None
    for line in working[len(working) // 2]:
        words = _words(line)
        for size in range(min(4, len(words)), 1, -1):
            for start in range(len(words) - size + 1):
                gram = " ".join(words[start : start + size])
                seen = sum(gram in s for s in screens)
                if gram in quiet_text or seen * 10 < 6 * len(screens):
                    continue
                # a line that says how to stop the turn outlasts the agent's rotating jokes and verbs
                hinted = any(w.lower() in _STOP_WORDS for w in gram.split())
                key = (hinted, seen == len(screens), seen, size, gram)
                if best is None or key[:4] > best[:4]:
                    best = key
    if best is None:
        return None
    # words of a working line are apart by spinners, timers, bullets: allow a few characters between them
    return r"\b" + r".{1,12}?".join(re.escape(w) for w in best[4].split()) + r"\b"


def to_toml(data: dict[str, object], notes: Sequence[str]) -> str:
    """The proposal as a profile file: regexes as TOML literal strings where they can be, notes as comments."""

    def one(value: object) -> str:
        if isinstance(value, str):
            if "'" not in value and "\n" not in value and all(ord(c) >= 32 for c in value):
                return "'" + value + "'"
            return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
        if isinstance(value, list):
            return "[" + ", ".join(one(v) for v in value) + "]"
        raise TypeError(f"cannot write {value!r}")

    lines = ["# proposed by `dispatch agents learn`: check it, then keep it in your config's agents/ folder"]
    lines += [f"# note: {n}" for n in notes]
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    for key, value in data.items():
        if not isinstance(value, dict):
            lines.append(f"{key} = {one(value)}")
    for key, table in tables.items():
        lines.append(f"\n[{key}]")
        lines += [f"{k} = {one(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"
