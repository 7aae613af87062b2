"""Bad input to the real CLI (`python -m dashboard` in a subprocess): one line, the right exit code, nothing sent.

Every case names the stage that failed (stdin, an argument, the config file, an option, the target's
machine) and leaves the log empty. Cases of one test run as concurrent subprocesses, so the file stays
fast although each process pays Python's start-up.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from dashboard.cli.args import send_options
from dashboard.cli.parser import build_parser
from dashboard.core.model import PaneState
from tests.integration.conftest import ROOT, Bench

SETTINGS = (
    "DISPATCH_DELAY_FLOOR_MS",
    "DISPATCH_DELAY_CEIL_MS",
    "DISPATCH_MS_PER_WORD",
    "DISPATCH_MS_PER_CHAR",
    "DISPATCH_ENTER_DELAY_MS",
    "DISPATCH_DB_BUSY_MS",
)


@dataclass
class Done:
    argv: list[str | bytes]
    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"{self.argv!r} → {self.code}\nstdout: {self.out}\nstderr: {self.err}"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def _start(
    argv: list[str | bytes], *, env: dict[str, str] | None = None, stdin: object = subprocess.DEVNULL, shell: str = ""
) -> subprocess.Popen[bytes]:
    """`python -m dashboard ARGV`; `shell` wraps it in `sh -c` for redirections Popen cannot express (`<&-`)."""
    cmd: list[str | bytes] = [sys.executable, "-m", "dashboard", *argv]
    if shell:
        cmd = ["sh", "-c", f'exec "$@" {shell}', "sh", *cmd]
    return subprocess.Popen(
        cmd,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env or _env(),  # type: ignore[arg-type]
    )


def _finish(argv: list[str | bytes], proc: subprocess.Popen[bytes]) -> Done:
    out, err = proc.communicate(timeout=60)
    return Done(argv, proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))


def run_all(cases: list[tuple[list[str | bytes], dict[str, object]]]) -> list[Done]:
    """Run every case at once (each: argv, keyword arguments of `_start`); results in order."""
    procs = [(argv, _start(argv, **kw)) for argv, kw in cases]  # type: ignore[arg-type]
    return [_finish(argv, p) for argv, p in procs]


def run(*argv: str | bytes, **kw: object) -> Done:
    return run_all([(list(argv), kw)])[0]


def assert_one_line(done: Done, code: int, *says: str) -> str:
    """Exit `code`, nothing on stdout, exactly one `dispatch: error:` line on stderr containing each of `says`."""
    assert done.code == code, done
    assert "Traceback" not in done.err and done.out == "", done
    lines = done.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dispatch: error: "), done
    for part in says:
        assert part in lines[0], done
    return lines[0]


def assert_usage(done: Done, *says: str) -> str:
    """An argparse error: its usage line(s), then one error line, exit 2."""
    assert done.code == 2 and "Traceback" not in done.err and done.out == "", done
    assert done.err.startswith("usage: dispatch"), done
    last = done.err.splitlines()[-1]
    assert last.startswith("dispatch: error: "), done
    for part in says:
        assert part in last, done
    return last


def logged() -> list[dict[str, object]]:
    done = run("log", "--json", "-n", "100")
    assert done.code == 0, done
    rows: list[dict[str, object]] = json.loads(done.out)
    return rows


@pytest.fixture
def sock() -> str:
    """A private tmux socket name no server listens on: every case here must fail before tmux is asked.

    The log is created first: concurrent first opens of a new database race on its schema (see the report).
    """
    assert logged() == []
    return f"dispatch-input-{uuid.uuid4().hex[:10]}"


async def test_unreadable_stdin_and_bad_options_never_reach_the_agent(bench: Bench, tmp_path: Path) -> None:
    """A real idle agent as the target: every bad input is refused before it, and it receives nothing."""
    agent = bench.agent("a")
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    sock = bench.server.socket_name or ""
    send = ["-L", sock, "send", agent.pane_id]
    assert logged() == []  # creates the log, so the concurrent cases below do not race to create it
    write_only = (tmp_path / "write-only").open("wb")
    zeros = Path("/dev/zero").open("rb")  # noqa: SIM115
    bad = tmp_path / "bad.md"
    bad.write_bytes(b"fine so far \xc3\x28 then not")
    env_floor = _env(DISPATCH_DELAY_FLOOR_MS="5000")
    cases: list[tuple[list[str | bytes], dict[str, object]]] = [
        ([*send, "-f", "-"], {"shell": "<&-"}),  # stdin closed
        ([*send, "-f", "-"], {"stdin": write_only}),  # stdin open, but not for reading
        ([*send, "-f", "-"], {"stdin": zeros}),  # endless stdin: not read to the end
        ([*send, "-f", "/dev/zero"], {}),
        ([*send, "-f", str(bad)], {}),
        ([*send, "-f", str(tmp_path)], {}),  # a directory
        ([*send, b"\xff\xfe"], {}),  # argv bytes that are not UTF-8
        ([*send, "hi", "--queue", "--when-idle"], {}),
        ([*send, "hi"], {"env": env_floor}),
        ([*send, "hi", "--delay-ms", "60001"], {}),
        ([*send, "hi", "--lease-timeout", "-1"], {}),
        ([*send, "hi"], {"env": _env(DISPATCH_DB_BUSY_MS="-1")}),
    ]
    try:
        results = run_all(cases)
    finally:
        write_only.close()
        zeros.close()
    assert_one_line(results[0], 2, "cannot read the prompt from stdin: stdin is closed; nothing was sent")
    assert_one_line(results[1], 2, "cannot read the prompt from stdin: Bad file descriptor; nothing was sent")
    assert_one_line(results[2], 2, "the prompt on stdin is over 1,048,576 bytes", "nothing was sent")
    assert_one_line(results[3], 2, "prompt file /dev/zero is over 1,048,576 bytes")
    assert_one_line(results[4], 2, f"prompt file {bad} is not UTF-8 text (byte 12)")
    assert_one_line(results[5], 2, f"cannot read prompt file {tmp_path}: Is a directory")
    assert_one_line(results[6], 2, "the prompt is not valid UTF-8 (byte 0 of the argument)")
    assert_one_line(results[7], 2, "--queue and --when-idle")
    assert_one_line(results[8], 2, "floor 5000 ms (DISPATCH_DELAY_FLOOR_MS) is above the ceiling 4000 ms (default)")
    assert_one_line(results[9], 2, "--delay-ms=60001 is above the 60000 ms maximum")
    assert_one_line(results[10], 2, "--lease-timeout -1")
    assert_one_line(results[11], 2, "DISPATCH_DB_BUSY_MS='-1'")
    assert logged() == []
    # the limits themselves are accepted (--max-bytes 1 then refuses the prompt, before the pane is touched)
    ok = run(
        *send, "within the limits", "--json", "--delay-ms", "60000", "--retries", "10", "--verify-ms", "600000",
        "--timeout", "86400", "--lease-timeout", "600", "--max-bytes", "1", env=_env(DISPATCH_DB_BUSY_MS="600000"),
    )  # fmt: skip
    assert ok.code == 3 and "too-large" in json.loads(ok.out)["evidence"][0], ok
    ok = run(*send, "within the limits", "--json", "--lease-timeout", "0", env=_env(DISPATCH_DB_BUSY_MS="0"))
    assert ok.code == 0 and json.loads(ok.out)["verdict"] == "submitted", ok
    assert agent.received() == ["within the limits"]


def test_option_ranges_and_conflicts(sock: str) -> None:
    send = ["-L", sock, "send", "%1", "hi"]
    cases: list[tuple[list[str], dict[str, str], str]] = [
        (
            ["--delay-floor-ms", "900", "--delay-ceil-ms", "800"],
            {},
            "floor 900 ms (--delay-floor-ms) is above the ceiling 800 ms (--delay-ceil-ms)",
        ),
        (
            [],
            {"DISPATCH_DELAY_CEIL_MS": "100"},
            "floor 150 ms (default) is above the ceiling 100 ms (DISPATCH_DELAY_CEIL_MS)",
        ),
        (["--delay-ceil-ms", "90"], {"DISPATCH_DELAY_FLOOR_MS": "100"}, "(DISPATCH_DELAY_FLOOR_MS) is above"),
        ([], {"DISPATCH_ENTER_DELAY_MS": "90000"}, "DISPATCH_ENTER_DELAY_MS=90000 is above the 60000 ms maximum"),
        (["--delay-ms", "inf"], {}, "--delay-ms=inf must be a finite non-negative number"),
        (["--delay-floor-ms", "60001", "--delay-ceil-ms", "60001"], {}, "--delay-floor-ms=60001 is above"),
        (["--delay-ceil-ms", "70000"], {}, "--delay-ceil-ms=70000 is above the 60000 ms maximum"),
        (["--ms-per-word", "nan"], {}, "--ms-per-word=nan must be a finite"),
        ([], {"DISPATCH_DB_BUSY_MS": "1.5"}, "DISPATCH_DB_BUSY_MS='1.5': expected whole milliseconds"),
        ([], {"DISPATCH_DB_BUSY_MS": "abc"}, "DISPATCH_DB_BUSY_MS='abc'"),
        ([], {"DISPATCH_DB_BUSY_MS": "99999999999"}, "from 0 to 600000"),
        (["--timeout", "-1"], {}, "--timeout -1: expected from 0 to 86400 seconds"),
        (["--timeout", "nan"], {}, "--timeout nan"),
        (["--verify-ms", "-1"], {}, "--verify-ms -1"),
        (["--verify-ms", "99999999"], {}, "--verify-ms 99999999: expected from 0 to 600000 ms"),
        (["--retries", "-1"], {}, "--retries -1"),
        (["--retries", "11"], {}, "--retries 11: expected from 0 to 10"),
        (["--max-bytes", "0"], {}, "--max-bytes 0: expected at least 1"),
        (["--lease-timeout", "601"], {}, "--lease-timeout 601: expected from 0 to 600 seconds"),
        (["--lease-timeout", "nan"], {}, "--lease-timeout nan"),
    ]
    results = run_all([([*send, *argv], {"env": _env(**env)}) for argv, env, _ in cases])
    for done, (_, _, says) in zip(results, cases, strict=True):
        assert_one_line(done, 2, says)
    # the other commands with numeric options
    batch = ["-L", sock, "batch", "%1", "-m", "hi"]
    others: list[tuple[list[str], str]] = [
        ([*batch, "--queue", "--when-idle"], "--queue and --when-idle"),
        ([*batch, "--lease-timeout", "-5"], "--lease-timeout -5"),
        ([*batch, "--delay-floor-ms", "5000"], "is above the ceiling"),
        (["-L", sock, "exec", "--timeout", "0", "%1", "--", "true"], "--timeout 0: expected more than 0"),
        (["-L", sock, "exec", "--timeout", "nan", "%1", "--", "true"], "--timeout nan"),
        (["-L", sock, "canary", "%1", "--timeout", "-1"], "--timeout -1"),
        (["-L", sock, "canary", "%1", "--lease-timeout", "700"], "--lease-timeout 700"),
        (["schedule", "add", "s", "--target", "%1", "--every", "5m", "hi", "--fail-after", "0"], "--fail-after 0"),
        (["schedule", "add", "s", "--target", "%1", "--every", "5m", "hi", "--fail-after", str(10**20)],
         "--fail-after 100000000000000000000: expected from 1 to 1000"),
        (["schedule", "add", "s", "--target", "%1", "--every", "5m", "hi", "--expect-timeout", "nan"],
         "--expect-timeout nan"),
        (["evidence", f"b{10**20}"], f"no batch {10**20} in the log"),
        (["-L", sock, "ui", "--interval", "0"], "--interval 0: expected from 0.05 to 3600 seconds"),
    ]  # fmt: skip
    for done, (_, says) in zip(run_all([(argv, {}) for argv, _ in others]), others, strict=True):
        assert_one_line(done, 2, says)
    # numbers SQLite cannot hold, or that cannot be a send: argparse's usage line, then one error line
    huge = str(10**20)
    for done in run_all([(["show", huge], {}), (["log", "-n", "0"], {}), (["log", "--batch", huge], {}),
                         (["-L", sock, "resend", huge], {})]):  # fmt: skip
        assert_usage(done, "expected a number from 1 to 9223372036854775807")
    assert logged() == []
    assert json.loads(run("schedule", "list", "--json").out) == []


def test_arguments_that_are_not_utf8(sock: str, tmp_path: Path) -> None:
    """argv bytes that are not UTF-8: named by argument and byte offset, never blamed on the database."""
    cases: list[tuple[list[str | bytes], str]] = [
        (["-L", sock, "send", "%1", b"\xff\xfe"], "the prompt is not valid UTF-8 (byte 0 of the argument)"),
        (["-L", sock, "send", "%1", "café ok ".encode() + b"\xff"], "the prompt is not valid UTF-8 (byte 9 of"),
        (["-L", sock, "batch", "%1", "%2", "-m", b"ok\xff"], "the prompt is not valid UTF-8 (byte 2 of the argument)"),
        (["-L", sock, "batch", "%1", b"w\xff:0.0", "-m", "hi"], "the target is not valid UTF-8 (byte 1 of argument 2)"),
        (["-L", sock, "send", b"\xfe", "hi"], "the target is not valid UTF-8 (byte 0 of the argument)"),
        (["-L", sock, "exec", "%1", "--", "echo", b"a\xff"], "the command is not valid UTF-8 (byte 1 of word 2)"),
        (["-L", sock, "canary", "%1", "--expect", b"\xff", "--prompt", "say it"], "--expect is not valid UTF-8"),
        (["schedule", "add", "s", "--target", "%1", "--every", "5m", b"x\xff"], "the prompt is not valid UTF-8"),
        (["log", "--machine", b"\xff"], "--machine is not valid UTF-8 (byte 0 of the argument)"),
    ]  # fmt: skip
    for done, (_, says) in zip(run_all([(argv, {}) for argv, _ in cases]), cases, strict=True):
        assert_one_line(done, 2, says)
    # a path may hold any bytes: a missing non-UTF-8 file name is a missing file, not an encoding error
    missing = os.fsencode(tmp_path) + b"/p\xff.md"
    done = run("-L", sock, "send", "%1", "-f", missing)
    assert "cannot read prompt file" in assert_one_line(done, 2, "No such file or directory")
    assert logged() == []


def test_unknown_machine_in_a_target_is_a_usage_error(sock: str) -> None:
    """README: an unknown machine is a usage error, nothing recorded; the known machines are listed."""
    home = Path(os.environ["DISPATCH_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('[machines.gpu1]\naddress = "192.0.2.1"\n')
    known = "(known: local, gpu1)"
    nosuch = f"unknown machine 'nosuch' in target 'nosuch:%1' {known}"
    cases: list[tuple[list[str], str]] = [
        (["-L", sock, "send", "nosuch:%1", "hi"], nosuch),
        (["-L", sock, "send", "nosuch:w:0.0", "hi"], f"unknown machine 'nosuch' in target 'nosuch:w:0.0' {known}"),
        (["-L", sock, "send", "gpu1:", "hi"], "names a machine but no pane"),
        (["-L", sock, "batch", "%1", "nosuch:%1", "-m", "hi"], nosuch),
        (["-L", sock, "batch", "--spread", "1", "nosuch:%3", "-m", "hi"], "unknown machine 'nosuch'"),
        (["-L", sock, "exec", "nosuch:%1", "--", "true"], nosuch),
        (["-L", sock, "exec", "--dry-run", "nosuch:w:0.0", "--", "true"], "unknown machine 'nosuch'"),
        (["-L", sock, "canary", "nosuch:%1"], nosuch),
        (["schedule", "add", "s", "--target", "nosuch:%1", "--every", "5m", "hi"], "no schedule was added"),
        (["schedule", "add", "s", "--target", "nosuch:w:0.0", "--every", "5m", "hi"], known),
    ]  # fmt: skip
    for done, (_, says) in zip(run_all([(argv, {}) for argv, _ in cases]), cases, strict=True):
        assert_one_line(done, 2, says)
    assert logged() == []
    assert json.loads(run("schedule", "list", "--json").out) == []


def test_config_file_that_cannot_be_read_is_exit_6_naming_it(sock: str, tmp_path: Path) -> None:
    home = Path(os.environ["DISPATCH_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    config = home / "config.toml"
    latin1 = b'[machines.gpu1]\naddress = "caf\xe9"\n'  # latin-1, not UTF-8
    config.write_bytes(latin1)
    send = ["-L", sock, "send", "%1", "hi"]
    commands: list[list[str]] = [
        send,
        ["fleet", "list"],
        ["fleet", "remove", "gpu1"],
        ["panes"],
        ["-L", sock, "exec", "%1", "--", "true"],
        ["schedule", "add", "s", "--target", "%1", "--every", "5m", "x"],
    ]
    at = latin1.index(b"\xe9")
    for done in run_all([(argv, {}) for argv in commands]):
        assert_one_line(done, 6, f"{config}: not UTF-8 text (byte {at})")
    assert config.read_bytes() == latin1  # fleet remove did not rewrite it
    config.write_text("[machines.gpu1\n")
    assert_one_line(run(*send), 6, f"{config}: not valid TOML")
    config.unlink()
    config.mkdir()
    for done in run_all([(send, {}), (["fleet", "remove", "gpu1"], {})]):
        assert_one_line(done, 6, f"{config}: cannot read (Is a directory)")
    config.rmdir()
    # DISPATCH_HOME is a file: the config file under it cannot exist
    not_dir = tmp_path / "plain-file"
    not_dir.write_text("")
    done = run(*send, env=_env(DISPATCH_HOME=str(not_dir)))
    assert_one_line(done, 6, f"{not_dir / 'config.toml'}: cannot read (Not a directory)")
    if os.geteuid() != 0:  # root reads a mode-000 file anyway
        config.write_text('[machines.gpu1]\naddress = "x"\n')
        config.chmod(0)
        try:
            assert_one_line(run(*send), 6, f"{config}: cannot read (Permission denied)")
        finally:
            config.chmod(0o600)
    assert logged() == []


def test_a_stray_value_error_is_an_internal_error_not_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only real usage errors exit 2; a ValueError from a bug says so in one line and exits 1."""
    import dashboard.cli as cli
    import dashboard.cli.commands.log as log

    async def broken(args: object) -> int:
        raise ValueError("bad\nthing")

    monkeypatch.setattr(log, "cmd_log", broken)
    assert cli.main(["log"]) == 1
    err = capsys.readouterr().err
    assert err == "dispatch: internal error: ValueError: bad thing\n"


def test_lease_timeout_reaches_the_send_options() -> None:
    parser = build_parser()
    assert send_options(parser.parse_args(["send", "%1", "x"])).lease_timeout == 5.0
    assert send_options(parser.parse_args(["send", "%1", "x", "--lease-timeout", "0"])).lease_timeout == 0.0
    assert send_options(parser.parse_args(["batch", "%1", "-m", "x", "--lease-timeout", "2.5"])).lease_timeout == 2.5


LINES = [
    ["send", "%1", "hi", "--json"],
    ["-L", "sock", "send", "a:0.0", "-f", "p.txt", "--delay-ms", "200"],
    ["-S", "/tmp/s", "-L", "send", "batch", "%1", "%2", "-m", "x", "--spread", "2"],
    ["-L", "exec", "exec", "sh:0.0", "--wait", "--", "make", "-j", "test"],
    ["schedule", "add", "n", "--target", "a:0.0", "--every", "5m", "hi"],
    ["fleet", "add", "gpu1", "gpu1.lan", "--port", "2222"],
    ["log", "-n", "5", "--batch", "b7"],
    ["send"],
    ["send", "%1", "hi", "--bogus"],
    ["send", "%1", "hi", "--retries", "many"],
    ["send", "--help"],
    ["sned", "%1"],
    ["--help", "send"],
    ["--version", "send"],
    ["-L", "--help", "send"],
    ["-Lsock", "send", "%1", "hi"],
    ["-L", "sock"],
    [],
]


@pytest.mark.parametrize("argv", LINES, ids=[" ".join(a) or "(none)" for a in LINES])
def test_a_line_parses_the_same_with_its_command_alone(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """cli/run.py builds only the command's grammar when that cannot change the result: same args, same errors."""
    from dashboard.cli.run import parse

    def outcome(parser: argparse.ArgumentParser | None) -> tuple[object, str, str]:
        try:
            result: object = vars(parse(argv, parser))
        except SystemExit as stop:
            result = ("exit", stop.code)
        out, err = capsys.readouterr()
        return result, out, err

    assert outcome(None) == outcome(build_parser())


def test_unusable_state_directory_is_one_line(tmp_path: Path) -> None:
    """DISPATCH_HOME that is a plain file: the daemon commands and the log say which path, no traceback."""
    home = tmp_path / "plain-file"
    home.write_text("")
    env = _env(DISPATCH_HOME=str(home))
    cases: list[tuple[list[str | bytes], dict[str, object]]] = [
        (["daemon", "status"], {"env": env}),
        (["daemon", "start"], {"env": env}),
        (["daemon", "run"], {"env": env}),
        (["log"], {"env": env}),
    ]
    status, start, run_, log = run_all(cases)
    assert_one_line(status, 1, f"{home / 'daemon.pid'}: Not a directory")
    assert_one_line(start, 1, str(home))
    assert_one_line(run_, 1, str(home))
    assert_one_line(log, 1, "the log database cannot be used")
