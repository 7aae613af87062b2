"""Plain data shared by every layer: panes, screens, states, verdicts. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class PaneState(StrEnum):
    """What a pane is doing, as read from its process and visible screen."""

    IDLE = "idle"
    WORKING = "working"
    STUCK = "stuck-in-composer"
    DIALOG = "dialog"
    RATE_LIMITED = "rate-limited"
    SHELL = "shell"
    DEAD = "dead"
    UNKNOWN = "unknown"


class Verdict(StrEnum):
    """The outcome of one send; only SUBMITTED and QUEUED are deliveries."""

    SUBMITTED = "submitted"
    QUEUED = "queued"
    STUCK = "stuck-in-composer"
    NOT_RECEIVED = "not-received"
    UNRECOGNISED = "unrecognised"
    REFUSED = "refused"
    ERROR = "error"
    UNREACHABLE = "unreachable"
    WRONG_MACHINE = "identity-mismatch"
    STARTED = "started"
    FINISHED = "finished"
    PENDING = "pending"
    INTERRUPTED = "interrupted"
    """The sending process died before a verdict; concluded later from what the pane showed then."""

    @property
    def delivered(self) -> bool:
        """Prompts: submitted or queued. Shell commands (exec): started or finished."""
        return self in (Verdict.SUBMITTED, Verdict.QUEUED, Verdict.STARTED, Verdict.FINISHED)

    @property
    def undelivered(self) -> bool:
        """A send that reached the pane but could not be shown to have been submitted."""
        return self in (Verdict.STUCK, Verdict.NOT_RECEIVED, Verdict.UNRECOGNISED)

    @property
    def host_failure(self) -> bool:
        """The machine, not the pane, was the problem: unreachable or not who it should be."""
        return self in (Verdict.UNREACHABLE, Verdict.WRONG_MACHINE)


@dataclass(frozen=True, slots=True)
class ServerRef:
    """Which tmux server a pane lives on: its socket, plus what tells a restarted server from the old one.

    `%N` ids repeat on every server and start again after a restart, so a pane is only known by
    (machine, server, %N). `key` is the form the log keeps.
    """

    socket: str
    pid: int
    started: int

    @property
    def key(self) -> str:
        return f"{self.socket}#{self.pid}.{self.started}"

    @classmethod
    def parse(cls, key: str | None) -> ServerRef | None:
        """The inverse of `key`; None for a missing or malformed one (old rows: "server unknown")."""
        if not key or "#" not in key:
            return None
        socket, _, rest = key.rpartition("#")
        pid, _, started = rest.partition(".")
        if not (socket and pid.isdigit() and started.isdigit()):
            return None
        return cls(socket, int(pid), int(started))

    def __str__(self) -> str:
        return f"tmux server {self.socket} (pid {self.pid})"


SHELLS = frozenset({"bash", "zsh", "sh", "dash", "fish", "ksh", "mksh", "tcsh", "csh", "nu", "pwsh", "xonsh", "ash"})


@dataclass(frozen=True, slots=True)
class PaneInfo:
    """One tmux pane as listed by the server (identified by its `%N` id, never by index)."""

    pane_id: str
    session: str
    window_index: int
    pane_index: int
    window_name: str = ""
    dead: bool = False
    dead_status: int | None = None
    command: str = ""
    in_mode: bool = False
    width: int = 80
    height: int = 24
    pid: int | None = None
    title: str = ""
    activity: int = 0
    """Unix second of the window's last output (tmux `window_activity`): unchanged means unchanged screen."""
    machine: str = "local"
    active: bool = False
    pane_active: bool = False
    account: str = ""
    """The tmux user option `@dispatch_account` (pane, window or session; `@dispatch_profile`, its old
    name, is still read), when set."""
    server: ServerRef | None = None
    """The tmux server the pane lives on (None only for panes not read from a live server)."""
    tty: str = ""
    """The pane's terminal (`/dev/pts/3`): how the process behind a look-alike screen is found."""

    @property
    def target(self) -> str:
        """The human address `session:window.pane`."""
        return f"{self.session}:{self.window_index}.{self.pane_index}"

    @property
    def key(self) -> str:
        """Unique across the fleet: `%12` on this machine, `gpu1:%12` elsewhere (a valid target too)."""
        return self.pane_id if self.machine == "local" else f"{self.machine}:{self.pane_id}"

    @property
    def address(self) -> str:
        """`session:window.pane`, prefixed with the machine when it is not this one."""
        return self.target if self.machine == "local" else f"{self.machine}:{self.target}"

    @property
    def is_shell(self) -> bool:
        return self.command.lstrip("-").rsplit("/", 1)[-1] in SHELLS


@dataclass(frozen=True, slots=True)
class Screen:
    """A pane's text as captured: `lines` are plain, `ansi` keeps attributes when captured with -e.

    `lines` holds only the visible screen; `history` holds scrollback lines above it (oldest first).
    """

    lines: tuple[str, ...]
    ansi: tuple[str, ...] | None = None
    history: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Classification:
    """Which agent a screen belongs to, what state it is in, and what the composer holds.

    `markers` names every profile marker that matched, so a state is always explainable.
    """

    agent: str | None
    state: PaneState
    composer: str | None = None
    composer_span: tuple[int, int] | None = None
    markers: tuple[str, ...] = ()
    reset: str | None = None
    last_line: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "agent": self.agent,
            "state": str(self.state),
            "composer": self.composer,
            "markers": list(self.markers),
            "reset": self.reset,
            "last_line": self.last_line,
        }


@dataclass(frozen=True, slots=True)
class Owner:
    """The process that made a send: a record it left `pending` is concluded once this process is gone.

    `start` (the pid's start time in clock ticks) tells a reused pid from the sender; `machine`
    (/etc/machine-id), `boot` (the kernel's boot id) and `pidns` (the pid namespace) tell whether a
    later command can see that pid at all — a container or a second machine with the same hostname
    sharing the state directory cannot.
    """

    host: str
    pid: int
    start: int | None = None
    machine: str | None = None
    boot: str | None = None
    pidns: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"host": self.host, "pid": self.pid, "start": self.start, "machine": self.machine, "boot": self.boot,
                "pidns": self.pidns}  # fmt: skip

    @classmethod
    def from_json(cls, data: object) -> Owner | None:
        if not isinstance(data, dict) or not isinstance(data.get("pid"), int) or not isinstance(data.get("host"), str):
            return None

        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) else None

        start = data.get("start")
        return cls(data["host"], data["pid"], start if isinstance(start, int) else None, text("machine"),
                   text("boot"), text("pidns"))  # fmt: skip


def batch_ref(batch: int | None) -> str | None:
    """A batch as it is written everywhere — JSON, the log, the dashboard, the commands that take one: `b7`."""
    return None if batch is None else f"b{batch}"


def batch_number(ref: object) -> int | None:
    """`b7` (or 7, as evidence files written before said it) → 7; anything else → None."""
    text = str(ref).removeprefix("b") if ref is not None else ""
    return int(text) if text.isdigit() else None


@dataclass(slots=True)
class SendRecord:
    """Everything the log keeps about one send; the JSON contract is `to_json`."""

    target: str
    prompt: str
    machine: str = "local"
    id: int | None = None
    batch: int | None = None
    pane_id: str | None = None
    agent: str | None = None
    state_before: str | None = None
    verdict: Verdict = Verdict.PENDING
    evidence: list[str] = field(default_factory=list)
    reason: str = ""
    attempts: int = 0
    delay_ms: int = 0
    elapsed_ms: int = 0
    created: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    snapshots: dict[str, str] = field(default_factory=dict)
    options: dict[str, object] = field(default_factory=dict)
    resend_of: int | None = None
    kind: str = "send"
    """`send` (a prompt to an agent) or `exec` (a command to a shell): the two paths never trade targets."""
    exit_status: int | None = None
    """exec --wait: the command's exit status, when it was seen to finish."""
    server: str | None = None
    """`ServerRef.key` of the pane's tmux server; None for rows logged before servers were recorded."""
    requested: str = ""
    """The target as the caller named it (`web:1`, `gpu1:%3`); `target` becomes the pane's full address."""
    owner: Owner | None = None
    """The sending process (None for rows logged before owners were recorded)."""
    reply: str | None = None
    """The agent's answer (`send --wait`), when one was read."""
    reply_source: str | None = None
    """Where the answer came from (`screen`), or why there is none (`timeout`, `dialog`…); None: not waited for."""

    @property
    def command(self) -> str:
        """An exec record's shell command (kept where a send keeps its prompt: one text column per row)."""
        return self.prompt

    def to_json(self) -> dict[str, object]:
        extra: dict[str, object] = {"kind": "exec", "exit_status": self.exit_status} if self.kind == "exec" else {}
        if self.reply_source is not None:
            extra.update(reply=self.reply, reply_source=self.reply_source)
        return {
            "id": self.id,
            "batch": batch_ref(self.batch),
            "target": self.target,
            "pane_id": self.pane_id,
            "machine": self.machine,
            "server": self.server,
            "agent": self.agent,
            "state_before": self.state_before,
            "verdict": str(self.verdict),
            "evidence": list(self.evidence),
            "reason": self.reason,
            "attempts": self.attempts,
            "delay_ms": self.delay_ms,
            "elapsed_ms": self.elapsed_ms,
            **extra,
        }


@dataclass(slots=True)
class Schedule:
    """One recurring (or one-shot) prompt to one target."""

    name: str
    target: str
    kind: str
    spec: str
    anchor: float
    prompt: str = ""
    canary: bool = False
    expect: str | None = None
    expect_timeout: float = 120.0
    missed: str = "skip"
    when_idle: bool = False
    fail_after: int = 3
    on_failure: str | None = None
    tz: str | None = None
    paused: bool = False
    state: str = "ok"
    failures: int = 0
    next_fire: float | None = None
    created: float = 0.0
    id: int | None = None
    server: str | None = None
    """Socket path of the local tmux server the schedule was made for (-L/-S at `schedule add`); runs go
    there whatever server the daemon was started with. None: the machine's default server."""

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "target": self.target,
            "server": self.server,
            "kind": self.kind,
            "spec": self.spec,
            "prompt": self.prompt,
            "canary": self.canary,
            "expect": self.expect,
            "expect_timeout": self.expect_timeout,
            "missed": self.missed,
            "when_idle": self.when_idle,
            "fail_after": self.fail_after,
            "on_failure": self.on_failure,
            "paused": self.paused,
            "state": self.state,
            "failures": self.failures,
            "next_fire": self.next_fire,
        }


@dataclass(slots=True)
class Run:
    """One scheduled time of one schedule: fired, missed, or (after a crash) interrupted."""

    schedule: int
    scheduled: float
    outcome: str = "running"  # running | ok | failed | missed | interrupted
    id: int | None = None
    claimed: float | None = None
    fired: float | None = None
    finished: float | None = None
    send: int | None = None
    verdict: str | None = None
    canary: str | None = None  # passed | failed | None (no canary)
    expect: str | None = None
    detail: str = ""
    daemon: int | None = None
    manual: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "scheduled": self.scheduled,
            "fired": self.fired,
            "finished": self.finished,
            "send": self.send,
            "verdict": self.verdict,
            "canary": self.canary,
            "expect": self.expect,
            "outcome": self.outcome,
            "detail": self.detail,
            "manual": self.manual,
        }
