from __future__ import annotations

import itertools

import pytest

from dashboard.core.agents import known
from dashboard.core.guard import check_prompt, check_target, normalise_prompt
from dashboard.core.model import Classification, PaneInfo, PaneState
from dashboard.core.timing import MAX_DELAY_MS, DelayPolicy, TimingError, look_waits


def test_delay_formula_and_clamps() -> None:
    p = DelayPolicy()
    assert p.delay_ms("hi") == 150  # floor
    words = " ".join(["word"] * 100)  # 100 words, 499 chars: 900 + 299.4
    assert p.delay_ms(words) == round(900 + 0.6 * len(words))
    assert p.delay_ms("x " * 10_000) == 4000  # ceiling


def test_env_then_flags_win() -> None:
    env = {"DISPATCH_DELAY_FLOOR_MS": "300", "DISPATCH_MS_PER_WORD": "20", "DISPATCH_ENTER_DELAY_MS": ""}
    p = DelayPolicy().overridden(env)
    assert (p.floor_ms, p.ms_per_word, p.fixed_ms) == (300, 20, None)
    assert p.delay_ms("a") == 300
    q = DelayPolicy().overridden(env, floor_ms=50.0, fixed_ms=None)
    assert q.floor_ms == 50 and q.ms_per_word == 20
    assert DelayPolicy().overridden({"DISPATCH_ENTER_DELAY_MS": "777"}).delay_ms("x " * 5000) == 777
    assert DelayPolicy().overridden({"DISPATCH_ENTER_DELAY_MS": "777"}, fixed_ms=12).delay_ms("x") == 12


@pytest.mark.parametrize("bad", ["abc", "-5", "nan"])
def test_bad_timing_values_are_clear_errors(bad: str) -> None:
    with pytest.raises(TimingError, match="DISPATCH_DELAY_CEIL_MS"):
        DelayPolicy().overridden({"DISPATCH_DELAY_CEIL_MS": bad})


def test_prompt_checks() -> None:
    assert check_prompt("   \n ") is not None
    nul = check_prompt("a\x00b")
    assert nul is not None and nul.code == "nul-byte"
    esc = check_prompt("hi \x1b[201~ then")
    assert esc is not None and esc.code == "control-char"
    big = check_prompt("x" * (1 << 20))
    assert big is not None and big.code == "too-large" and "1,048,576" in big.reason
    assert check_prompt("fine\n\twith tabs") is None
    assert normalise_prompt("a\r\nb\rc\n\n") == "a\nb\nc"


def _pane(**kw: object) -> PaneInfo:
    return PaneInfo("%3", "w", 1, 0, command=str(kw.pop("command", "claude")), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("state", "composer", "code"),
    [
        (PaneState.SHELL, None, "shell"),
        (PaneState.DIALOG, "", "dialog"),
        (PaneState.STUCK, "half typed thought", "composer-busy"),
        (PaneState.WORKING, "", "busy"),
        (PaneState.RATE_LIMITED, "", "rate-limited"),
        (PaneState.UNKNOWN, None, "no-composer"),
    ],
)
def test_guard_refusals(state: PaneState, composer: str | None, code: str) -> None:
    cls = Classification("claude", state, composer)
    refusal = check_target(_pane(), cls, known()["claude"], "do the thing")
    assert refusal is not None and refusal.code == code


def test_guard_shows_operator_text() -> None:
    cls = Classification("claude", PaneState.STUCK, "my unfinished note")
    refusal = check_target(_pane(), cls, known()["claude"], "x")
    assert refusal is not None and "my unfinished note" in refusal.reason


def test_guard_dead_copy_mode_unknown() -> None:
    idle = Classification("claude", PaneState.IDLE, "")
    dead = check_target(_pane(dead=True, dead_status=1), idle, known()["claude"], "x")
    assert dead is not None and dead.code == "dead"
    mode = check_target(_pane(in_mode=True), idle, known()["claude"], "x")
    assert mode is not None and mode.code == "copy-mode"
    unknown = check_target(_pane(command="vim"), Classification(None, PaneState.UNKNOWN), None, "x")
    assert unknown is not None and unknown.code == "unknown"


@pytest.mark.parametrize("prompt", ["/clear", "@file.py fix", "!rm -rf x", "#remember this", "  /model"])
def test_picker_characters_need_raw(prompt: str) -> None:
    idle = Classification("claude", PaneState.IDLE, "")
    refusal = check_target(_pane(), idle, known()["claude"], prompt)
    assert refusal is not None and refusal.code == "picker"
    assert check_target(_pane(), idle, known()["claude"], prompt, raw=True) is None


def test_ready_composer_passes_and_busy_can_queue() -> None:
    assert check_target(_pane(), Classification("claude", PaneState.IDLE, ""), known()["claude"], "go") is None
    working = Classification("claude", PaneState.WORKING, "")
    assert check_target(_pane(), working, known()["claude"], "go", allow_busy=True) is None


@pytest.mark.parametrize("bad", ["inf", "-inf", "1e400"])
def test_infinite_timing_values_are_refused(bad: str) -> None:
    with pytest.raises(TimingError, match="finite"):
        DelayPolicy().overridden({"DISPATCH_ENTER_DELAY_MS": bad})
    with pytest.raises(TimingError, match="--ms-per-word"):
        DelayPolicy().overridden({}, ms_per_word=float(bad))


def test_combined_policy_is_checked_naming_each_source() -> None:
    # the floor from the environment against the default ceiling
    with pytest.raises(
        TimingError, match=r"floor 5000 ms \(DISPATCH_DELAY_FLOOR_MS\) is above the ceiling 4000 ms \(default\)"
    ):
        DelayPolicy().overridden({"DISPATCH_DELAY_FLOOR_MS": "5000"})
    # a flag against the environment: the flag's value is the one in force
    with pytest.raises(
        TimingError, match=r"floor 300 ms \(DISPATCH_DELAY_FLOOR_MS\).*ceiling 200 ms \(--delay-ceil-ms\)"
    ):
        DelayPolicy().overridden({"DISPATCH_DELAY_FLOOR_MS": "300"}, ceil_ms=200.0)
    # a flag can repair what the environment got wrong
    p = DelayPolicy().overridden({"DISPATCH_DELAY_FLOOR_MS": "5000"}, ceil_ms=6000.0)
    assert (p.floor_ms, p.ceil_ms) == (5000, 6000) and p.delay_ms("x") == 5000
    assert DelayPolicy().overridden({}, floor_ms=700.0, ceil_ms=700.0).delay_ms("x " * 9999) == 700  # equal is fine


def test_delays_above_a_minute_are_refused() -> None:
    assert MAX_DELAY_MS == 60_000
    assert DelayPolicy().overridden({}, fixed_ms=60_000.0).delay_ms("x") == 60_000  # the maximum itself is allowed
    for env, flags, name in (
        ({"DISPATCH_ENTER_DELAY_MS": "60001"}, {}, "DISPATCH_ENTER_DELAY_MS=60001"),
        ({}, {"fixed_ms": 90_000.0}, "--delay-ms=90000"),
        ({}, {"floor_ms": 61_000.0, "ceil_ms": 61_000.0}, "--delay-floor-ms=61000"),
        ({"DISPATCH_DELAY_CEIL_MS": "120000"}, {}, "DISPATCH_DELAY_CEIL_MS=120000"),
    ):
        with pytest.raises(TimingError, match=f"{name} is above the 60000 ms maximum"):
            DelayPolicy().overridden(env, **flags)
    # a policy built by hand is checked on request, named by attribute
    with pytest.raises(TimingError, match="fixed_ms=70000"):
        DelayPolicy(fixed_ms=70_000).check()
    DelayPolicy().check()


def test_foreground_job_tells_a_script_from_an_interactive_shell() -> None:
    from dashboard.core.guard import foreground_job

    for idle in (None, "", "-bash", "bash", "sh", "zsh -l", "bash --rcfile /tmp/rc/x.rc -i", "bash -o vi -i"):
        assert foreground_job(idle) is None, idle
    for busy in ("bash script.sh", "bash -c 'read x'", "sh -ec 'sleep 9'", "bash --rcfile rc deploy.sh"):
        assert foreground_job(busy) == busy[:60], busy


def test_an_owner_out_of_sight_is_not_taken_for_dead() -> None:
    from dashboard.adapters.process import owner, owner_alive
    from dashboard.core.model import Owner

    me = owner()
    assert owner_alive(me) is True
    assert owner_alive(Owner(me.host, 999_999_999, None, me.machine, me.boot, me.pidns)) is False  # gone
    assert owner_alive(Owner(me.host, me.pid, me.start, me.machine, me.boot, "pid:[1]")) is None  # a container
    assert owner_alive(Owner(me.host, me.pid, me.start, "another-machine-id", me.boot, me.pidns)) is None
    assert owner_alive(Owner(me.host, me.pid, me.start, me.machine, "another-boot", me.pidns)) is False  # rebooted


def test_looks_for_a_reaction_start_soon_and_spread_out_to_the_poll_interval() -> None:
    waits = list(itertools.islice(look_waits(0.04), 12))
    assert waits[0] <= 0.005  # a redraw a few milliseconds after the key is seen at once
    assert waits == sorted(waits) and waits[-1] == 0.04  # then never closer together, never beyond the cap
    assert sum(1 for w in waits if w < 0.04) <= 6  # a slow agent costs only a few extra looks
