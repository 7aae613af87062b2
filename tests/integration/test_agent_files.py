"""Agents as data: the built-in profiles are files, a user adds or overrides one, a bad one is named."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.core.agents import AgentProfileError, builtin, describe, parse_profile
from tests.conftest import CAPTURES
from tests.integration.conftest import ROOT

MINI = """
name = "mini"
label = "Mini Agent"
checked_against = "0.1"
processes = ["mini"]
signatures = ['^Mini Agent v\\d', '^mini> ']
working = ['^\\* thinking']
[composer]
bottom = '^-{10,}$'
top = '^mini> '
first_prefix = '^mini> ?'
"""


def _cli(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DISPATCH_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "dashboard", *argv], env=env, capture_output=True, text=True,
                          timeout=60)  # fmt: skip


def test_every_builtin_profile_reads_back_from_its_own_description() -> None:
    """The files are the profiles: describing one and parsing that again gives the same markers."""
    for profile in builtin().profiles:
        data = describe(profile)
        raw = {k: v for k, v in data.items() if k != "source" and v is not None}
        raw["composer"] = {k: v for k, v in data["composer"].items() if v is not None}  # type: ignore[union-attr]
        again = parse_profile(raw, "round trip")
        assert describe(again) == data


def test_the_shipped_captures_pass_agents_test() -> None:
    """`dispatch agents test` over the real captures and their expectations: our profiles, in CI."""
    done = _cli(Path(os.environ["DISPATCH_HOME"]), "agents", "test", str(CAPTURES), "--json")
    summary = json.loads(done.stdout.splitlines()[-1])
    assert done.returncode == 0 and summary["failed"] == 0 and summary["screens"] >= 50, done.stdout[-2000:]


def test_a_wrong_expectation_fails_and_says_which(tmp_path: Path) -> None:
    shots = tmp_path / "shots"
    shots.mkdir()
    (shots / "idle.txt").write_text((CAPTURES / "claude" / "idle.txt").read_text())
    (shots / "idle.expect.toml").write_text('agent = "claude"\nstate = "working"\n')
    (shots / "extra.txt").write_text("nothing to see\n")
    done = _cli(tmp_path, "agents", "test", str(shots))
    assert done.returncode == 1
    assert "state: expected 'working', got 'idle'" in done.stdout and "without NAME.expect.toml" in done.stdout


def test_a_user_profile_is_added_and_overrides_by_name(tmp_path: Path) -> None:
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents" / "mini.toml").write_text(MINI)
    (tmp_path / "config.toml").write_text('[agents.claude]\nlabel = "Claude (ours)"\nprocesses = ["claude"]\n'
                                          "signatures = ['Claude Code v\\\\d']\n[agents.claude.composer]\n"
                                          "bottom = '^─{20,}$'\ntop = '^❯'\n")  # fmt: skip
    done = _cli(tmp_path, "agents", "list", "--json")
    rows = {r["name"]: r for r in json.loads(done.stdout)}
    assert done.returncode == 0, done.stderr
    assert rows["mini"]["source"].endswith("agents/mini.toml") and rows["mini"]["checked_against"] == "0.1"
    assert rows["claude"]["label"] == "Claude (ours)" and "[agents.claude]" in rows["claude"]["source"]
    assert rows["codex"]["source"].startswith("built-in")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (MINI.replace("working", "workng"), "mini.toml: profile 'mini': workng: unknown field"),
        (MINI.replace("'^\\* thinking'", "'^(unclosed'"), "mini.toml: profile 'mini': working: bad regular expression"),
        (MINI.replace("[composer]\nbottom = '^-{10,}$'\n", "[composer]\n"), "composer: needs `bottom`"),
        ("name = 'mini'\n[composer\n", "mini.toml: not valid TOML"),
        (MINI.replace('name = "mini"', 'name = "Mini Agent!"'), "name: a lower-case name is required"),
    ],
)
def test_a_bad_profile_is_exit_6_naming_file_profile_and_field(tmp_path: Path, text: str, says: str) -> None:
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents" / "mini.toml").write_text(text)
    done = _cli(tmp_path, "agents", "list")
    assert done.returncode == 6 and says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_parse_profile_refuses_what_it_cannot_use() -> None:
    with pytest.raises(AgentProfileError, match="composer: a \\[composer\\] table is required"):
        parse_profile({"name": "x"}, "inline")
