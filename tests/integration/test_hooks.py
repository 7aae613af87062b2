"""Receipts: the agent's own hook says it accepted exactly our text in our pane, and the hook comes out clean."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from dashboard.adapters.store import Store
from dashboard.cli import main as cli_main
from dashboard.core.attention import NeedsInput
from dashboard.core.model import PaneState, Verdict
from dashboard.core.receipts import SPOOL_DIR, SPOOL_FILE, prompt_hash
from dashboard.services.fleet import Fleet
from dashboard.services.hooks import SYSTEMS, HookError, install, status, uninstall
from dashboard.services.panes import survey
from dashboard.services.send import SendOptions, send
from dashboard.services.verify import verify
from tests.integration.conftest import ROOT, Bench

FAST = SendOptions(retry_ms=300, verify_ms=2500, paste_wait_ms=800)
USER_HOOK = {"hooks": {"UserPromptSubmit": [{"hooks": [{"type": "command", "command": "echo mine"}]}]}}


def test_install_keeps_the_users_hooks_is_idempotent_and_uninstall_restores_the_bytes(tmp_path: Path) -> None:
    settings = tmp_path / "settings.json"
    original = (json.dumps({"theme": "dark", **USER_HOOK}, indent=4) + "\n").encode()
    settings.write_bytes(original)
    st = install(SYSTEMS["claude"], tmp_path)
    assert st.events == ["UserPromptSubmit", "Stop", "Notification"] and st.script and st.installed
    once = settings.read_bytes()
    install(SYSTEMS["claude"], tmp_path)  # again: nothing added twice
    assert settings.read_bytes() == once
    data = json.loads(once)
    assert data["theme"] == "dark" and data["hooks"]["UserPromptSubmit"][0] == USER_HOOK["hooks"]["UserPromptSubmit"][0]
    assert len(data["hooks"]["UserPromptSubmit"]) == 2
    uninstall(SYSTEMS["claude"], tmp_path)
    assert settings.read_bytes() == original  # byte for byte, formatting included
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.json"]


def test_uninstall_with_no_file_before_and_with_later_user_edits(tmp_path: Path) -> None:
    install(SYSTEMS["claude"], tmp_path)
    uninstall(SYSTEMS["claude"], tmp_path)
    assert not (tmp_path / "settings.json").exists()  # there was none
    (tmp_path / "settings.json").write_text('{"a": 1}')
    install(SYSTEMS["claude"], tmp_path)
    edited = json.loads((tmp_path / "settings.json").read_text())
    edited["b"] = 2  # the user changed something while the hooks were in
    (tmp_path / "settings.json").write_text(json.dumps(edited))
    uninstall(SYSTEMS["claude"], tmp_path)
    assert json.loads((tmp_path / "settings.json").read_text()) == {"a": 1, "b": 2}  # only ours taken out
    assert status(SYSTEMS["claude"], tmp_path).events == []


def test_a_settings_file_that_is_not_json_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text("{not json")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DISPATCH_HOME": str(tmp_path)}
    argv = [sys.executable, "-m", "dashboard", "hooks", "install", "--agent", "claude", "--config-dir", str(tmp_path)]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 6 and "not JSON" in done.stderr and "nothing was changed" in done.stderr
    assert (tmp_path / "settings.json").read_text() == "{not json"


def test_the_receipt_command_never_hurts_the_agent(tmp_path: Path) -> None:
    install(SYSTEMS["claude"], tmp_path)
    script = tmp_path / "dispatch-receipt"
    for stdin in ("not json", "", '{"prompt": 5}'):
        done = subprocess.run([str(script), "UserPromptSubmit"], input=stdin, capture_output=True, text=True)
        assert done.returncode == 0 and done.stdout == ""  # Claude adds a UserPromptSubmit hook's output to the context
    script.unlink()
    hook = json.loads((tmp_path / "settings.json").read_text())["hooks"]["UserPromptSubmit"][0]["hooks"][0]
    gone = subprocess.run(["sh", "-c", hook["command"]], input="{}", capture_output=True, text=True)
    assert gone.returncode == 0 and gone.stdout == ""  # removed behind our back: still a no-op


async def test_a_send_carries_the_agents_receipt(bench: Bench, store: object, tmp_path: Path) -> None:
    install(SYSTEMS["claude"], tmp_path)
    agent = bench.agent("a", "--settings", str(tmp_path / "settings.json"), style="claude", turn=0.3)
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    first = await send(bench.host, store, "a:0.0", "first prompt CANARY-k1", FAST)  # type: ignore[arg-type]
    assert first.verdict is Verdict.SUBMITTED
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    rec = await send(bench.host, store, "a:0.0", "second prompt CANARY-k2", FAST)  # type: ignore[arg-type]
    assert rec.verdict is Verdict.SUBMITTED and "receipt:UserPromptSubmit" in rec.evidence, rec.evidence
    spool = Path(SPOOL_DIR.format(uid=os.getuid())) / SPOOL_FILE
    rows = [json.loads(line) for line in spool.read_text().splitlines()]
    assert any(r["prompt_sha256"] == prompt_hash("second prompt CANARY-k2") and r["pane"] == agent.pane_id
               for r in rows)  # fmt: skip


async def test_a_missing_receipt_is_said(bench: Bench, store: object, tmp_path: Path) -> None:
    """This pane's agent wrote receipts before, not for this send: the screen's verdict stands, the gap is named."""
    install(SYSTEMS["claude"], tmp_path)
    agent = bench.agent("o", "--settings", str(tmp_path / "settings.json"), style="claude", turn=0.3)
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    first = await send(bench.host, store, "o:0.0", "hooked one CANARY-m1", FAST)  # type: ignore[arg-type]
    assert first.verdict is Verdict.SUBMITTED
    await bench.wait_state(agent.pane_id, PaneState.IDLE)
    uninstall(SYSTEMS["claude"], tmp_path)  # the agent stops writing receipts (it reads its settings per turn)
    rec = await send(bench.host, store, "o:0.0", "after the hooks went CANARY-m2", FAST)  # type: ignore[arg-type]
    assert rec.verdict is Verdict.SUBMITTED and "receipt-missing" in rec.evidence, rec.evidence
    plain = bench.agent("p", style="claude", turn=0.3)  # an agent that never wrote one: nothing is waited for
    await bench.wait_state(plain.pane_id, PaneState.IDLE)
    other = await send(bench.host, store, "p:0.0", "plain one CANARY-m3", FAST)  # type: ignore[arg-type]
    assert other.verdict is Verdict.SUBMITTED and not any("receipt" in e for e in other.evidence)


async def test_panes_show_receipts_and_which_panes_need_a_person(
    bench: Bench, store: object, tmp_path: Path, cli_env: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Hooks say it where installed (a turn ended, a notification), the screen otherwise; a fresh agent needs no one."""
    install(SYSTEMS["claude"], tmp_path)
    settings = str(tmp_path / "settings.json")
    hooked = bench.agent("h", "--settings", settings, style="claude", turn=0.3)
    plain = bench.agent("p", style="codex", turn=0.3)
    asking = bench.agent("d", "--settings", settings, "--dialog", style="claude")
    for a in (hooked, plain):
        await bench.wait_state(a.pane_id, PaneState.IDLE)
    await bench.wait_state(asking.pane_id, PaneState.DIALOG)
    views = {v.pane.pane_id: v for v in await survey(bench.host)}
    assert views[hooked.pane_id].needs is None and views[plain.pane_id].needs is None  # nothing asked yet
    assert views[asking.pane_id].needs == NeedsInput("Claude needs your permission to continue", "receipt")
    for target, a in (("h:0.0", hooked), ("p:0.0", plain)):
        rec = await send(bench.host, store, target, f"one turn for {target} CANARY-n1", FAST)  # type: ignore[arg-type]
        assert rec.verdict is Verdict.SUBMITTED, rec.reason
        working = {v.pane.pane_id: v for v in await survey(bench.host)}[a.pane_id]
        assert working.needs is None or working.cls.state is not PaneState.WORKING
        await bench.wait_state(a.pane_id, PaneState.IDLE)
    views = {v.pane.pane_id: v for v in await survey(bench.host)}
    assert views[hooked.pane_id].needs == NeedsInput("turn ended", "receipt") and views[hooked.pane_id].hooks
    assert views[plain.pane_id].needs == NeedsInput("turn ended", "screen") and views[plain.pane_id].hooks is None
    code, out, _ = await asyncio.to_thread(_run_cli, [*cli_env, "panes", "--json"], capsys)
    assert code == 0
    rows = {p["pane_id"]: p for p in json.loads(out)}
    assert rows[asking.pane_id]["state"] == "dialog"  # the screen's reading stays; the need comes beside it
    assert rows[asking.pane_id]["needs_input"] == {"why": "Claude needs your permission to continue",
                                                   "source": "receipt"}  # fmt: skip
    assert rows[hooked.pane_id]["receipts"]["last_event"] == "Stop" and rows[plain.pane_id]["receipts"] is None
    code, out, _ = await asyncio.to_thread(_run_cli, [*cli_env, "panes"], capsys)
    assert code == 0
    line = next(ln for ln in out.splitlines() if ln.startswith(hooked.pane_id + " "))
    assert "needs-input" in line and " yes " in line and "turn ended (receipt)" in line


def _run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli_main(argv)
    out, err = capsys.readouterr()
    return code, out, err


async def test_the_verifier_reads_receipts_where_the_screen_cannot_show_the_prompt(
    bench: Bench, store: Store, tmp_path: Path
) -> None:
    """A prompt out of sight is unknown to the screen: the receipt confirms it; a pane without hooks stays unknown."""
    install(SYSTEMS["claude"], tmp_path)
    hooked = bench.agent("h", "--settings", str(tmp_path / "settings.json"), style="claude", turn=0.3)
    plain = bench.agent("p", style="claude", turn=0.3)
    recs = []
    for target, a in (("h:0.0", hooked), ("p:0.0", plain)):
        await bench.wait_state(a.pane_id, PaneState.IDLE)
        recs.append(await send(bench.host, store, target, "run the checks again CANARY-v1", FAST))
        assert recs[-1].verdict is Verdict.SUBMITTED, recs[-1].reason
    for name, a in (("h", hooked), ("p", plain)):
        await bench.wait_state(a.pane_id, PaneState.IDLE)
        bench.server.cmd("resize-window", "-t", f"{name}:", "-y", "7")  # the agent redraws: the prompt is gone
    await asyncio.sleep(0.5)
    for a in (hooked, plain):
        bench.server.cmd("clear-history", "-t", a.pane_id)  # and the scrollback with it (a long session's limit)
    report = await verify(Fleet(bench.host), recs)
    by_pane = {c.pane_id: c for c in report.checks}
    assert (by_pane[hooked.pane_id].result, by_pane[hooked.pane_id].receipt) == ("confirmed", "received")
    assert "hook received it" in by_pane[hooked.pane_id].why
    plain_check = by_pane[plain.pane_id]
    assert (plain_check.result, plain_check.receipt) == ("unknown", None), plain_check.why
    uninstall(SYSTEMS["claude"], tmp_path)  # the hooks are gone: the next send has no receipt, and it is said
    bench.server.cmd("resize-window", "-t", "h:", "-y", "40")
    await bench.wait_state(hooked.pane_id, PaneState.IDLE)
    later = await send(bench.host, store, "h:0.0", "after the hooks went CANARY-v2", FAST)
    await bench.wait_state(hooked.pane_id, PaneState.IDLE)
    [check] = (await verify(Fleet(bench.host), [later])).checks
    assert (check.result, check.receipt) == ("confirmed", "missing") and "no receipt" in check.why


def test_opencode_gets_its_own_plugin_file_and_loses_it_cleanly(tmp_path: Path) -> None:
    """opencode's hooks are a plugin: ours is one file of its own; the user's config and plugins are not touched."""
    config = tmp_path / "opencode"
    config.mkdir()
    (config / "opencode.json").write_text('{"theme": "x"}\n')
    st = install(SYSTEMS["opencode"], config)
    assert st.installed and st.events == ["chat.message", "session.idle"]  # its own event names
    plugin = (config / "plugin" / "dispatch-receipt.js").read_text()
    assert str(config / "dispatch-receipt") in plugin and "chat.message" in plugin and "session.idle" in plugin
    assert install(SYSTEMS["opencode"], config).installed  # again: the same one file
    (config / "plugin" / "mine.js").write_text("export const Mine = async () => ({})\n")
    st = uninstall(SYSTEMS["opencode"], config)
    assert not st.installed and st.events == [] and not st.script
    assert sorted(p.name for p in (config / "plugin").iterdir()) == ["mine.js"]  # theirs stays, and the folder
    (config / "plugin" / "mine.js").unlink()
    install(SYSTEMS["opencode"], config)
    uninstall(SYSTEMS["opencode"], config)
    assert sorted(p.name for p in config.iterdir()) == ["opencode.json", "plugin"]  # it was there before: kept
    assert (config / "opencode.json").read_text() == '{"theme": "x"}\n'
    fresh = tmp_path / "fresh"
    install(SYSTEMS["opencode"], fresh)
    uninstall(SYSTEMS["opencode"], fresh)
    assert sorted(p.name for p in fresh.iterdir()) == []  # the plugin folder it made is gone with it


def test_codex_hooks_are_trusted_kept_in_the_pane_and_taken_out_to_the_byte(tmp_path: Path) -> None:
    """Codex runs a hook only once trusted, and in the pane's own process only with its background server off."""
    import tomllib

    config = tmp_path / "config.toml"
    original = b'model = "x"\n\n[features]\nother = true\n\n[tui]\nx = 1'  # no final newline: kept as is
    config.write_bytes(original)
    st = install(SYSTEMS["codex"], tmp_path)
    assert st.installed and st.events == ["UserPromptSubmit", "Stop"]
    data = tomllib.loads(config.read_text())
    assert data["features"] == {"other": True, "daemon_auto_start": False}
    keys = sorted(data["hooks"]["state"])
    assert keys == [f"{tmp_path}/hooks.json:stop:0:0", f"{tmp_path}/hooks.json:user_prompt_submit:0:0"]
    assert all(v["trusted_hash"].startswith("sha256:") for v in data["hooks"]["state"].values())
    once = config.read_bytes()
    install(SYSTEMS["codex"], tmp_path)
    assert config.read_bytes() == once  # idempotent
    hooks = json.loads((tmp_path / "hooks.json").read_text())
    hooks["hooks"]["Stop"].insert(0, {"hooks": [{"type": "command", "command": "echo mine"}]})
    (tmp_path / "hooks.json").write_text(json.dumps(hooks))
    assert not status(SYSTEMS["codex"], tmp_path).installed  # ours moved: Codex no longer trusts it where it sits
    assert install(SYSTEMS["codex"], tmp_path).installed  # trusted again where it is now
    (tmp_path / "hooks.json").write_text(json.dumps({"hooks": {k: v[-1:] for k, v in hooks["hooks"].items()}}))
    install(SYSTEMS["codex"], tmp_path)
    uninstall(SYSTEMS["codex"], tmp_path)
    assert config.read_bytes() == original and not (tmp_path / "hooks.json").exists()
    config.write_text("[features]\ndaemon_auto_start = true\n")
    with pytest.raises(HookError, match="daemon_auto_start is on"):
        install(SYSTEMS["codex"], tmp_path)
    assert config.read_text() == "[features]\ndaemon_auto_start = true\n"  # nothing changed
    assert not (tmp_path / "hooks.json").exists() and not (tmp_path / "dispatch-receipt").exists()
    config.write_text("[broken\n")
    with pytest.raises(HookError, match="not valid TOML"):
        install(SYSTEMS["codex"], tmp_path)


async def test_an_earlier_receipt_for_the_same_text_proves_nothing_about_this_send(
    bench: Bench, store: Store, tmp_path: Path
) -> None:
    """Only receipts written after this send's submit key count: the same words accepted before are not ours."""
    install(SYSTEMS["claude"], tmp_path)
    settings = str(tmp_path / "settings.json")
    first = bench.agent("a", "--settings", settings, style="claude", turn=0.3)
    await bench.wait_state(first.pane_id, PaneState.IDLE)
    done = await send(bench.host, store, "a:0.0", "yes, go on", FAST)
    assert done.verdict is Verdict.SUBMITTED and "receipt:UserPromptSubmit" in done.evidence, done.evidence
    await bench.wait_state(first.pane_id, PaneState.IDLE)
    # the same pane now runs an agent that never submits (every Enter swallowed), with the same hooks
    record = tmp_path / "deaf.jsonl"
    argv = [sys.executable, "-m", "dashboard.demo.fake_agent", "--style", "claude", "--settings", settings,
            "--swallow-enters", "99", "--record", str(record)]  # fmt: skip
    bench.server.cmd("respawn-pane", "-k", "-t", first.pane_id, f"exec env PYTHONPATH={ROOT} {shlex.join(argv)}")
    await bench.wait_state(first.pane_id, PaneState.IDLE)
    again = await send(bench.host, store, "a:0.0", "yes, go on", replace(FAST, retries=0))
    assert again.verdict is not Verdict.SUBMITTED, (again.verdict, again.evidence)
    assert "receipt:UserPromptSubmit" not in again.evidence


def test_a_spool_someone_else_could_write_is_never_read_or_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The spool lives in /tmp: a folder another user made (or opened to all) proves nothing and gets nothing."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("receipt_cmd", ROOT / "dashboard" / "hooks" / "receipt.py")
    assert spec is not None and spec.loader is not None
    receipt = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(receipt)
    shared = tmp_path / "spool"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    monkeypatch.setattr(receipt, "SPOOL", str(shared))
    assert receipt._spool() is None  # open to all: no receipt written
    shared.chmod(0o700)
    target = tmp_path / "victim"
    target.write_text("")
    (shared / "receipts.jsonl").symlink_to(target)
    with pytest.raises(OSError):
        receipt._spool()  # a link planted in its place is never followed (the command itself swallows this)
    assert target.read_text() == ""


def test_hooks_settle_malformed_odd_and_concurrent_settings_without_harm(tmp_path: Path) -> None:
    """Malformed hook entries are refused untouched; quotes in paths, relative dirs, links and modes survive."""
    odd = tmp_path / "o'brien"
    st = install(SYSTEMS["claude"], odd)
    hook = json.loads((odd / "settings.json").read_text())["hooks"]["Stop"][0]["hooks"][0]["command"]
    done = subprocess.run(["sh", "-c", hook], input="{}", capture_output=True, text=True)
    assert st.installed and done.returncode == 0 and done.stderr == ""  # the quote does not break the command
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "settings.json").write_text('{"hooks": {"Stop": [{"hooks": 5}]}}')
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DISPATCH_HOME": str(tmp_path / "home")}
    for action in ("install", "uninstall", "status"):
        argv = [sys.executable, "-m", "dashboard", "hooks", action, "--agent", "claude", "--config-dir", str(bad)]
        out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
        assert out.returncode == 6 and "not a list of hook groups" in out.stderr and "Traceback" not in out.stderr
    assert (bad / "settings.json").read_text() == '{"hooks": {"Stop": [{"hooks": 5}]}}'
    argv = [sys.executable, "-m", "dashboard", "hooks", "install", "--agent", "claude", "--config-dir", "relcfg"]
    rel = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert str(tmp_path / "relcfg" / "dispatch-receipt") in (tmp_path / "relcfg" / "settings.json").read_text(), rel
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    (dotfiles / "claude.json").write_text('{"env": {"KEY": "secret"}}\n')
    (dotfiles / "claude.json").chmod(0o600)
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "settings.json").symlink_to(dotfiles / "claude.json")
    install(SYSTEMS["claude"], linked)
    assert (linked / "settings.json").is_symlink() and "dispatch-receipt" in (dotfiles / "claude.json").read_text()
    assert (dotfiles / "claude.json").stat().st_mode & 0o777 == 0o600
    uninstall(SYSTEMS["claude"], linked)
    assert (linked / "settings.json").is_symlink() and (
        dotfiles / "claude.json"
    ).read_text() == '{"env": {"KEY": "secret"}}\n'
    crowd = tmp_path / "crowd"
    argv = [sys.executable, "-m", "dashboard", "hooks", "install", "--agent", "claude", "--config-dir", str(crowd)]
    procs = [subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(6)]
    assert [p.wait(60) for p in procs] == [0] * 6, [p.stderr.read() for p in procs if p.stderr]
    groups = json.loads((crowd / "settings.json").read_text())["hooks"]["UserPromptSubmit"]
    assert len(groups) == 1  # six at once, one hook
