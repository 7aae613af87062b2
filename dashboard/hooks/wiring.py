"""Wiring an agent's own hook system to the receipt command, and taking it out again cleanly.

Standalone (stdlib only, no Dispatch import): Dispatch imports it on its own machine, and runs the
very same file on a fleet machine over SSH (`main(ACTION AGENT [DIR])`, the receipt command's
source handed over with it), so a machine needs python3 but not Dispatch to carry receipts.

Claude Code and Gemini CLI keep hooks the same way: `settings.json` in the agent's config
directory, `hooks.<Event>` lists of `{"hooks": [{"type": "command", "command": …}]}`. Ours run
`dispatch-receipt` (copied beside the settings) when a prompt is accepted, when a turn ends and when
the agent asks for a person — under each agent's own event names, recorded under one
(UserPromptSubmit, Stop, Notification). Install keeps every hook the user has and is idempotent;
the file as it was is kept beside it, and uninstall puts those exact bytes back when nothing else
changed since (otherwise it removes only our entries).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shlex
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCRIPT = "dispatch-receipt"
_BACKUP = ".dispatch-backup"
_ABSENT = ".dispatch-absent"


@dataclass(frozen=True)  # no slots: fleet machines may run Python 3.8
class HookSystem:
    """One agent's hook system: where its settings live and what its events are called."""

    agent: str
    config_env: str
    """The environment variable that moves its config directory (Claude Code), or the home that holds it
    (Gemini CLI's GEMINI_CLI_HOME, see `env_is_home`)."""
    default_dir: str
    """Its config directory under HOME."""
    events: dict[str, str]
    """Its event name → the receipt's event (a prompt accepted: UserPromptSubmit; a turn ended: Stop;
    the agent waits on a person: Notification)."""
    timeout: int | None = None
    env_is_home: bool = False
    settings_file: str = "settings.json"
    codex: bool = False
    """Codex: hooks in hooks.json run only once trusted (config.toml), and only in the pane's own process when
    its shared background server is off (`[features] daemon_auto_start = false`): both set, and taken out."""
    plugin: bool = False
    """Hooks are a plugin file in the config directory (opencode), not entries in settings.json."""
    xdg: bool = False
    """Its config directory is `$XDG_CONFIG_HOME/<default_dir>` (else `~/.config/<default_dir>`)."""


SYSTEMS = {
    "claude": HookSystem(
        "claude", "CLAUDE_CONFIG_DIR", ".claude",
        {"UserPromptSubmit": "UserPromptSubmit", "Stop": "Stop", "Notification": "Notification"}, timeout=5,
    ),
    "gemini": HookSystem(
        "gemini", "GEMINI_CLI_HOME", ".gemini",
        {"BeforeAgent": "UserPromptSubmit", "AfterAgent": "Stop", "Notification": "Notification"}, env_is_home=True,
    ),
    "codex": HookSystem(
        "codex", "CODEX_HOME", ".codex", {"UserPromptSubmit": "UserPromptSubmit", "Stop": "Stop"}, timeout=5,
        settings_file="hooks.json", codex=True,
    ),
    "opencode": HookSystem(
        "opencode", "OPENCODE_CONFIG_DIR", "opencode", {"chat.message": "UserPromptSubmit", "session.idle": "Stop"},
        plugin=True, xdg=True,
    ),
}  # fmt: skip
PLUGIN = "plugin/dispatch-receipt.js"
_PLUGIN_SOURCE = """// dispatch-receipt: written by `dispatch hooks install`, removed by `dispatch hooks uninstall`.
// Runs Dispatch's receipt command when opencode accepts a prompt (chat.message) and when a turn ends
// (session.idle). It runs inside this opencode, so $TMUX_PANE is this pane's; it never throws.
import { spawn } from "node:child_process";

const SCRIPT = @SCRIPT@;

function receipt(event, payload) {
  try {
    const child = spawn(SCRIPT, [event], { stdio: ["pipe", "ignore", "ignore"] });
    child.on("error", () => {});
    child.stdin.on("error", () => {});
    child.stdin.end(JSON.stringify(payload));
  } catch {}
}

export const DispatchReceipt = async () => ({
  "chat.message": async (input, output) => {
    const prompt = (output?.parts ?? [])
      .filter((p) => p.type === "text" && !p.synthetic && !p.ignored)
      .map((p) => p.text)
      .join("\\n");
    receipt("UserPromptSubmit", { session_id: input?.sessionID ?? "", prompt });
  },
  event: async ({ event }) => {
    if (event?.type === "session.idle") receipt("Stop", { session_id: event.properties?.sessionID ?? "" });
  },
});
"""


class HookError(ValueError):
    """The agent's settings cannot be changed safely (unreadable, not a JSON object); nothing was written."""


def config_dir(system: HookSystem, env: dict[str, str], given: str | None) -> Path:
    """Where the agent keeps settings.json: the given directory, else its environment variable, else ~/.<agent>."""
    if given:
        return Path(given).expanduser().absolute()  # the hook runs from the agent's directory, not this one
    if env.get(system.config_env):
        found = Path(env[system.config_env])
        return found / system.default_dir if system.env_is_home else found
    home = Path(env.get("HOME") or str(Path.home()))
    if system.xdg:
        return Path(env.get("XDG_CONFIG_HOME") or home / ".config") / system.default_dir
    return home / system.default_dir


def _command(folder: Path, event: str, agent: str) -> str:
    return f"{shlex.quote(str(folder / SCRIPT))} {event} {agent} 2>/dev/null || true"


def _ours(hook: object) -> bool:
    return isinstance(hook, dict) and SCRIPT in str(hook.get("command", ""))


def _groups(settings: Path, hooks: dict[str, Any], event: str) -> list[Any]:
    """`hooks.<event>` as a list of groups whose `hooks` are lists, or HookError (nothing changed)."""
    groups = hooks.get(event, [])
    if not isinstance(groups, list) or any(
        isinstance(g, dict) and not isinstance(g.get("hooks", []), list) for g in groups
    ):
        raise HookError(f"{settings}: hooks.{event} is not a list of hook groups; nothing was changed")
    return groups


def _load(settings: Path) -> tuple[bytes | None, dict[str, Any]]:
    try:
        raw = settings.read_bytes()
    except FileNotFoundError:
        return None, {}
    except OSError as exc:
        raise HookError(f"{settings}: cannot read ({exc.strerror or exc}); nothing was changed") from None
    try:
        data = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, ValueError) as exc:
        raise HookError(f"{settings}: not JSON ({exc}); nothing was changed") from None
    if not isinstance(data, dict) or not isinstance(data.get("hooks", {}), dict):
        raise HookError(f"{settings}: expected a JSON object with a 'hooks' object; nothing was changed")
    return raw, data


def _write(path: Path, data: dict[str, Any]) -> None:
    _write_bytes(path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def _write_bytes(path: Path, raw: bytes, mode: int | None = None) -> None:
    """Replace a file at once, through a link to it (dotfiles), keeping its permissions (it may hold keys)."""
    import tempfile  # here, not above: every send imports this module for SYSTEMS, and tempfile costs it ~3 ms

    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    if mode is None:
        mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o600
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".dispatch-tmp", dir=str(target.parent))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        os.chmod(tmp, mode)
        os.replace(tmp, target)  # an agent reading it right now sees the old file or the new, never half
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _put_script(folder: Path, receipt: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    _write_bytes(folder / SCRIPT, receipt, 0o755)


def _install_plugin(system: HookSystem, folder: Path, receipt: bytes) -> dict[str, Any]:
    """opencode: our own plugin file (nothing of the user's is edited), and the receipt command beside it."""
    _put_script(folder, receipt)
    plugin = folder / PLUGIN
    made = not plugin.parent.exists()
    plugin.parent.mkdir(parents=True, exist_ok=True)
    if made:
        (plugin.parent / ".dispatch-made").write_bytes(b"")  # uninstall removes the folder it made
    source = _PLUGIN_SOURCE.replace("@SCRIPT@", json.dumps(str(folder / SCRIPT)))
    _write_bytes(plugin, source.encode("utf-8"), 0o644)
    return status(system, folder)


def _uninstall_plugin(system: HookSystem, folder: Path) -> dict[str, Any]:
    plugin = folder / PLUGIN
    plugin.unlink(missing_ok=True)
    made = plugin.parent / ".dispatch-made"
    if made.exists():
        made.unlink()
        if plugin.parent.is_dir() and not any(plugin.parent.iterdir()):
            plugin.parent.rmdir()
    (folder / SCRIPT).unlink(missing_ok=True)
    return status(system, folder)


def install(system: HookSystem, folder: Path, receipt: bytes) -> dict[str, Any]:
    """Add our hook under each of the agent's events (once), put the receipt command beside the settings."""
    if system.plugin:
        return _install_plugin(system, folder, receipt)
    settings = folder / system.settings_file
    raw, data = _load(settings)
    hooks = data.setdefault("hooks", {})
    changed = False
    for event, receipt_event in system.events.items():
        groups = _groups(settings, hooks, event)
        hooks[event] = groups
        hook: dict[str, object] = {"type": "command", "command": _command(folder, receipt_event, system.agent)}
        if system.timeout is not None:
            hook["timeout"] = system.timeout
        present = [h for g in groups if isinstance(g, dict) for h in g.get("hooks", []) if _ours(h)]
        for h in present:  # an older install's command (another path, no agent name): brought up to date
            if {k: h.get(k) for k in hook} != hook:
                h.update(hook)
                changed = True
        if not present:
            groups.append({"hooks": [hook]})
            changed = True
    if system.codex:
        folder.mkdir(parents=True, exist_ok=True)
        _codex_trust(system, folder, data)  # first: a config it refuses leaves everything as it was
    _put_script(folder, receipt)
    if changed:
        backup, absent = settings.with_name(settings.name + _BACKUP), settings.with_name(settings.name + _ABSENT)
        if not backup.exists() and not absent.exists():
            if raw is None:
                absent.write_bytes(b"")
            else:
                _write_bytes(backup, raw, 0o600)  # a copy of the user's settings: theirs alone to read
        _write(settings, data)
    return status(system, folder)


def uninstall(system: HookSystem, folder: Path) -> dict[str, Any]:
    """Take our hooks out; the user's bytes back when nothing else changed since install."""
    if system.plugin:
        return _uninstall_plugin(system, folder)
    if system.codex:
        _codex_untrust(folder)
    settings = folder / system.settings_file
    raw, data = _load(settings)
    hooks = data.get("hooks", {})
    for event in system.events:
        if event not in hooks:
            continue
        groups = _groups(settings, hooks, event)
        kept = []
        for g in groups:
            if isinstance(g, dict) and isinstance(g.get("hooks"), list):
                g = {**g, "hooks": [h for h in g["hooks"] if not _ours(h)]}
                if not g["hooks"]:
                    continue
            kept.append(g)
        if kept:
            hooks[event] = kept
        else:
            hooks.pop(event, None)
    if not hooks:
        data.pop("hooks", None)  # nothing of the user's is left under it
    backup, absent = settings.with_name(settings.name + _BACKUP), settings.with_name(settings.name + _ABSENT)
    restored = False
    if backup.exists():
        before = _load(backup)[1]
        if before == data or (before.get("hooks") == {} and {**data, "hooks": {}} == before):
            _write_bytes(settings, backup.read_bytes())  # nothing else changed since install: the user's bytes
            restored = True
    elif absent.exists() and not data:
        settings.unlink(missing_ok=True)  # there was no settings file before install
        restored = True
    if not restored and raw is not None:
        _write(settings, data)
    backup.unlink(missing_ok=True)
    absent.unlink(missing_ok=True)
    (folder / SCRIPT).unlink(missing_ok=True)
    return status(system, folder)


def status(system: HookSystem, folder: Path) -> dict[str, Any]:
    """Which of the agent's events run our receipt command, and whether the command is in place."""
    script = (folder / SCRIPT).exists()
    if system.plugin:
        plugin = folder / PLUGIN
        ours = plugin.exists() and "dispatch-receipt" in plugin.read_text(encoding="utf-8", errors="replace")
        events = list(system.events) if ours else []
        return {"agent": system.agent, "settings": str(plugin), "events": events, "script": script,
                "installed": ours and script, "present": folder.is_dir()}  # fmt: skip
    settings = folder / system.settings_file
    _, data = _load(settings)
    hooks = data.get("hooks", {})
    events = [
        e for e in system.events
        if any(_ours(h) for g in _groups(settings, hooks, e) if isinstance(g, dict) for h in g.get("hooks", []))
    ]  # fmt: skip
    trusted = _codex_trusted(system, folder, data) if system.codex else True
    out = {"agent": system.agent, "settings": str(settings), "events": events, "script": script,
           "installed": events == list(system.events) and script and trusted, "present": folder.is_dir()}  # fmt: skip
    if system.codex and trusted and _codex_server_running():
        out["note"] = ("a Codex background server is running: Codex asks at its next start whether to restart "
                       "it — restart, so hooks run in each pane's own Codex")  # fmt: skip
    return out


_BEGIN = "# >>> dispatch receipts: written by `dispatch hooks install`, taken out by `dispatch hooks uninstall`"
_END = "# <<< dispatch receipts"
_TAG = "  # dispatch receipts"
_LABELS = {"UserPromptSubmit": "user_prompt_submit", "Stop": "stop"}


def _codex_hash(event: str, hook: dict[str, Any]) -> str:
    """Codex's trust hash of one command hook: SHA-256 of its identity as compact, key-sorted JSON."""
    handler = {"type": "command", "command": hook["command"], "timeout": int(hook.get("timeout") or 600),
               "async": False}  # fmt: skip
    ident = {"event_name": _LABELS[event], "hooks": [handler]}
    text = json.dumps(ident, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    import hashlib  # here, not above: every send imports this module, few install Codex hooks

    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _codex_config(folder: Path) -> tuple[Path, str]:
    config = folder / "config.toml"
    try:
        return config, config.read_text(encoding="utf-8") if config.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise HookError(f"{config}: cannot read ({exc}); nothing was changed") from None


def _codex_trust(system: HookSystem, folder: Path, data: dict[str, Any]) -> None:
    """Trust our handlers where they sit in hooks.json, and keep Codex's hooks in the pane's own process."""
    config, text = _codex_config(folder)
    text = _strip_block(text)
    lines = [_BEGIN]
    for key, digest in _codex_entries(system, folder, data).items():
        lines += [f'[hooks.state."{key}"]', f'trusted_hash = "{digest}"']
    parsed = _toml(config, text)
    features = parsed.get("features")
    if features is None:
        lines += ["[features]", "daemon_auto_start = false"]
    elif isinstance(features, dict) and features.get("daemon_auto_start") is not False:
        if "daemon_auto_start" in features:
            raise HookError(
                f"{config}: features.daemon_auto_start is on: Codex would run the hooks in its shared "
                "background server, under another pane's name; set it to false; nothing was changed"
            )
        text = re.sub(r"(?m)^\[features\][^\n]*$", lambda m: m.group(0) + "\ndaemon_auto_start = false" + _TAG,
                      text, count=1)  # fmt: skip
    lines.append(_END)
    new = (text.rstrip("\n") + "\n\n" if text.strip() else "") + "\n".join(lines) + "\n"
    _toml(config, new)  # the result must still be a valid config
    backup, absent = config.with_name("config.toml" + _BACKUP), config.with_name("config.toml" + _ABSENT)
    if not backup.exists() and not absent.exists():  # the file as the user had it, before the first install
        if config.exists():
            _write_bytes(backup, config.read_bytes(), 0o600)
        else:
            absent.write_bytes(b"")
    _write_bytes(config, new.encode("utf-8"))


def _strip_block(text: str) -> str:
    """The config without what install added: our block, and the line it put under [features]."""
    text = re.sub(r"\n*" + re.escape(_BEGIN) + r".*?" + re.escape(_END) + r"\n?", "\n", text, flags=re.S)
    text = re.sub(r"(?m)^daemon_auto_start = false" + re.escape(_TAG) + r"\n", "", text)
    return text.rstrip("\n") + "\n" if text.strip() else ""


def _codex_untrust(folder: Path) -> None:
    """Our block and line out; the user's exact bytes back when nothing else changed since install."""
    config, text = _codex_config(folder)
    stripped = _strip_block(text)
    backup, absent = config.with_name("config.toml" + _BACKUP), config.with_name("config.toml" + _ABSENT)
    if backup.exists():
        original = backup.read_bytes()
        backup.unlink()
        if _strip_block(original.decode("utf-8", "replace")) == stripped:
            _write_bytes(config, original)
            return
    elif absent.exists():
        absent.unlink()
        if not stripped.strip():
            config.unlink(missing_ok=True)
            return
    if stripped != text:
        _write_bytes(config, stripped.encode("utf-8"))


def _codex_entries(system: HookSystem, folder: Path, data: dict[str, Any]) -> dict[str, str]:
    """Codex's trust key (the declaring file, the event, where the handler sits) → hash, for each of our hooks."""
    hooks_json = str(folder.absolute() / system.settings_file)  # as Codex names it (CODEX_HOME as given)
    out = {}
    for event in system.events:
        for gi, group in enumerate(data.get("hooks", {}).get(event, [])):
            for hi, hook in enumerate(group.get("hooks", []) if isinstance(group, dict) else []):
                if _ours(hook):
                    out[f"{hooks_json}:{_LABELS[event]}:{gi}:{hi}"] = _codex_hash(event, hook)
    return out


def _codex_trusted(system: HookSystem, folder: Path, data: dict[str, Any]) -> bool:
    """Does config.toml trust our hooks as they sit now (moved by a later edit: not), with the shared server off?"""
    config, text = _codex_config(folder)
    try:
        import tomllib  # noqa: F401 - below Python 3.11 (a fleet machine) the block is all that can be checked
    except ImportError:
        return _BEGIN in text
    try:
        parsed = _toml(config, text)
    except HookError:
        return False
    state = parsed.get("hooks", {}).get("state", {}) if isinstance(parsed.get("hooks"), dict) else {}
    wanted = _codex_entries(system, folder, data)
    trusted = all(isinstance(state.get(k), dict) and state[k].get("trusted_hash") == v for k, v in wanted.items())
    features = parsed.get("features", {})
    return bool(wanted) and trusted and isinstance(features, dict) and features.get("daemon_auto_start") is False


def _codex_server_running() -> bool:
    """Is a Codex app-server (its shared background server) running here? Read from /proc, quietly."""
    try:
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/cmdline", "rb") as f:
                        argv = f.read().split(b"\0")
                except OSError:
                    continue
                if any(a.endswith(b"codex") for a in argv[:2]) and b"app-server" in argv:
                    return True
    except OSError:
        pass
    return False


def _toml(config: Path, text: str) -> dict[str, Any]:
    try:
        import tomllib
    except ImportError:  # Python < 3.11 on a fleet machine: the edit is still only our own lines
        return {"features": {}} if re.search(r"(?m)^\[features\]", text) else {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise HookError(f"{config}: not valid TOML ({exc}); nothing was changed") from None


def run(action: str, agent: str, given: str | None, receipt: bytes, env: dict[str, str]) -> dict[str, Any]:
    """One action for one agent on this machine; a refusal comes back as {"agent", "error"}."""
    system = SYSTEMS[agent]
    folder = config_dir(system, env, given)
    lock = None
    try:
        if action != "status":  # two installs at once must not both read the old file and write over each other
            import tempfile

            path = os.path.join(tempfile.gettempdir(), f"dispatch-hooks-{os.getuid()}.lock")
            lock = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
            fcntl.flock(lock, fcntl.LOCK_EX)
        if action == "install":
            return install(system, folder, receipt)
        if action == "uninstall":
            return uninstall(system, folder)
        return status(system, folder)
    except HookError as exc:
        return {"agent": agent, "settings": str(folder / "settings.json"), "error": str(exc)}
    except OSError as exc:
        return {"agent": agent, "settings": str(folder / "settings.json"), "error": f"{folder}: {exc.strerror or exc}"}
    finally:
        if lock is not None:
            os.close(lock)


def main(argv: list[str], receipt: bytes) -> int:
    """`ACTION AGENT [DIR]` → one JSON line on stdout (how a fleet machine answers over SSH)."""
    action, agent, given = argv[0], argv[1], (argv[2] if len(argv) > 2 and argv[2] else None)
    print(json.dumps(run(action, agent, given, receipt, dict(os.environ))))
    return 0
