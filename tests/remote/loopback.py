"""One real OpenSSH sshd on 127.0.0.1, run as the current user: the fleet tests that need no root.

The network-namespace fleet (tests/fleetns.py) needs root; this is what can be had without it: a real
sshd on a free high port with its own host key, authorized_keys and client config, so the product's
SSH path (asyncssh, known_hosts, trust on first use, the identity check) runs for real against one
machine, this one. It runs unchanged as root.

Why the settings are what they are:

- ``UsePAM no`` and pubkey only: PAM and passwords need root; as any other user sshd can only log in
  that user anyway.
- ``StrictModes no``: the state dir is a private temp dir, but /tmp and a home owned by someone else
  would otherwise get the authorized_keys file refused.
- ``SetEnv HOME=…`` points the login shell at a tiny private rc: the user's own rc files (pyenv init
  and the like) cost ~0.1 s per exec and may print, which would garble every remote command.
- ``PerSourcePenalties no`` (OpenSSH >= 9.8 only): a client dropping before auth, as trust-on-first-use
  does, would otherwise get 127.0.0.1 refused for a while, and with it the next test.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

SSHD = "/usr/sbin/sshd"
NAME = "loop"
"""The ssh_config alias of the loopback machine."""

_RC = (
    "# loopback sshd: kept tiny, the login shell sources it for every `ssh loop cmd`\n"
    "export PATH={path}\n"
    "export LANG=C.UTF-8\n"
)


def sshd_unavailable_reason() -> str | None:
    """Why a loopback sshd cannot be run here (None if it can)."""
    if not os.access(SSHD, os.X_OK):
        return f"{SSHD} is not installed (openssh-server)"
    for tool in ("ssh-keygen", "ssh"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (openssh-client)"
    if shutil.which("tmux") is None:
        return "tmux is not installed"
    return None


def free_port() -> int:
    """A port nothing listens on right now (another process may still take it: start() retries)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fingerprint(pub: Path) -> str:
    """SHA256:… of a public key file, as `ssh-keygen -lf` (and `fleet add`) prints it."""
    return _run(["ssh-keygen", "-lf", str(pub)]).split()[1]


def _run(args: list[str], timeout: float = 30) -> str:
    proc = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def _keygen(path: Path, comment: str) -> None:
    """A fresh ed25519 key pair at path (ssh-keygen refuses to overwrite, so clear first)."""
    for old in (path, path.with_name(path.name + ".pub")):
        old.unlink(missing_ok=True)
    _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])


def _pub_line(key: Path) -> str:
    """'ssh-ed25519 AAAA…' of a key pair, without its comment."""
    return " ".join(key.with_name(key.name + ".pub").read_text().split()[:2])


class LoopbackSshd:
    """sshd as the current user on 127.0.0.1:<port>; `ssh -F <ssh_config> loop` reaches it.

    Everything lives in `dir` (a fresh private temp dir unless given): host and client keys,
    authorized_keys, sshd_config, sshd.pid, sshd.log, known_hosts, ssh_config, the shell's home.
    """

    def __init__(self, dir: Path | None = None) -> None:
        self.dir = Path(dir or tempfile.mkdtemp(prefix="dispatch-loopback-")).resolve()
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.user = getpass.getuser()
        self.port = 0
        self.host_key = self.dir / "ssh_host_ed25519_key"
        self.client_key = self.dir / "id_ed25519"
        self.authorized_keys = self.dir / "authorized_keys"
        self.known_hosts = self.dir / "known_hosts"
        self.ssh_config = self.dir / "ssh_config"
        self.sshd_config = self.dir / "sshd_config"
        self.pid_file = self.dir / "sshd.pid"
        self.log = self.dir / "sshd.log"
        self.home = self.dir / "home"
        self._proc: subprocess.Popen[str] | None = None
        self._penalties = ""

    # -- lifecycle -------------------------------------------------------------------------------------

    def __enter__(self) -> LoopbackSshd:
        try:
            self.setup()
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def setup(self) -> None:
        """Keys, authorized_keys and the private home; the configs are written by start()."""
        _keygen(self.host_key, f"{NAME}-host")
        _keygen(self.client_key, f"{NAME}-client")
        self.authorized_keys.write_text(_pub_line(self.client_key) + "\n")
        self.authorized_keys.chmod(0o600)
        self.home.mkdir(mode=0o700, exist_ok=True)
        tmux_dir = os.path.dirname(shutil.which("tmux") or "/usr/bin/tmux")
        path = ":".join(dict.fromkeys([tmux_dir, "/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"]))
        for rc in (".bashrc", ".profile", ".zshenv"):
            (self.home / rc).write_text(_RC.format(path=path))

    def start(self, attempts: int = 5) -> None:
        """Start sshd on a free port (the same one again after stop()); return once it answers ssh."""
        error = ""
        for _ in range(attempts):
            if not self.port:
                self.port = free_port()
            self._write_configs()
            self.pid_file.unlink(missing_ok=True)
            self._proc = subprocess.Popen(
                [SSHD, "-D", "-f", str(self.sshd_config), "-E", str(self.log)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            error = self._wait_listening()
            if not error:
                self._wait_ssh()
                return
            self._reap()
            if "Address already in use" not in error and "Cannot bind" not in error:
                break
            self.port = 0  # someone took the port between free_port() and the bind: pick another
        raise RuntimeError(f"loopback sshd did not start: {error}")

    def stop(self) -> None:
        """Stop the listener (sessions already open keep running, as after a real sshd restart)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
        self._reap()

    def restart(self) -> None:
        """Stop, then start on the same port (with whatever host key is on disk now)."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop sshd and delete the state dir."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _reap(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if proc.stderr is not None:
            proc.stderr.close()

    def _wait_listening(self, timeout: float = 10) -> str:
        """'' once sshd wrote its pid file (it has bound the port by then), else why it did not."""
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read() if self._proc.stderr else ""
                return f"sshd exited {self._proc.returncode}: {err.strip()} {self._log_tail()}".strip()
            with contextlib.suppress(FileNotFoundError):
                if self.pid_file.read_text().strip() == str(self._proc.pid):
                    return ""
            time.sleep(0.01)
        return f"no {self.pid_file.name} after {timeout}s {self._log_tail()}"

    def _wait_ssh(self, timeout: float = 10) -> None:
        """The first real login: proves keys, known_hosts and the login shell all work."""
        deadline = time.monotonic() + timeout
        while True:
            proc = self.ssh("uname -n", check=False)
            if proc.returncode == 0 and proc.stdout.strip() == os.uname().nodename:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"loopback sshd on port {self.port} refuses `ssh {NAME}`: rc={proc.returncode}"
                    f" out={proc.stdout.strip()!r} err={proc.stderr.strip()!r} {self._log_tail()}"
                )
            time.sleep(0.05)

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return f"(sshd.log: {' | '.join(self.log.read_text().splitlines()[-5:])})"
        return ""

    # -- configs ---------------------------------------------------------------------------------------

    def _write_configs(self) -> None:
        self.sshd_config.write_text(self._sshd_config(self._penalties_line()))
        self.write_known_hosts()
        self.ssh_config.write_text(self.client_config(self.known_hosts))

    def _penalties_line(self) -> str:
        """`PerSourcePenalties no` where sshd knows the keyword (>= 9.8); older ones reject it as fatal."""
        if not self._penalties:
            self.sshd_config.write_text(self._sshd_config("PerSourcePenalties no\n"))
            probe = subprocess.run(
                [SSHD, "-t", "-f", str(self.sshd_config)], stdin=subprocess.DEVNULL, capture_output=True, text=True
            )
            self._penalties = "PerSourcePenalties no\n" if probe.returncode == 0 else "\n"
        return self._penalties

    def _sshd_config(self, extra: str) -> str:
        return (
            f"Port {self.port}\n"
            "ListenAddress 127.0.0.1\n"
            f'HostKey "{self.host_key}"\n'
            f'PidFile "{self.pid_file}"\n'
            f'AuthorizedKeysFile "{self.authorized_keys}"\n'
            f"AllowUsers {self.user}\n"
            "AuthenticationMethods publickey\n"
            "PubkeyAuthentication yes\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "UsePAM no\n"
            "StrictModes no\n"
            "UseDNS no\n"
            "PermitRootLogin prohibit-password\n"
            "# the default of 10 would refuse the 11th channel on one multiplexed connection\n"
            "MaxSessions 50\n"
            "MaxStartups 100:30:200\n"
            "X11Forwarding no\n"
            "PrintMotd no\n"
            "PrintLastLog no\n"
            f"SetEnv {self._session_env()}\n"
            "LogLevel INFO\n"
            "# the default sntrup761 hybrid costs ~70 ms per connection on a small box\n"
            "KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org\n" + extra
        )

    def _session_env(self) -> str:
        """HOME for the tiny rc; TMUX_TMPDIR as here, so `tmux -L` over ssh finds the servers started here."""
        env = {"HOME": str(self.home)}
        if os.environ.get("TMUX_TMPDIR"):
            env["TMUX_TMPDIR"] = os.environ["TMUX_TMPDIR"]
        return " ".join(f'{k}="{v}"' for k, v in env.items())

    def client_config(self, known_hosts: Path) -> str:
        """The ssh_config text for `loop`, trusting host keys from `known_hosts` only."""
        return (
            f"Host {NAME}\n"
            "  HostName 127.0.0.1\n"
            f"  Port {self.port}\n"
            f"  User {self.user}\n"
            f'  IdentityFile "{self.client_key}"\n'
            "  IdentitiesOnly yes\n"
            f'  UserKnownHostsFile "{known_hosts}"\n'
            "  GlobalKnownHostsFile /dev/null\n"
            "  StrictHostKeyChecking yes\n"
            "  BatchMode yes\n"
            "  ConnectTimeout 5\n"
        )

    def write_known_hosts(self) -> None:
        """known_hosts trusting the current host key; a non-22 port is written `[host]:port`."""
        tmp = self.known_hosts.with_name(self.known_hosts.name + ".new")
        tmp.write_text(f"[127.0.0.1]:{self.port} {_pub_line(self.host_key)}\n")
        os.replace(tmp, self.known_hosts)  # atomically: a client may be reading it

    # -- for tests -------------------------------------------------------------------------------------

    def host_key_fingerprint(self) -> str:
        return fingerprint(self.host_key.with_name(self.host_key.name + ".pub"))

    def rekey(self, *, trust: bool) -> str:
        """A new host key, sshd restarted with it; `trust` also puts it in known_hosts. The new fingerprint."""
        old = self.known_hosts.read_text()
        _keygen(self.host_key, f"{NAME}-host")
        self.restart()
        if not trust:
            self.known_hosts.write_text(old)
        return self.host_key_fingerprint()

    def ssh(self, command: str, *, check: bool = True, timeout: float = 20) -> subprocess.CompletedProcess[str]:
        """Run a command on the loopback machine with OpenSSH's own client."""
        args = ["ssh", "-F", str(self.ssh_config), NAME, command]
        proc = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{shlex.join(args)}: rc={proc.returncode} {proc.stderr.strip()}")
        return proc
