"""Claude Code's screen: logo header, transcript, spinner, queued prompts, ruled composer and footer."""

from __future__ import annotations

from dashboard.demo.fake_agent.model import RATE_LIMIT, Session
from dashboard.demo.fake_agent.render.palette import C_RED, CURSOR
from dashboard.demo.fake_agent.text import pad, visible_width, words, wrap

VERSION = "v2.1.197 (simulated)"
GLYPHS = ("✢", "✻", "✶", "✳", "·", "✽")
GERUNDS = ("Billowing", "Manifesting", "Pondering", "Percolating", "Brewing")
NBSP = "\u00a0"

C_GREY = "\x1b[38;5;246m"  # hints
C_RULE = "\x1b[38;5;244m"  # rules
C_ORANGE = "\x1b[38;5;174m"  # logo and spinner
BOLD = "\x1b[1m"


def screen(s: Session, w: int) -> list[str]:
    o, blk = C_ORANGE, "\x1b[48;5;16m"
    lines = [
        f"{o} ▐{blk}▛███▜\x1b[49m▌\x1b[39m   {words(BOLD, 'Claude Code')} {words(C_GREY, VERSION)}",
        f"{o}▝▜{blk}█████\x1b[49m▛▘\x1b[39m  {words(C_GREY, 'Opus 4.8 (1M context) · API Usage Billing')}",
        f"{words(o, '  ▘▘ ▝▝')}    {C_GREY}{s.o.cwd}\x1b[39m",
        "",
    ]
    for kind, text in s.items:
        if kind != "interrupted":
            lines.append("")
        if kind == "user":
            # The grey band spans the whole row: capture -e shows the cells after the text keep bg 237.
            for n, row in enumerate(wrap(text, w - 3)):
                head = "\x1b[38;5;239m\x1b[48;5;237m❯ " if n == 0 else "\x1b[48;5;237m  "
                lines.append(pad(f"{head}\x1b[38;5;231m{row}\x1b[39m", w) + "\x1b[49m")
        elif kind == "reply":
            for n, row in enumerate(wrap(text, w - 3)):
                lines.append(("\x1b[38;5;231m●\x1b[39m " if n == 0 else "  ") + row)
        elif kind == "done":
            lines.append(f"{C_GREY}✻\x1b[39m {C_GREY}{text}\x1b[39m")
        else:  # interrupted / banner
            colour = C_RED if kind == "banner" else C_GREY
            lines.append(f"  {colour}{text}\x1b[39m")
    if s.spinning and s.turn is not None:
        glyph = GLYPHS[s.frame % len(GLYPHS)]
        gerund = GERUNDS[(s.turn.number - 1) % len(GERUNDS)]
        lines += ["", f"{o}{glyph}\x1b[39m {o}{gerund}… \x1b[39m"]
    if s.queue:  # as Claude Code 2.1 draws them: on the submitted-input grey, above the rule
        lines.append("")
        for q in s.queue:
            for n, row in enumerate(wrap(q, w - 3)):
                lines.append(f"\x1b[38;5;239m\x1b[48;5;237m{'❯ ' if n == 0 else '  '}\x1b[38;5;231m{row}\x1b[0m")
    if s.o.rate_limit:
        lines += ["", f"  {C_RED}{RATE_LIMIT['claude']}\x1b[39m"]
    rule = C_RULE + "─" * w + "\x1b[39m"
    lines += ["", rule]
    prompt = f"{C_GREY}❯{NBSP}\x1b[39m" if s.working else f"❯{NBSP}"
    if s.queue and not s.composer.parts:
        # the real one: a reverse-video cursor cell on "P", then the rest of the hint faint
        lines.append(f"❯{NBSP}\x1b[7mP\x1b[0;2mress up to edit queued messages\x1b[22m")
    else:
        rows = wrap(s.composer.display, w - 3)
        for n, row in enumerate(rows):
            cursor = CURSOR if n == len(rows) - 1 else ""
            lines.append((prompt if n == 0 else "  ") + row + cursor)
    lines.append(rule)
    lines.append(footer(s, w))
    return lines


def footer(s: Session, w: int) -> str:
    """The hint line under the composer; which hint shows is a state the classifier reads."""
    if s.paste_hint:
        return f"  {C_GREY}paste again to expand\x1b[39m"
    if s.spinning:
        return "  " + words(C_GREY, "esc to interrupt · ← for agents")
    if s.composer.parts:
        return ""  # the real footer hides "? for shortcuts" while you type
    left = "  " + words(C_GREY, "? for shortcuts · ← for agents")
    if s.items:
        return left
    right = words(C_GREY, "● high · /effort")
    gap = w - visible_width(left) - visible_width(right) - 2
    return left + " " * gap + right if gap > 1 else left


def trust_dialog(s: Session, w: int) -> list[str]:
    inner = w - 4
    border = "\x1b[38;5;220m"

    def row(text: str = "") -> str:
        return f"{border}│\x1b[39m {pad(text, inner)} {border}│\x1b[39m"

    body = [
        row(),
        row("\x1b[1mDo you trust the files in this folder?\x1b[22m"),
        row(),
        row(s.o.cwd),
        row(),
    ]
    warning = (
        "Claude Code may read, write, or execute files contained in this directory. "
        "This can pose security risks, so only use files from trusted sources."
    )
    body += [row(r) for r in wrap(warning, inner)]
    body += [row(), row("\x1b[38;5;153m❯ 1. Yes, proceed\x1b[39m"), row("  2. No, exit"), row()]
    return [
        f"{border}╭{'─' * (w - 2)}╮\x1b[39m",
        *body,
        f"{border}╰{'─' * (w - 2)}╯\x1b[39m",
        f"   {C_GREY}Enter to confirm · Esc to exit\x1b[39m",
    ]
