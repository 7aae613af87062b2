"""Agent profiles: everything the tool knows about one agent's screen, as data.

The built-ins are TOML files beside this module (core/agent_profiles/), their markers read off real
captures (tests/fixtures/captures, 120x40, the version each names in `checked_against`). A user adds
or overrides a profile with a file of the same shape (adapters/agent_files.py loads them); the
classifier has no agent-specific code.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class Marker:
    """One regular expression of a profile, compiled when it is first used.

    A command meets one or two agents, not all six built-ins: compiling their ~190 markers as the
    profiles were read cost every cold command ~10 ms, most of it for markers it never looked at.
    A user's profile is still compiled whole as it is read (a bad pattern is an error naming its
    file and field); the built-ins are compiled whole by the tests.
    """

    __slots__ = ("_compiled", "flags", "pattern", "search")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern, self.flags = pattern, flags
        self._compiled: re.Pattern[str] | None = None
        # once compiled, `search` is the pattern's own method: the classifier calls it for every line of
        # every pane it reads, and a Python call in between would cost it ~10%
        self.search: Callable[[str], re.Match[str] | None] = self._search_first

    @property
    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self.pattern, self.flags)
            self.search = self._compiled.search
        return self._compiled

    def _search_first(self, text: str) -> re.Match[str] | None:
        return self.compiled.search(text)

    def sub(self, repl: str, text: str, count: int = 0) -> str:
        return self.compiled.sub(repl, text, count=count)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Marker) and (self.pattern, self.flags) == (other.pattern, other.flags)

    def __hash__(self) -> int:
        return hash((self.pattern, self.flags))

    def __repr__(self) -> str:
        return f"Marker({self.pattern!r})"


_LINE_START, _INDENT = Marker(r"^"), Marker(r"^ {0,3}")


@dataclass(frozen=True, slots=True)
class ComposerSpec:
    """Where the composer is: the last `bottom` line on screen closes it.

    With `top` set, the composer starts at the last `top` line above `bottom` (inclusive);
    otherwise it is the unbroken run of `body` lines right above `bottom`.
    `first_prefix`/`prefix` are stripped from the first/other composer lines.
    """

    bottom: Marker
    top: Marker | None = None
    body: Marker | None = None
    first_prefix: Marker = _LINE_START
    prefix: Marker = _INDENT


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """One agent, described by markers; see ComposerSpec for how the composer is found."""

    name: str
    label: str
    version: str
    processes: frozenset[str]
    signatures: tuple[Marker, ...]
    composer: ComposerSpec
    placeholders: tuple[Marker, ...] = ()
    working: tuple[Marker, ...] = ()
    queued: tuple[Marker, ...] = ()
    dialog: tuple[Marker, ...] = ()
    rate_limit: tuple[Marker, ...] = ()
    reset: Marker | None = None
    picker_chars: str = "/@!#"
    submit_key: str = "Enter"
    queue_key: str | None = None
    """Key that queues a message while the agent is busy, when Enter would do something else."""
    title_working: tuple[Marker, ...] = ()
    """Markers in the pane title (`#{pane_title}`) that mean a turn is running."""
    chrome: tuple[Marker, ...] = ()
    """Hint and footer lines that are UI furniture, skipped when picking a pane's last meaningful line."""
    launched: tuple[Marker, ...] = ()
    """Command lines of the agent run by an interpreter (`node …/bin/gemini`): the pane's process is
    then the interpreter, and only its command line says which program it runs."""
    reply_prefix: Marker | None = None
    """What the agent draws before its answer (`● `, `• `, `✦ `), removed from a reply read off the screen."""
    reply_noise: tuple[Marker, ...] = ()
    """Lines between the prompt and the composer that are not the answer (turn summaries, box rules)."""
    answered: tuple[Marker, ...] = ()
    """What the screen shows once the agent has answered (its reply marker, a turn summary): idle with one
    of these above the composer is an agent waiting for its next prompt after a turn (needs-input)."""

    def runs_in(self, command: str, cmdline: str | None) -> bool:
        """Is the pane's process this agent? Its own name, or a launcher whose command line names it.

        A screen that looks like the agent is not enough: `watch tmux capture-pane …` or `less` on a
        saved screen shows the same markers without being the agent.
        """
        if command.rsplit("/", 1)[-1] in self.processes:
            return True
        return cmdline is not None and any(p.search(cmdline) for p in self.launched)


class AgentProfileError(ValueError):
    """A profile file that cannot be used; the message names the file, the profile and the field."""


_LISTS = ("launched", "signatures", "placeholders", "working", "queued", "dialog", "rate_limit", "title_working",
          "chrome", "reply_noise", "answered")  # fmt: skip
_TOP = {"name", "label", "checked_against", "processes", "submit_key", "queue_key", "picker_chars", "reset",
        "reply_prefix", "composer", *_LISTS}  # fmt: skip
_COMPOSER = {"bottom", "top", "body", "first_prefix", "prefix"}
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")


def parse_profile(data: Mapping[str, Any], source: str, *, compile_now: bool = True) -> AgentProfile:
    """One agent profile from its data (a TOML file's table), strictly: every field checked and named.

    Unknown fields are errors (a misspelt `workng` must not silently never match); regexes must
    compile; the composer needs a `bottom` and either a `top` or a `body`. `compile_now=False` (the
    package's own profiles, which the tests compile) leaves each marker to be compiled on first use.
    """
    name = data.get("name")
    where = f"{source}: profile {name!r}" if isinstance(name, str) else source

    def fail(field: str, why: str) -> AgentProfileError:
        return AgentProfileError(f"{where}: {field}: {why}")

    unknown = sorted(set(data) - _TOP)
    if unknown:
        raise fail(unknown[0], f"unknown field (known: {', '.join(sorted(_TOP))})")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise fail("name", "a lower-case name is required (letters, digits, - _; e.g. 'aider')")

    def text(field: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = data.get(field, default)
        if value is None and not required:
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            raise fail(field, "expected a non-empty string" if required else "expected a string")
        return value

    def pattern(field: str, value: object, flags: int = 0) -> Marker:
        if not isinstance(value, str):
            raise fail(field, "expected a regular expression (a string)")
        marker = Marker(value, flags)
        try:
            if compile_now:
                marker.compiled  # noqa: B018 (compiled for the error, kept for the use)
        except re.error as exc:
            raise fail(field, f"bad regular expression {value!r}: {exc}") from None
        return marker

    def patterns(field: str) -> tuple[Marker, ...]:
        values = data.get(field, [])
        if not isinstance(values, list):
            raise fail(field, "expected a list of regular expressions")
        # MULTILINE: a marker can be searched in one line or in a whole screen joined by newlines, so
        # patterns say [ \t] where they mean blanks within a line (\s would run across line breaks)
        return tuple(pattern(field, v, re.MULTILINE) for v in values)

    processes = data.get("processes", [])
    if not isinstance(processes, list) or not all(isinstance(x, str) and x for x in processes):
        raise fail("processes", "expected a list of program names")
    spec = data.get("composer")
    if not isinstance(spec, dict):
        raise fail("composer", "a [composer] table is required (bottom, and top or body)")
    unknown = sorted(set(spec) - _COMPOSER)
    if unknown:
        raise fail(f"composer.{unknown[0]}", f"unknown field (known: {', '.join(sorted(_COMPOSER))})")
    if "bottom" not in spec or ("top" not in spec and "body" not in spec):
        raise fail("composer", "needs `bottom` and either `top` or `body`")
    composer = ComposerSpec(
        bottom=pattern("composer.bottom", spec["bottom"]),
        top=pattern("composer.top", spec["top"]) if "top" in spec else None,
        body=pattern("composer.body", spec["body"]) if "body" in spec else None,
        first_prefix=pattern("composer.first_prefix", spec.get("first_prefix", "^")),
        prefix=pattern("composer.prefix", spec.get("prefix", "^ {0,3}")),
    )
    reset = text("reset")
    reply_prefix = text("reply_prefix")
    picker = text("picker_chars", "/@!#")
    assert picker is not None
    return AgentProfile(
        name=name,
        label=text("label", name) or name,
        version=text("checked_against", "") or "",
        processes=frozenset(processes),
        signatures=patterns("signatures"),
        composer=composer,
        placeholders=patterns("placeholders"),
        working=patterns("working"),
        queued=patterns("queued"),
        dialog=patterns("dialog"),
        rate_limit=patterns("rate_limit"),
        reset=pattern("reset", reset) if reset is not None else None,
        picker_chars=picker,
        submit_key=text("submit_key", "Enter") or "Enter",
        queue_key=text("queue_key"),
        title_working=patterns("title_working"),
        chrome=patterns("chrome"),
        reply_prefix=pattern("reply_prefix", reply_prefix) if reply_prefix is not None else None,
        reply_noise=patterns("reply_noise"),
        answered=patterns("answered"),
        launched=patterns("launched"),
    )


@dataclass(frozen=True, slots=True)
class AgentBook:
    """The agent profiles in force, and where each came from (a built-in file, or the user's)."""

    profiles: tuple[AgentProfile, ...]
    sources: Mapping[str, str]

    def __getitem__(self, name: str) -> AgentProfile:
        found = self.get(name)
        if found is None:
            raise KeyError(name)
        return found

    def get(self, name: str | None) -> AgentProfile | None:
        return next((p for p in self.profiles if p.name == name), None) if name else None

    def for_process(self, command: str) -> AgentProfile | None:
        """The profile whose process name matches `#{pane_current_command}` exactly (node/python don't)."""
        name = command.rsplit("/", 1)[-1]
        return next((p for p in self.profiles if name in p.processes), None)

    def merged(self, extra: Sequence[tuple[AgentProfile, str]]) -> AgentBook:
        """This book with `extra` profiles added, or replacing those of the same name (the user's win)."""
        profiles = list(self.profiles)
        sources = dict(self.sources)
        for profile, source in extra:
            profiles = [p for p in profiles if p.name != profile.name] + [profile]
            sources[profile.name] = source
        return AgentBook(tuple(profiles), sources)


_BOOK: AgentBook | None = None


def known() -> AgentBook:
    """The profiles in force in this process: the built-ins, plus the user's once `use` was called."""
    return _BOOK if _BOOK is not None else builtin()


def use(book: AgentBook) -> None:
    """Put `book` in force for this process (the entry points do, after loading the user's profiles)."""
    global _BOOK
    _BOOK = book


@functools.cache
def builtin() -> AgentBook:
    """The profiles shipped in the package (core/agent_profiles/*.toml), read once, on first use.

    Read beside this file rather than through importlib.resources: that import (its zip reader,
    tempfile, shutil…) cost every command ~6 ms, and the package runs from files (cli/warm.py reads them too).
    """
    folder = Path(__file__).with_name("agent_profiles")
    found: list[tuple[AgentProfile, str]] = []
    for entry in sorted(e for e in folder.iterdir() if e.name.endswith(".toml")):
        source = f"built-in ({entry.name})"
        data = tomllib.loads(entry.read_text(encoding="utf-8"))
        found.append((parse_profile(data, source, compile_now=False), source))
    return AgentBook((), {}).merged(found)


def describe(profile: AgentProfile, source: str = "built-in") -> dict[str, object]:
    """A profile as plain data (every marker as its pattern text), for `dispatch agents show`."""

    def pats(patterns: tuple[Marker, ...]) -> list[str]:
        return [p.pattern for p in patterns]

    spec = profile.composer
    return {
        "name": profile.name,
        "label": profile.label,
        "checked_against": profile.version,
        "source": source,
        "processes": sorted(profile.processes),
        "launched": pats(profile.launched),
        "signatures": pats(profile.signatures),
        "composer": {
            "bottom": spec.bottom.pattern,
            "top": spec.top.pattern if spec.top else None,
            "body": spec.body.pattern if spec.body else None,
            "first_prefix": spec.first_prefix.pattern,
            "prefix": spec.prefix.pattern,
        },
        "placeholders": pats(profile.placeholders),
        "working": pats(profile.working),
        "title_working": pats(profile.title_working),
        "queued": pats(profile.queued),
        "dialog": pats(profile.dialog),
        "rate_limit": pats(profile.rate_limit),
        "reset": profile.reset.pattern if profile.reset else None,
        "picker_chars": profile.picker_chars,
        "submit_key": profile.submit_key,
        "queue_key": profile.queue_key,
        "chrome": pats(profile.chrome),
        "reply_prefix": profile.reply_prefix.pattern if profile.reply_prefix else None,
        "reply_noise": pats(profile.reply_noise),
        "answered": pats(profile.answered),
    }
