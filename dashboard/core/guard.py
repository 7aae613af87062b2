"""Guard rules for the send path: what may receive a prompt, and what a prompt may contain."""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.core.agents import AgentProfile
from dashboard.core.model import Classification, PaneInfo, PaneState

DEFAULT_MAX_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a send was refused: a short code for scripts and a one-line reason for people."""

    code: str
    reason: str


def normalise_prompt(prompt: str) -> str:
    """Make a prompt safe to paste.

    CR becomes LF (a CR inside a paste can act as a submit key) and trailing blank space goes (a
    trailing newline would sit in the composer as an empty line).
    """
    return prompt.replace("\r\n", "\n").replace("\r", "\n").rstrip()


def check_prompt(prompt: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Refusal | None:
    """Refuse prompts that cannot be pasted faithfully."""
    if not prompt.strip():
        return Refusal("empty-prompt", "the prompt is empty")
    if "\x00" in prompt:
        return Refusal("nul-byte", f"the prompt contains a NUL byte at offset {prompt.index(chr(0))}")
    for i, ch in enumerate(prompt):
        if (ord(ch) < 32 and ch not in "\n\t") or ord(ch) == 127:
            return Refusal(
                "control-char",
                f"the prompt contains control character 0x{ord(ch):02x} at offset {i} "
                "(escape sequences could end the bracketed paste early)",
            )
    size = len(prompt.encode())
    if size > max_bytes:
        return Refusal("too-large", f"the prompt is {size:,} bytes; the limit is {max_bytes:,} (--max-bytes)")
    return None


def check_target(
    pane: PaneInfo,
    cls: Classification,
    profile: AgentProfile | None,
    prompt: str,
    *,
    raw: bool = False,
    allow_busy: bool = False,
    allow_limited: bool = False,
) -> Refusal | None:
    """Refuse anything that is not an agent composer ready for this prompt."""
    where = f"{pane.pane_id} ({pane.address})"
    if pane.dead or cls.state is PaneState.DEAD:
        status = f", exit status {pane.dead_status}" if pane.dead_status is not None else ""
        return Refusal("dead", f"{where} is dead{status}")
    if pane.in_mode:
        return Refusal("copy-mode", f"{where} is in copy mode, which would eat the input")
    if cls.state is PaneState.SHELL:
        return Refusal("shell", f"{where} is a shell ({pane.command}): prompts go only to agent composers")
    if profile is None or cls.agent is None:
        return Refusal("unknown", f"{where} runs '{pane.command}' and shows no agent screen Dispatch recognises")
    if cls.state is PaneState.UNKNOWN:
        return Refusal("no-composer", f"{where} looks like {profile.label} but no composer is visible")
    if cls.state is PaneState.DIALOG:
        return Refusal("dialog", f"{where} is waiting on a dialog ({profile.label}): answer it first")
    if cls.state is PaneState.RATE_LIMITED and not allow_limited:
        when = f", resets {cls.reset}" if cls.reset else ""
        return Refusal("rate-limited", f"{where} is rate-limited{when} (--allow-limited sends anyway)")
    if cls.state is PaneState.STUCK:
        return Refusal(
            "composer-busy",
            f"{where} composer already holds text: {_clip(cls.composer or '')} — never cleared or merged",
        )
    if cls.state is PaneState.WORKING and not allow_busy:
        return Refusal("busy", f"{where} is working (use --when-idle to wait, or --queue to queue it)")
    first = prompt.lstrip()[:1]
    if first and first in profile.picker_chars and not raw:
        return Refusal(
            "picker",
            f"the prompt starts with '{first}', which opens a picker or mode in {profile.label} (--raw sends it as-is)",
        )
    return None


def check_process(pane: PaneInfo, profile: AgentProfile | None, cmdline: str | None) -> Refusal | None:
    """Refuse a pane whose screen looks like the agent but whose process is something else.

    A monitor (`watch tmux capture-pane -p -t …`, `less` on a saved screen, `tail -f` of a log)
    shows the agent's markers; typing into it would reach the monitor, not the agent.
    """
    if profile is None or profile.runs_in(pane.command, cmdline):
        return None
    if cmdline is None:
        return Refusal(
            "look-alike",
            f"{pane.pane_id} ({pane.address}) looks like {profile.label} and runs {_clip(pane.command or '?')}, but"
            " its command line could not be read to tell whether that is the agent (another user or pid"
            " namespace?)",
        )
    runs = cmdline or pane.command or "an unknown process"
    return Refusal(
        "look-alike",
        f"{pane.pane_id} ({pane.address}) looks like {profile.label} but runs {_clip(runs)}, not {profile.label}",
    )


def _clip(text: str, n: int = 60) -> str:
    one = " ⏎ ".join(text.splitlines())
    return repr(one if len(one) <= n else one[: n - 1] + "…")


# ----- the exec path: shell commands go only to shells at an empty prompt ---------------------------

FULL_SCREEN = frozenset(
    {"vim", "vi", "nvim", "view", "less", "more", "most", "man", "htop", "top", "btop", "atop", "nano", "emacs",
     "mc", "ranger", "nnn", "lf", "tig", "lazygit", "k9s", "watch", "tmux", "screen", "mutt", "neomutt", "w3m",
     "lynx", "ncdu", "iftop", "nethogs", "glances", "fzf", "helix", "hx", "micro", "joe", "pico"}
)  # fmt: skip
PROMPT_ENDINGS = ("$", "#", "%", ">", "❯", "➜", "λ", "»", "→", "▶")
MAX_COMMAND_BYTES = 16 * 1024


def check_command_text(command: str) -> Refusal | None:
    """A command must be one line of plain text: a newline would run early in a shell without bracketed paste."""
    if not command.strip():
        return Refusal("empty-command", "the command is empty")
    if "\n" in command or "\r" in command:
        return Refusal("multi-line", "the command spans several lines: join them with ';' or '&&' (one line only)")
    if "\t" in command:
        return Refusal("tab", "the command contains a tab: a shell would complete it into something else")
    for i, ch in enumerate(command):
        if ord(ch) < 32 or ord(ch) == 127:
            return Refusal("control-char", f"the command contains control character 0x{ord(ch):02x} at offset {i}")
    if len(command.encode()) > MAX_COMMAND_BYTES:
        return Refusal("too-large", f"the command is longer than {MAX_COMMAND_BYTES:,} bytes")
    return None


def check_exec_target(
    pane: PaneInfo,
    cls: Classification,
    agent_processes: frozenset[str],
    prompt_line: str | None,
    after_cursor: str = "",
) -> Refusal | None:
    """Refuse anything that is not a shell waiting at an empty prompt.

    `prompt_line` is the screen line the cursor is on, up to the cursor (None when unknown), and
    `after_cursor` the rest of it (text typed and then stepped back over).
    """
    where = f"{pane.pane_id} ({pane.address})"
    command = pane.command.lstrip("-").rsplit("/", 1)[-1]
    if pane.dead or cls.state is PaneState.DEAD:
        return Refusal("dead", f"{where} is dead")
    if pane.in_mode:
        return Refusal("copy-mode", f"{where} is in copy mode, which would eat the input")
    if command in agent_processes or cls.agent is not None:
        agent = cls.agent or command
        return Refusal("agent", f"{where} runs an agent ({agent}): commands go only to shells, prompts use send")
    if not pane.is_shell:
        if command in FULL_SCREEN:
            return Refusal("full-screen", f"{where} runs {command}, a full-screen program: the keys would go to it")
        return Refusal("busy", f"{where} is running '{command}', not waiting at a shell prompt")
    if prompt_line is None:
        return Refusal("no-prompt", f"{where}: cannot see where the cursor is, so not sure the prompt is empty")
    typed = prompt_line.rstrip()
    if typed == ">":
        return Refusal("continuation", f"{where} shows a continuation prompt (>): an unfinished command is pending")
    if after_cursor.strip() or not typed or not typed.endswith(PROMPT_ENDINGS):
        shown = typed[-40:] if typed else "(an empty line)"
        return Refusal(
            "prompt-not-empty",
            f"{where}: the cursor is not at an empty prompt ({shown!r}): typed text is never cleared or run",
        )
    return None


_SHELL_OPTION_VALUES = frozenset({"--rcfile", "--init-file", "-o", "+o", "-O", "+O"})
"""Shell options whose next word is their value, not a script."""


def foreground_job(cmdline: str | None) -> str | None:
    """What holds a shell pane's terminal when it is not the interactive shell itself.

    From the foreground process's command line; None when the shell is at its prompt or the line
    could not be read. `pane_current_command` only names the process: `bash script.sh` waiting at
    `read -p "$ "` looks like a shell at a prompt. An interactive shell has no script and no -c.
    """
    if not cmdline:
        return None
    argv = cmdline.split()
    words, skip = [], False
    for a in argv[1:]:
        if skip:
            skip = False
        elif a in _SHELL_OPTION_VALUES:
            skip = True
        else:
            words.append(a)
    runs_c = any(a == "-c" or (a.startswith("-") and not a.startswith("--") and "c" in a) for a in words)
    if runs_c or any(not a.startswith(("-", "+")) for a in words):
        return " ".join(argv)[:60]
    return None
