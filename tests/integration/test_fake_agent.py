"""The simulated agent, driven through a private tmux server the way Dispatch drives real agents."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CWD_SHOWN = "/home/operator/repos/proj"

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")

PROMPT = (
    "[Tfake] First line of a multi-line prompt: the quick brown fox jumps over the lazy dog.\n"
    "Second line, still part of the same prompt.\n"
    "Third line: reply with exactly CANARY-fake1"
)
WORKING = {
    "claude": r"^[✢✻✶✳·✽] \w+…",
    "codex": r"^• Working \(\d+s • esc to interrupt\)",
    "gemini": r"^ [⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Thinking\.\.\. \(esc to cancel, \d+s\)",
}
IDLE = {
    "claude": r"^─{120}\n❯\u00a0\n─{120}\n  \? for shortcuts · ← for agents",
    "codex": r"^› Ask Codex to do anything\n\n  gpt-5-codex default · " + re.escape(CWD_SHOWN),
    "gemini": r"^▄{120}\n >   Type your message or @path/to/file\n▀{120}\n workspace \(/directory\)",
}
REPLY = {"claude": "● CANARY-fake1", "codex": "• CANARY-fake1", "gemini": "✦ CANARY-fake1"}


class Pane:
    """One fake agent in its own tmux server (-L), plus its --record file."""

    def __init__(self, sock: str, record: Path) -> None:
        self.sock = sock
        self.record = record
        self.socket_path = ""

    def tmux(self, *args: str, stdin: str | None = None) -> str:
        out = subprocess.run(["tmux", "-L", self.sock, *args], input=stdin, capture_output=True, text=True, check=True)
        return out.stdout

    def capture(self, ansi: bool = False) -> str:
        return self.tmux("capture-pane", "-p", *(["-e"] if ansi else []), "-t", "fa")

    def wait_screen(self, pattern: str, timeout: float = 10.0, ansi: bool = False) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.capture(ansi)
            if re.search(pattern, screen, re.M):
                return screen
            if time.monotonic() > deadline:
                pytest.fail(f"{pattern!r} never appeared; last screen:\n{screen}")
            time.sleep(0.05)

    def paste(self, text: str) -> None:
        name = "p" + uuid.uuid4().hex[:6]
        self.tmux("load-buffer", "-b", name, "-", stdin=text)
        self.tmux("paste-buffer", "-p", "-r", "-d", "-b", name, "-t", "fa")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "fa", *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", "fa", "-l", text)

    def records(self, kind: str | None = None) -> list[dict[str, Any]]:
        if not self.record.exists():
            return []
        rows = [json.loads(line) for line in self.record.read_text(encoding="utf-8").splitlines() if line]
        return [r for r in rows if kind is None or r["kind"] == kind]

    def wait_record(self, kind: str, timeout: float = 10.0, count: int = 1) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while len(found := self.records(kind)) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"no {kind!r} record; have {self.records()}")
            time.sleep(0.05)
        return found[-1]

    def dead(self) -> bool:
        return self.tmux("list-panes", "-t", "fa", "-F", "#{pane_dead}").strip() == "1"


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Callable[..., Pane]]:
    panes: list[Pane] = []
    conf = tmp_path / "tmux.conf"
    conf.write_text("set -g remain-on-exit on\n")  # keep a crashed agent's last screen readable

    def start(*args: str) -> Pane:
        sock = f"fakeagent-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        pane = Pane(sock, tmp_path / f"{sock}.jsonl")
        cmd = [sys.executable, "-m", "dashboard.demo.fake_agent", "--record", str(pane.record)]
        cmd += ["--cwd", CWD_SHOWN, *args]
        env = {k: v for k, v in os.environ.items() if k != "TMUX"}
        new = ["new-session", "-d", "-s", "fa", "-x", "120", "-y", "40", "-c", str(REPO)]
        new += ["-e", f"PYTHONPATH={REPO}", shlex.join(cmd)]
        subprocess.run(["tmux", "-L", sock, "-f", str(conf), *new], check=True, env=env)
        panes.append(pane)
        pane.socket_path = pane.tmux("display-message", "-p", "#{socket_path}").strip()
        return pane

    yield start
    for pane in panes:
        subprocess.run(["tmux", "-L", pane.sock, "kill-server"], capture_output=True)
        if pane.socket_path:  # tmux 3.3 leaves the socket file behind
            Path(pane.socket_path).unlink(missing_ok=True)


@pytest.mark.parametrize("style", ["claude", "codex", "gemini"])
def test_idle_screen_shows_the_composer(agent: Callable[..., Pane], style: str) -> None:
    pane = agent("--style", style)
    pane.wait_screen(IDLE[style])
    if style == "codex":
        assert "\x1b[2mAsk Codex to do anything" in pane.capture(ansi=True)  # dim placeholder


@pytest.mark.parametrize("style", ["claude", "codex", "gemini"])
def test_bracketed_paste_then_enter_submits_exact_text(agent: Callable[..., Pane], style: str) -> None:
    pane = agent("--style", style, "--turn", "1.0")
    pane.wait_screen(IDLE[style])
    pane.paste(PROMPT)
    if style == "claude":
        pane.wait_screen(r"^❯\u00a0\[Pasted text #1 \+2 lines\]\n─+\n  paste again to expand")
    else:
        pane.wait_screen(r"Third line: reply with exactly CANARY-fake1")
    assert pane.records() == []
    time.sleep(0.3)
    pane.keys("Enter")
    assert pane.wait_record("submitted")["text"] == PROMPT
    screen = pane.wait_screen(WORKING[style])
    assert "[Tfake] First line" in screen  # the prompt moved into the transcript
    if style == "claude":
        assert "\x1b[38;5;239m\x1b[48;5;237m❯ \x1b[38;5;231m[Tfake]" in pane.capture(ansi=True)
    pane.wait_screen("^" + re.escape(REPLY[style]) + "$")
    pane.wait_screen(IDLE[style])
    assert [r["kind"] for r in pane.records()] == ["submitted"]


def test_swallowed_enter_needs_a_second_one(agent: Callable[..., Pane]) -> None:
    pane = agent("--swallow-enters", "1", "--turn", "0.5")
    pane.wait_screen(IDLE["claude"])
    pane.type("reply with exactly CANARY-sw1")
    pane.wait_screen(r"^❯\u00a0reply with exactly CANARY-sw1$")
    pane.keys("Enter")
    assert pane.wait_record("swallowed")["text"] == "reply with exactly CANARY-sw1"
    time.sleep(0.2)
    assert pane.records("submitted") == []
    pane.wait_screen(r"^❯\u00a0reply with exactly CANARY-sw1$")  # still in the composer
    pane.keys("Enter")
    assert pane.wait_record("submitted")["text"] == "reply with exactly CANARY-sw1"
    pane.wait_screen(r"^● CANARY-sw1$")


def test_burst_enter_becomes_a_newline(agent: Callable[..., Pane]) -> None:
    pane = agent("--style", "codex", "--burst-ms", "500", "--turn", "0.5")
    pane.wait_screen(IDLE["codex"])
    pane.tmux("send-keys", "-t", "fa", "-l", "hello CANARY-bu1", ";", "send-keys", "-t", "fa", "Enter")
    assert pane.wait_record("newline")["text"] == "hello CANARY-bu1"
    pane.wait_screen(r"^› hello CANARY-bu1\n\n\n  gpt-5-codex default")  # text kept, plus an empty line
    assert pane.records("submitted") == []
    time.sleep(0.6)
    pane.keys("Enter")
    assert pane.wait_record("submitted")["text"] == "hello CANARY-bu1\n"


def test_prompt_sent_while_working_is_queued(agent: Callable[..., Pane]) -> None:
    pane = agent("--style", "gemini", "--turn", "0.8")
    pane.wait_screen(IDLE["gemini"])
    pane.type("first CANARY-q1")
    pane.keys("Enter")
    pane.wait_screen(WORKING["gemini"])
    pane.type("second CANARY-q2")
    pane.keys("Enter")
    pane.wait_screen(r"^  Queued \(press ↑ to edit\):\n    second CANARY-q2$")
    pane.wait_record("started")
    pane.wait_screen(r"^✦ CANARY-q2$")
    kinds = [(r["kind"], r["text"]) for r in pane.records()]
    assert kinds == [("submitted", "first CANARY-q1"), ("queued", "second CANARY-q2"), ("started", "second CANARY-q2")]


def test_codex_queues_with_tab_and_steers_with_enter(agent: Callable[..., Pane]) -> None:
    """As Codex 0.169: Tab while busy queues a follow-up; Enter while busy interrupts and sends now."""
    pane = agent("--style", "codex", "--turn", "3")
    pane.wait_screen(IDLE["codex"])
    pane.type("first CANARY-c1")
    pane.keys("Enter")
    pane.wait_screen(WORKING["codex"])
    pane.type("later CANARY-c2")
    pane.keys("Tab")
    pane.wait_screen(r"^• Queued follow-up inputs\n  ↳ later CANARY-c2$")
    pane.type("now CANARY-c3")
    pane.keys("Enter")
    pane.wait_record("submitted", count=2)
    kinds = [(r["kind"], r["text"]) for r in pane.records()]
    assert kinds[:3] == [
        ("submitted", "first CANARY-c1"),
        ("queued", "later CANARY-c2"),
        ("submitted", "now CANARY-c3"),
    ]


def test_trust_dialog_discards_paste_until_accepted(agent: Callable[..., Pane]) -> None:
    pane = agent("--dialog")
    pane.wait_screen(r"Do you trust the files in this folder\?[\s\S]*❯ 1\. Yes, proceed\s*│\n│\s+2\. No, exit")
    pane.wait_screen(r"^   Enter to confirm · Esc to exit$")
    pane.paste("lost CANARY-d1")
    time.sleep(0.2)
    pane.keys("Enter")
    screen = pane.wait_screen(IDLE["claude"])
    assert "lost" not in screen
    assert pane.records() == []


def test_frozen_agent_shows_nothing_typed(agent: Callable[..., Pane]) -> None:
    pane = agent("--frozen")
    pane.wait_screen(IDLE["claude"])
    pane.paste("never seen CANARY-f1")
    pane.keys("Enter")
    time.sleep(0.8)
    assert "never seen" not in pane.capture()
    assert pane.records() == []


def test_slow_start_drops_early_keys(agent: Callable[..., Pane]) -> None:
    pane = agent("--style", "codex", "--slow-start", "0.8")
    pane.wait_screen(r"^starting…$")
    pane.type("too early")
    screen = pane.wait_screen(IDLE["codex"])
    assert "too early" not in screen


def test_die_mid_turn_and_rate_limit(agent: Callable[..., Pane]) -> None:
    dying = agent("--die-mid-turn", "--turn", "0.6")
    limited = agent("--style", "codex", "--rate-limit")
    dying.wait_screen(IDLE["claude"])
    limited.wait_screen(r"^■ You've hit your usage limit\. Try again at 3:00 PM\.$")
    for pane in (dying, limited):
        pane.type("go CANARY-x9")
        pane.keys("Enter")
    assert dying.wait_record("died")["text"] == "go CANARY-x9"
    deadline = time.monotonic() + 5
    while not dying.dead():
        assert time.monotonic() < deadline, "agent did not exit"
        time.sleep(0.05)
    screen = limited.wait_screen(r"^› go CANARY-x9$")
    assert screen.count("You've hit your usage limit") == 2  # banner, and the same line as the reply
    assert limited.records("submitted")[0]["text"] == "go CANARY-x9"


def test_parser_reassembles_input_split_across_reads() -> None:
    from dashboard.demo.fake_agent import ESC_TIMEOUT, InputParser

    data = "\x1b[200~a\r\nb\rc é\x1b[201~\r\x1b[A".encode() + "ü\x7f".encode() + b"\x1b"
    parser = InputParser()
    events = []
    for i in range(len(data)):  # worst case: one byte per read
        events += parser.feed(data[i : i + 1], 0.0)
    events += parser.flush(ESC_TIMEOUT + 0.01)  # the trailing lone ESC is a key press
    assert events == [
        ("paste", "a\nb\nc é"),
        ("enter", "\r"),
        ("other", ""),
        ("text", "ü"),
        ("backspace", ""),
        ("esc", ""),
    ]
