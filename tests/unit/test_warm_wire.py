"""The warm client's own JSON (no json package on its path) reads and writes exactly what json does."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.cli import warm

_text = st.text(
    st.characters(exclude_categories=[]), max_size=60
)  # any code point, lone surrogates (undecodable argv) too


@settings(max_examples=300, deadline=None)
@given(
    argv=st.lists(_text, max_size=6),
    cwd=_text,
    tty=st.booleans(),
    key=st.dictionaries(_text, _text, max_size=5),
)
def test_a_request_is_written_as_json_dumps_writes_it(
    argv: list[str], cwd: str, tty: bool, key: dict[str, str]
) -> None:
    request = {"argv": argv, "cwd": cwd, "tty": tty, "key": key}
    assert warm._json_text(request) == json.dumps(request)


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(["out", "err", "decline", "run", "exit"]), value=st.one_of(_text, st.integers()))
def test_a_server_line_is_read_as_json_loads_reads_it(kind: str, value: str | int) -> None:
    line = json.dumps({kind: value})
    assert dict([warm._message(line)]) == json.loads(line)


def test_a_line_that_is_not_the_servers_is_a_value_error() -> None:
    for line in ("", "nonsense", '{"exit": x}', '{"out": "unterminated'):
        try:
            warm._message(line)
        except ValueError:
            continue
        raise AssertionError(f"{line!r} was read")
