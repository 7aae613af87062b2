"""The fleet over real OpenSSH: sends land on the right machine, or are refused with the reason.

Every delivery verdict is checked against what the fake agent on that machine says it received.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from dashboard.adapters.config import load_registry
from dashboard.adapters.store import Store
from dashboard.adapters.tmux import LocalTmux
from dashboard.core.model import Verdict
from dashboard.core.ports import HostError
from dashboard.services.batch import run_batch
from dashboard.services.delivery import SendEvent
from dashboard.services.fleet import Fleet
from dashboard.services.send import SendOptions
from tests.remote.conftest import Fleet3, run_cli

ROUNDS_SSH = 200


def test_send_and_batch_across_three_machines(fleet3: Fleet3) -> None:
    m1, m2, m3 = fleet3.machines
    a1 = fleet3.agent(m1, "a", style="claude")
    a2 = fleet3.agent(m2, "a", style="codex")
    a3 = fleet3.agent(m3, "a", style="gemini")
    shell = fleet3.shell(m2, "sh")
    fleet3.wait_ready(a1, a2, a3)

    code, [rec], _ = run_cli("send", a1.target, "summarise the failing tests", "--json")
    assert (code, rec["verdict"], rec["machine"], rec["target"]) == (0, "submitted", "m1", "m1:a:0.0")
    assert a1.received() == ["summarise the failing tests"]

    for agent in (a1, a2, a3):  # the first prompt's turn must be over before the batch
        fleet3.wait_ready(agent)
    time.sleep(1.2)
    code, rows, _ = run_cli("batch", a1.target, a2.target, a3.target, shell, "-m", "one prompt, three boxes", "--json")
    by_target = {r["target"]: r for r in rows if not r.get("summary")}
    assert {t: r["verdict"] for t, r in by_target.items()} == {
        "m1:a:0.0": "submitted",
        "m2:a:0.0": "submitted",
        "m3:a:0.0": "submitted",
        "m2:sh:0.0": "refused",
    }
    assert code == 3  # one refusal (the shell) makes the batch not fully delivered
    assert {r["machine"] for r in by_target.values()} == {"m1", "m2", "m3"}
    assert "shell" in by_target["m2:sh:0.0"]["reason"]
    assert a1.received() == ["summarise the failing tests", "one prompt, three boxes"]
    assert a2.received() == ["one prompt, three boxes"]
    assert a3.received() == ["one prompt, three boxes"]
    assert "one prompt" not in fleet3.tmux(m2, "capture-pane", "-p", "-t", "sh:")

    code, logged, _ = run_cli("log", "--machine", "m2", "--json")
    assert code == 0 and sorted(r["target"] for r in logged) == ["m2:a:0.0", "m2:sh:0.0"]


def _refused_for_identity(fleet3: Fleet3, target: str, *expected: str) -> dict[str, object]:
    code, [rec], _ = run_cli("send", target, "must not arrive", "--json")
    assert code == 5, rec
    assert rec["verdict"] == "identity-mismatch"
    for text in expected:
        assert text in str(rec["reason"])
    return rec


def test_wrong_hostname_is_refused(fleet3: Fleet3) -> None:
    m1 = fleet3.machines[0]
    agent = fleet3.agent(m1, "a")
    fleet3.wait_ready(agent)
    fleet3.ns.set_hostname(m1, "impostor")
    try:
        _refused_for_identity(fleet3, agent.target, "hostname expected 'm1', got 'impostor'")
        code, [check], _ = run_cli("fleet", "check", "m1", "--json")
        assert code == 5 and not check["identity_ok"]
        assert check["identity"]["hostname"] == "impostor"
    finally:
        fleet3.ns.set_hostname(m1, "m1")
    assert agent.received() == []
    code, [rec], _ = run_cli("send", agent.target, "now it may", "--json")
    assert (code, rec["verdict"]) == (0, "submitted")
    assert agent.received() == ["now it may"]


def test_wrong_machine_id_is_refused(fleet3: Fleet3) -> None:
    m2 = fleet3.machines[1]
    agent = fleet3.agent(m2, "a")
    fleet3.wait_ready(agent)
    original = m2.machine_id()
    fleet3.ns.set_machine_id(m2, "f" * 32)
    try:
        _refused_for_identity(fleet3, agent.target, f"machine-id expected '{original}', got '{'f' * 32}'")
    finally:
        fleet3.ns.set_machine_id(m2, original)
    assert agent.received() == []


def test_changed_host_key_is_refused_whether_or_not_known_hosts_trusts_it(fleet3: Fleet3) -> None:
    m3 = fleet3.machines[2]
    agent = fleet3.agent(m3, "a")
    fleet3.wait_ready(agent)
    recorded = load_registry(fleet3.config()).get("m3").host_key
    # a new key nobody trusts: the SSH handshake itself is refused
    new = fleet3.ns.rekey(m3, trust=False)
    code, [rec], _ = run_cli("send", agent.target, "must not arrive", "--json")
    assert (code, rec["verdict"]) == (5, "unreachable")
    assert "not trusted" in str(rec["reason"]) and new in str(rec["reason"])
    # known_hosts now trusts the new key, but the registry recorded the old one: still refused
    newer = fleet3.ns.rekey(m3, trust=True)
    _refused_for_identity(fleet3, agent.target, f"host key expected '{recorded}', got '{newer}'")
    assert agent.received() == []
    # the operator re-records it on purpose, then sends work again
    code, _, _ = run_cli("fleet", "add", "m3", "m3", "--socket", fleet3.socket, "--replace", "--json")
    assert code == 0
    code, [rec], _ = run_cli("send", agent.target, "after re-recording", "--json")
    assert (code, rec["verdict"]) == (0, "submitted")


def test_unknown_host_key_needs_explicit_trust(fleet3: Fleet3) -> None:
    """Trust on first use: the key is shown, and only the key that was shown can be accepted."""
    m1 = fleet3.machines[0]
    empty = fleet3.home / "empty_known_hosts"
    empty.write_text("")
    config = fleet3.home / "ssh_config"
    config.write_text(fleet3.ns.ssh_config.read_text().replace(str(fleet3.ns.known_hosts), str(empty)))
    fleet3.config().write_text(f"[ssh]\nconfig = {json.dumps(str(config))}\n")
    fingerprint = m1.host_key_fingerprint()

    code, _, _ = run_cli("fleet", "add", "box", "m1", "--socket", fleet3.socket)
    assert code == 5
    assert "box" not in load_registry(fleet3.config()).machines
    code, _, _ = run_cli("fleet", "add", "box", "m1", "--accept-key", "SHA256:" + "A" * 43)
    assert code == 5
    code, [added], _ = run_cli(
        "fleet", "add", "box", "m1", "--socket", fleet3.socket, "--accept-key", fingerprint, "--json"
    )
    assert code == 0 and added["identity"]["host_key"] == fingerprint
    # known_hosts is still empty: the key recorded in the registry is what is trusted now
    agent = fleet3.agent(m1, "tofu")
    fleet3.wait_ready(agent)
    code, [rec], _ = run_cli("send", "box:tofu:0.0", "pinned", "--json")
    assert (code, rec["verdict"], rec["machine"]) == (0, "submitted", "box")
    assert agent.received() == ["pinned"]


def test_unreachable_machine_fails_fast_with_exit_5(fleet3: Fleet3, capsys: pytest.CaptureFixture[str]) -> None:
    subnet = fleet3.machines[0].address.split(".")[1]
    with fleet3.config().open("a") as f:
        f.write(
            f'\n[machines.ghost]\naddress = "10.{subnet}.1.99"\nconnect_timeout = 1.5\n'
            f'hostname = "ghost"\nmachine_id = "{"0" * 32}"\nhost_key = "SHA256:{"A" * 43}"\n'
        )
    started = time.monotonic()
    code, [rec], _ = run_cli("send", "ghost:a:0.0", "hello?", "--json")
    assert time.monotonic() - started < 5
    assert (code, rec["verdict"]) == (5, "unreachable")
    assert "ghost" in str(rec["reason"])
    code, rows, _ = run_cli("panes", "ghost", "--json")
    assert code == 5 and rows == [] and "ghost" in capsys.readouterr().err
    code, rows, _ = run_cli("send", "nowhere:a:0.0", "hello?", "--json")
    assert (code, rows) == (2, [])  # a usage error: nothing sent, nothing recorded
    assert "unknown machine 'nowhere'" in capsys.readouterr().err


async def test_machine_going_away_mid_batch(fleet3: Fleet3) -> None:
    """m3 vanishes between paste and Enter: its target fails, the others still land, all recorded."""
    m1, m2, m3 = fleet3.machines
    agents = [fleet3.agent(m, "a") for m in (m1, m2, m3)]
    fleet3.wait_ready(*agents)
    fleet = Fleet(LocalTmux(socket_name="unused"), load_registry(fleet3.config()))
    stopped = asyncio.Event()

    def on_event(ev: SendEvent) -> None:
        if ev.target.startswith("m3:") and ev.phase == "waiting" and not stopped.is_set():
            stopped.set()

    async def pull_the_plug() -> None:
        await stopped.wait()
        await asyncio.to_thread(fleet3.ns.stop, m3)

    opts = SendOptions(delay=SendOptions().delay.overridden({}, fixed_ms=1500))
    try:
        async with Store(fleet3.home / "dispatch.db") as store:
            plug = asyncio.ensure_future(pull_the_plug())
            recs = [
                r
                async for r in run_batch(fleet, store, [a.target for a in agents], "the plug", opts, on_event=on_event)
            ]
            await plug
            logged = await store.recent(10, batch=recs[0].batch)
            lost = await store.get(next(r.id for r in logged if r.machine == "m3") or 0)
    finally:
        await fleet.close()
        await asyncio.to_thread(fleet3.ns.start, m3)
    verdicts = {r.target: r.verdict for r in recs}
    assert verdicts["m1:a:0.0"] is Verdict.SUBMITTED and verdicts["m2:a:0.0"] is Verdict.SUBMITTED
    assert verdicts["m3:a:0.0"] is Verdict.UNREACHABLE
    assert agents[0].received() == ["the plug"] and agents[1].received() == ["the plug"]
    assert sorted(r.target for r in logged) == ["m1:a:0.0", "m2:a:0.0", "m3:a:0.0"]
    assert lost is not None and "the plug" not in lost.snapshots["before"]  # what was seen is kept
    assert "m3" in lost.reason


async def test_a_dead_connection_is_reopened_and_reverified(fleet3: Fleet3) -> None:
    """A long-lived fleet (the dashboard's) survives a machine restart without hanging."""
    m2 = fleet3.machines[1]
    agent = fleet3.agent(m2, "a")
    fleet3.wait_ready(agent)
    fleet = Fleet(LocalTmux(socket_name="unused"), load_registry(fleet3.config()))
    try:
        host = fleet.host("m2")
        assert [p.pane_id for p in await host.list_panes()] == [agent.pane_id]
        await asyncio.to_thread(fleet3.ns.stop, m2)
        started = time.monotonic()
        with pytest.raises(HostError):
            await host.list_panes()
        assert time.monotonic() - started < 12  # a timeout, never a hang
        link = fleet.link("m2")
        assert link is not None and link.status.state in ("unreachable", "not connected")
        await asyncio.to_thread(fleet3.ns.start, m2)
        # the machine is back (its tmux server died with it): a fresh, identity-checked connection
        assert await host.list_panes() == []
        assert link.status.state == "connected" and link.status.identity is not None
        assert link.status.identity.hostname == "m2"
    finally:
        await fleet.close()


def test_fleet_check_and_list(fleet3: Fleet3) -> None:
    m1 = fleet3.machines[0]
    agent = fleet3.agent(m1, "a")
    fleet3.shell(m1, "sh")
    fleet3.wait_ready(agent)
    code, rows, _ = run_cli("fleet", "check", "--json")
    assert code == 0
    by = {r["machine"]: r for r in rows}
    assert by["m1"]["ok"] and by["m1"]["tmux"] and (by["m1"]["panes"], by["m1"]["agent_panes"]) == (2, 1)
    assert by["m2"]["ok"] and not by["m2"]["tmux"]
    assert {r["identity"]["hostname"] for r in rows} == {"m1", "m2", "m3"}
    assert len({r["identity"]["machine_id"] for r in rows}) == 3
    code, listed, _ = run_cli("fleet", "list", "--json")
    assert code == 0 and [m["name"] for m in listed] == ["m1", "m2", "m3"]
    code, panes, _ = run_cli("panes", "m1", "--json")
    assert code == 0 and {p["machine"] for p in panes} == {"m1"} and len(panes) == 2
    assert run_cli("fleet", "remove", "m3", "--json")[0] == 0
    assert "m3" not in load_registry(Path(fleet3.config())).machines


async def test_verifier_over_ssh_refutes_the_lost_pane(fleet3: Fleet3) -> None:
    """A batch across machines, one remote pane killed afterwards: the read-only verifier sees it from here."""
    from dashboard.services.verify import verify

    m1, m2 = fleet3.machines[:2]
    a1, a2 = fleet3.agent(m1, "a"), fleet3.agent(m2, "a")
    fleet3.wait_ready(a1, a2)
    fleet = Fleet(LocalTmux(socket_name="unused"), load_registry(fleet3.config()))
    try:
        async with Store(fleet3.home / "dispatch.db") as store:
            recs = [r async for r in run_batch(fleet, store, [a1.target, a2.target], "check the nightly build")]
        assert {r.verdict for r in recs} == {Verdict.SUBMITTED}
        fleet3.tmux(m2, "kill-pane", "-t", a2.pane_id)
        report = await verify(fleet, recs)
    finally:
        await fleet.close()
    got = {c.machine: c.result for c in report.checks}
    assert got == {"m1": "confirmed", "m2": "refuted"}
    assert "gone" in next(c.why for c in report.checks if c.machine == "m2")


def test_exec_over_ssh_runs_in_a_remote_shell_only(fleet3: Fleet3) -> None:
    m1 = fleet3.machines[0]
    shell = fleet3.shell(m1, "sh")
    agent = fleet3.agent(m1, "a")
    fleet3.wait_ready(agent)
    time.sleep(0.3)
    code, [rec], _ = run_cli("exec", "--wait", "--json", shell, "--", "uname -n > /tmp/ran-here")
    assert (code, rec["verdict"], rec["exit_status"], rec["machine"]) == (0, "finished", 0, "m1")
    assert fleet3.ns.ssh(m1, "cat /tmp/ran-here").stdout.strip() == "m1"  # it ran on m1, in m1's own /tmp
    code, [rec], _ = run_cli("exec", "--json", agent.target, "--", "touch /tmp/never")
    assert (code, rec["verdict"]) == (3, "refused") and "agent" in str(rec["reason"])
    assert fleet3.ns.ssh(m1, "test -e /tmp/never", check=False).returncode != 0


def test_two_controllers_race_one_remote_pane(fleet3: Fleet3, tmp_path: Path) -> None:
    """Two controllers (own state dirs, own SSH connections) released together at one remote pane:
    the lease lives on the pane's machine, so there is never a merged prompt or an unmatched claim."""
    import multiprocessing
    import shutil

    from tests.integration import race_worker

    m1 = fleet3.machines[0]
    agent = fleet3.agent(m1, "race", "--turn", "0.05")
    fleet3.wait_ready(agent)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    jobs = []
    for tag in ("A", "B"):
        home = tmp_path / f"ctl-{tag}"
        home.mkdir()
        shutil.copy(fleet3.config(), home / "config.toml")
        jobs.append(race_worker.Job(
            tag, "unused", (agent.target,), ROUNDS_SSH, db=str(home / "dispatch.db"), out=str(home / "out.jsonl"),
            settle=0.15, config=str(home / "config.toml"),
        ))  # fmt: skip
    procs = [ctx.Process(target=race_worker.run, args=(job, barrier)) for job in jobs]
    for p in procs:
        p.start()
    for p in procs:
        p.join(600)
        assert p.exitcode == 0
    rows = [json.loads(line) for job in jobs for line in Path(job.out).read_text().splitlines() if line.strip()]
    got = agent.received()
    assert not [t for t in got if "from A" in t and "from B" in t], "merged prompt"
    claims = [r for r in rows if r["verdict"] in ("submitted", "queued")]
    for claim in claims:
        assert got.count(claim["prompt"]) == 1, claim
    assert len(got) == len(claims) and len(claims) >= ROUNDS_SSH
    # the senders did collide: some send waited for the other's lease on m1
    assert any((r["lease_wait_ms"] or 0) > 0 or r["evidence"] == ["guard:leased"] for r in rows)


def test_receipts_are_read_on_the_panes_machine(fleet3: Fleet3) -> None:
    """The agent's hook writes its receipt into the spool of the machine it runs on; the controller reads it there."""
    cfg = fleet3.records / "claude-cfg"  # a folder both sides see: the agent reads its settings from it
    cfg.mkdir()
    before = b'{\n    "theme": "light"\n}\n'
    (cfg / "settings.json").write_bytes(before)
    m1 = fleet3.machines[0]
    # installed from the controller, by the wiring run on m1 itself (no Dispatch there, only python3)
    code, [st], _ = run_cli("hooks", "install", "--machine", m1.name, "--agent", "claude", "--config-dir", str(cfg),
                            "--json")  # fmt: skip
    assert (code, st["machine"], st["installed"], st["error"]) == (0, m1.name, True, None), st
    agent = fleet3.agent(m1, "hooked", "--settings", str(cfg / "settings.json"), "--turn", "0.3")
    fleet3.wait_ready(agent)
    code, [first], _ = run_cli("send", agent.target, "first over ssh CANARY-s1", "--json")
    assert (code, first["verdict"]) == (0, "submitted")
    time.sleep(1.0)
    code, [second], _ = run_cli("send", agent.target, "second over ssh CANARY-s2", "--json")
    assert (code, second["verdict"]) == (0, "submitted")
    assert "receipt:UserPromptSubmit" in second["evidence"], second["evidence"]
    assert "second over ssh CANARY-s2" in agent.received()
    uninstall = ("hooks", "uninstall", "-M", m1.name, "--agent", "claude", "--config-dir", str(cfg), "--json")
    code, [st], _ = run_cli(*uninstall)
    assert (code, st["events"], st["script"]) == (0, [], False)
    assert (cfg / "settings.json").read_bytes() == before  # byte for byte, as the user had it


def test_hooks_on_an_unknown_machine_or_a_bad_settings_file_say_so(fleet3: Fleet3, capsys: Any) -> None:
    cfg = fleet3.records / "broken-cfg"
    cfg.mkdir()
    (cfg / "settings.json").write_text("{nope")
    m1 = fleet3.machines[0]
    code, _, _ = run_cli("hooks", "install", "-M", m1.name, "--agent", "claude", "--config-dir", str(cfg))
    err = capsys.readouterr().err
    assert code == 6 and f"{m1.name}: claude:" in err and "not JSON" in err and "nothing was changed" in err
    assert (cfg / "settings.json").read_text() == "{nope"
    assert run_cli("hooks", "status", "-M", "nosuch")[0] == 2
