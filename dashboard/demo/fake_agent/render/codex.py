"""Codex CLI's screen: header, transcript blocks, working line, follow-up queue, composer and the idle logo.

Codex fills the window from the top and pins its composer to the bottom, so unlike the other styles this
renderer needs the pane height.
"""

from __future__ import annotations

from dashboard.demo.fake_agent.model import RATE_LIMIT, Session
from dashboard.demo.fake_agent.render.palette import C_RED
from dashboard.demo.fake_agent.text import pad, text_width, wrap

# Codex's idle logo, copied from captures/codex/idle.txt with the common indent removed.
LOGO = (
    "           ⣀⣤⣤⣤⣀⣀",
    "        ⣠⣶⣿⣿⣿⣿⣿⣿⣿⣿⣦⣤⣤⣤⣤⣤⣤⡀",
    "      ⢀⣾⣿⣿⠿⠋⠉⠉⢉⣭⣿⣿⣿⣿⣿⠿⣿⣿⣿⣿⣷⣄",
    "     ⣀⣾⣿⣿⠃ ⣀⣴⣾⣿⣿⡿⠟⠋ ⣀⡀ ⠈⠙⢿⣿⣿⣧",
    "  ⣀⣶⣿⣿⣿⣿⡇ ⢸⣿⣿⡿⠛⠉⢀⣠⣴⣿⣿⣿⣷⣦⣀⠈⢻⣿⣿⡇",
    " ⣰⣿⣿⡿⢿⣿⣿⡇ ⢸⣿⣿⢀⣤⣶⣿⣿⣿⠟⠛⠻⣿⣿⣿⣿⣮⣿⣿⡷",
    "⢰⣿⣿⡟⠁⢸⣿⣿⡇ ⢸⣿⣿⣿⣿⠿⠿⣿⣿⣿⣦⣄⡀⠈⠛⠿⣿⣿⣿⣧⡀",
    "⣾⣿⣿⠃ ⢸⣿⣿⡇ ⢸⣿⣿⠋⠁  ⠈⠙⢻⣿⣿⣿⣶⣤⡀ ⠹⢿⣿⣷⡄",
    "⢸⣿⣿⣇ ⠸⣿⣿⣷⣦⣼⣿⣿      ⢸⣿⣿⠻⢿⣿⣿⡇ ⠘⣿⣿⣿",
    "⠈⢿⣿⣿⣦⡀⠈⠛⠿⣿⣿⣿⣿⣄⡀  ⢀⣠⣼⣿⣿  ⣿⣿⡇  ⣿⣿⣿⠇",
    "  ⢻⣿⣿⣿⣷⣦⣀⠈⠙⠻⣿⣿⣿⣶⣶⣿⣿⣿⣿⣿  ⣿⣿⡇ ⣠⣿⣿⣿",
    "  ⢸⣿⣿⡿⢿⣿⣿⣿⣦⣠⣴⣿⣿⣿⡿⠟⠋⢸⣿⣿  ⣿⣿⣷⣴⣿⣿⣿⠃",
    "  ⠘⣿⣿⣷ ⠈⠛⢿⣿⣿⣿⠿⠋⠉ ⣠⣴⣿⣿⣿  ⣿⣿⣿⣿⣿⠟⠁",
    "   ⠻⣿⣿⣿⣤⣀ ⠈⠉ ⢀⣤⣶⣿⣿⣿⠿⠟⠁ ⣰⣿⣿⡟⠋⠁",
    "    ⠈⠿⣿⣿⣿⣿⣶⣾⣿⣿⣿⣿⠟⠋⠁  ⣠⣼⣿⣿⡟",
    "       ⠙⠛⠛⠛⠻⠛⢿⣿⣿⣿⣿⣷⣾⣿⣿⣿⡿⠏",
    "              ⠈⠙⠛⠿⠿⠿⠿⠛⠉",
)


def screen(s: Session, w: int, h: int) -> list[str]:
    top = [
        "",
        "  \x1b[38;5;75m>_ \x1b[39m\x1b[1mOpenAI Codex\x1b[22m\x1b[2m (v0.169.0)\x1b[22m",
        f"     \x1b[2m{s.o.cwd}\x1b[22m",
        "",
    ]
    bg = "\x1b[38;5;255m\x1b[48;5;238m"
    for kind, text in s.items:
        if kind == "user":
            top.append(bg + " " * w + "\x1b[0m")
            for n, row in enumerate(wrap(text.rstrip("\n"), w - 4)):  # codex trims the tail in history
                head = f"{bg}\x1b[1;2m› \x1b[22m" if n == 0 else f"{bg}  "
                top.append(pad(head + row, w) + "\x1b[0m")
            top.append(bg + " " * w + "\x1b[0m")
        elif kind == "reply":
            top += [("\x1b[2m• \x1b[22m" if n == 0 else "  ") + r for n, r in enumerate(wrap(text, w - 4))]
        elif kind == "done":
            top.append(f"\x1b[2m  {text}\x1b[22m")
        else:
            top.append(f"\x1b[31m{text[:1]}\x1b[39m{text[1:]}" if kind == "interrupted" else C_RED + text)
        top.append("")
    bottom: list[str] = []
    if s.spinning:
        bottom += [working_line(s), ""]
    if s.queue:  # Codex 0.169's follow-up queue
        bottom.append("• Queued follow-up inputs")
        for q in s.queue:
            bottom += [("  ↳ " if n == 0 else "    ") + r for n, r in enumerate(wrap(q, w - 6))]
        bottom += ["    \x1b[2mshift+← edit last queued message\x1b[22m", ""]
    if s.o.rate_limit:
        bottom += [C_RED + RATE_LIMIT["codex"] + "\x1b[39m", ""]
    bottom.append("")
    if s.composer.parts:
        bottom += [("\x1b[1m›\x1b[22m " if n == 0 else "  ") + r for n, r in enumerate(wrap(s.composer.display, w - 4))]
    else:
        bottom.append("\x1b[1m›\x1b[22m \x1b[2mAsk Codex to do anything\x1b[22m")
    model = f"  \x1b[38;5;223mgpt-5-codex default\x1b[39m · \x1b[38;5;151m{s.o.cwd}\x1b[39m"
    if s.title:  # Codex appends the generated thread title after the first prompt
        model += f" · \x1b[38;5;183m{s.title}\x1b[39m"
    bottom += ["", model]
    if not s.composer.parts:
        bottom.append("  \x1b[1m←\x1b[22m for agents · \x1b[1m?\x1b[22m for shortcuts")
    free = h - len(top) - len(bottom)
    if free < 0:
        return top + bottom
    filler = [""] * free
    if not s.items and not s.composer.parts:  # the logo goes as soon as you type
        logo_w = max(text_width(x) for x in LOGO)
        if free >= len(LOGO) + 2 and w >= logo_w + 2:
            at = (free - len(LOGO)) // 2
            indent = " " * ((w - logo_w + 1) // 2)
            for n, x in enumerate(LOGO):
                filler[at + n] = f"{indent}\x1b[2m{x}\x1b[22m"
    return top + filler + bottom


def working_line(s: Session) -> str:
    """Only the seconds move: in the captured frame "Working" is plain dim (no truecolor shimmer)."""
    secs = s.elapsed()
    return f"• \x1b[2mWorking\x1b[22m \x1b[2m({secs}s • \x1b[22m\x1b[1mesc\x1b[22m\x1b[2m to interrupt)\x1b[22m"


def trust_dialog(s: Session, w: int) -> list[str]:
    msg = (
        "Since this folder is version controlled, you may wish to allow Codex to work in this folder "
        "without asking for approval."
    )
    return [
        "",
        f"\x1b[1m> You are running Codex in {s.o.cwd}\x1b[22m",
        "",
        *["  " + r for r in wrap(msg, w - 4)],
        "",
        "\x1b[38;5;75m› 1. Yes, allow Codex to work in this folder\x1b[39m",
        "  2. No, quit",
        "",
        "  \x1b[2mPress enter to continue\x1b[22m",
    ]
