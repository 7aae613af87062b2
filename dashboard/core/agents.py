"""Agent profiles: everything the tool knows about one agent's screen, as data.

Each marker was read off real captures (tests/fixtures/captures, 120x40, the versions named in
`version`). Adding an agent is adding a profile here; the classifier has no agent-specific code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def _rx(*patterns: str) -> tuple[re.Pattern[str], ...]:
    # MULTILINE: a marker can be searched in one line or in a whole screen joined by newlines, so
    # patterns say [ \t] where they mean blanks within a line (\s would run across line breaks)
    return tuple(re.compile(p, re.MULTILINE) for p in patterns)


@dataclass(frozen=True, slots=True)
class ComposerSpec:
    """Where the composer is: the last `bottom` line on screen closes it.

    With `top` set, the composer starts at the last `top` line above `bottom` (inclusive);
    otherwise it is the unbroken run of `body` lines right above `bottom`.
    `first_prefix`/`prefix` are stripped from the first/other composer lines.
    """

    bottom: re.Pattern[str]
    top: re.Pattern[str] | None = None
    body: re.Pattern[str] | None = None
    first_prefix: re.Pattern[str] = re.compile(r"^")
    prefix: re.Pattern[str] = re.compile(r"^ {0,3}")


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """One agent, described by markers; see ComposerSpec for how the composer is found."""

    name: str
    label: str
    version: str
    processes: frozenset[str]
    signatures: tuple[re.Pattern[str], ...]
    composer: ComposerSpec
    placeholders: tuple[re.Pattern[str], ...] = ()
    working: tuple[re.Pattern[str], ...] = ()
    queued: tuple[re.Pattern[str], ...] = ()
    dialog: tuple[re.Pattern[str], ...] = ()
    rate_limit: tuple[re.Pattern[str], ...] = ()
    reset: re.Pattern[str] | None = None
    picker_chars: str = "/@!#"
    submit_key: str = "Enter"
    queue_key: str | None = None
    """Key that queues a message while the agent is busy, when Enter would do something else."""
    title_working: tuple[re.Pattern[str], ...] = ()
    """Markers in the pane title (`#{pane_title}`) that mean a turn is running."""
    chrome: tuple[re.Pattern[str], ...] = ()
    """Hint and footer lines that are UI furniture, skipped when picking a pane's last meaningful line."""
    launched: tuple[re.Pattern[str], ...] = ()
    """Command lines of the agent run by an interpreter (`node …/bin/gemini`): the pane's process is
    then the interpreter, and only its command line says which program it runs."""

    def runs_in(self, command: str, cmdline: str | None) -> bool:
        """Is the pane's process this agent? Its own name, or a launcher whose command line names it.

        A screen that looks like the agent is not enough: `watch tmux capture-pane …` or `less` on a
        saved screen shows the same markers without being the agent.
        """
        if command.rsplit("/", 1)[-1] in self.processes:
            return True
        return cmdline is not None and any(p.search(cmdline) for p in self.launched)


def _launched(program: str) -> tuple[re.Pattern[str], ...]:
    """An interpreter (node, bun, deno) running the agent's script, or this project's simulated agent."""
    return (
        re.compile(rf"^\S*\b(?:node|nodejs|bun|deno)\S*\s+(?:--?\S+\s+)*\S*\b{program}\b"),
        re.compile(rf"^\S*python[0-9.]*\s+-m\s+dashboard\.demo\.fake_agent\b.*--style[ =]{program}\b"),
    )


_RESET = re.compile(r"(?i)(?:resets?|try again)\s+(?:at|in)?\s*([0-9][^·\n)]*?)\s*(?:\(|·|$|\.)")

CLAUDE = AgentProfile(
    name="claude",
    label="Claude Code",
    version="2.1.197",
    processes=frozenset({"claude"}),
    launched=_launched("claude"),
    signatures=_rx(r"Claude Code v\d", r"\? for shortcuts · ← for agents", r"^❯[ \u00a0]", r"/effort\s*$"),
    composer=ComposerSpec(
        bottom=re.compile(r"^─{20,}$"),
        top=re.compile(r"^❯(?:[ \u00a0]|$)"),
        first_prefix=re.compile(r"^❯[ \u00a0]?"),
        prefix=re.compile(r"^ {0,2}"),
    ),
    working=_rx(r"^[✢✻✶✳✽·*⏺✦] \S+…", r"\besc to interrupt\b"),
    placeholders=_rx(r"^Press up to edit queued messages$"),
    queued=_rx(r"(?i)press up to edit queued messages"),
    title_working=_rx(r"^[⠂⠐] "),
    dialog=_rx(
        r"Do you trust the files in this folder\?",
        r"Do you want to (?:proceed|make this edit|create|run)",
        r"^[ \t│]*[❯>]\s*1\.\s+Yes",
        r"Enter to confirm · Esc to (?:exit|cancel)",
    ),
    rate_limit=_rx(r"(?i)usage limit", r"(?i)\blimit reached\b", r"(?i)rate limit(?:ed)?\b"),
    reset=_RESET,
    picker_chars="/@!#",
    chrome=_rx(r"for shortcuts", r"esc to interrupt", r"/effort", r"focus-events", r"paste again to expand", r"Tip:"),
)

CODEX = AgentProfile(
    name="codex",
    label="Codex CLI",
    version="0.169.0",
    processes=frozenset({"codex"}),
    launched=_launched("codex"),
    signatures=_rx(r"OpenAI Codex \(v\d", r"^  \S+ .*· (?:/|~)", r"Ask Codex to do anything", r"^• Working \("),
    composer=ComposerSpec(
        bottom=re.compile(r"^  \S.* · (?:/|~)"),
        top=re.compile(r"^›(?: |$)"),
        first_prefix=re.compile(r"^› ?"),
        prefix=re.compile(r"^ {0,2}"),
    ),
    placeholders=_rx(
        r"^Ask Codex to do anything$",
        r"^Find and fix a bug in @filename$",
        r"^Explain this codebase$",
        r"^Summarize recent commits$",
        r"^Write tests for @filename$",
        r"^Improve documentation in @filename$",
        r"^Implement \{feature\}$",
        r"^Run /review on my current changes$",
        r"^Use /skills to list available skills$",
    ),
    working=_rx(r"^[•◦] Working \(\d", r"\besc to interrupt\b", r"^• Queued follow-up inputs$"),
    queued=_rx(r"^• Queued follow-up inputs$", r"shift\+← edit last queued message"),
    queue_key="Tab",
    title_working=_rx(r"^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] "),
    dialog=_rx(
        r"(?i)allow codex to work in this folder",
        r"(?i)press enter to (?:continue|confirm)",
        r"^[ \t│]*›\s*1\.\s+(?:Yes|Allow|Approve)",
        r"(?i)would you like to run the following command",
    ),
    rate_limit=_rx(r"(?i)usage limit", r"(?i)rate limit", r"(?i)try again at"),
    reset=_RESET,
    picker_chars="/@!",
    chrome=_rx(r"for shortcuts", r"esc to interrupt", r"^  \S.* · (?:/|~)", r"f2 to view"),
)

GEMINI = AgentProfile(
    name="gemini",
    label="Gemini CLI",
    version="0.61.0",
    processes=frozenset({"gemini"}),
    launched=_launched("gemini"),
    signatures=_rx(r"Gemini CLI v\d", r"Type your message or @path/to/file", r"^ workspace \(/directory\)"),
    composer=ComposerSpec(
        bottom=re.compile(r"^▀{10,}$"),
        top=re.compile(r"^ >(?: |$)"),
        first_prefix=re.compile(r"^ > ?"),
        prefix=re.compile(r"^ {0,3}"),
    ),
    placeholders=_rx(r"^[ \t]*Type your message or @path/to/file$"),
    working=_rx(r"^[ \t]*[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] .*\(esc to cancel", r"\besc to cancel\b"),
    queued=_rx(r"^[ \t]*Queued \(press ↑ to edit\):"),
    title_working=_rx(r"^✦\s+Working"),
    dialog=_rx(
        r"(?i)do you trust this folder",
        r"(?i)allow execution",
        r"^[ \t│]*[●○>]\s*1\.\s+(?:Yes|Allow|Trust)",
        r"(?i)waiting for user confirmation",
    ),
    rate_limit=_rx(r"(?i)quota exceeded", r"(?i)rate limit", r"(?i)usage limit", r"(?i)resource.?exhausted"),
    reset=_RESET,
    picker_chars="/@!",
    chrome=_rx(r"for shortcuts", r"Shift\+Tab", r"workspace \(/directory\)", r"sandbox", r"esc to cancel"),
)

OPENCODE = AgentProfile(
    name="opencode",
    label="opencode",
    version="1.18.33",
    processes=frozenset({"opencode"}),
    launched=_launched("opencode"),
    signatures=_rx(r"ctrl\+p commands", r"^[ \t]*┃[ \t]+(?:Build|Plan) · ", r"^[ \t]*╹▀{10,}"),
    composer=ComposerSpec(
        bottom=re.compile(r"^[ \t]*┃[ \t]+(?:Build|Plan) · "),
        body=re.compile(r"^[ \t]*┃"),
        first_prefix=re.compile(r"^[ \t]*┃ {0,2}"),
        prefix=re.compile(r"^[ \t]*┃ {0,2}"),
    ),
    placeholders=_rx(r'^Ask anything… ".*"$', r"^Ask anything…$"),
    working=_rx(r"\besc interrupt\b", r"■{2,}⬝"),
    queued=_rx(r"^[ \t]*┃[ \t]+QUEUED[ \t]*$"),
    dialog=_rx(r"(?i)permission required", r"(?i)^[ \t]*┃?[ \t]*(?:Allow once|Allow always|Reject)\b"),
    rate_limit=_rx(r"(?i)rate limit", r"(?i)usage limit", r"(?i)quota exceeded"),
    reset=_RESET,
    picker_chars="/@!",
    chrome=_rx(r"ctrl\+p commands", r"tab agents", r"esc interrupt", r"\$\d+\.\d\d"),
)

PROFILES: tuple[AgentProfile, ...] = (CLAUDE, CODEX, GEMINI, OPENCODE)
BY_NAME: dict[str, AgentProfile] = {p.name: p for p in PROFILES}


def profile_for_process(command: str) -> AgentProfile | None:
    """The profile whose process name matches `#{pane_current_command}` exactly (node/python don't)."""
    name = command.rsplit("/", 1)[-1]
    for profile in PROFILES:
        if name in profile.processes:
            return profile
    return None


def describe(profile: AgentProfile) -> dict[str, object]:
    """A profile as plain data (every marker as its pattern text), for `dispatch agents show`."""

    def pats(patterns: tuple[re.Pattern[str], ...]) -> list[str]:
        return [p.pattern for p in patterns]

    spec = profile.composer
    return {
        "name": profile.name,
        "label": profile.label,
        "checked_against": profile.version,
        "source": "built-in",
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
    }
