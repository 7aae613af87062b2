"""Fake SSH "machines" on this box for fleet tests: one netns + UTS + mount namespace and one sshd each.

Every machine gets its own address (10.<subnet>.<i>.2 behind a veth pair), hostname, /tmp (so `tmux -L x`
is a separate server per machine), $HOME (a tiny .bashrc, so each `ssh host cmd` stays fast) and
/etc/machine-id, while sharing the filesystem, so the project venv is usable inside. Needs root.

The state dir must be neither under /tmp or $HOME (the machines mount their own over those) nor below a
group/world-writable directory (sshd's StrictModes rejects the authorized_keys file there): use e.g.
``tempfile.mkdtemp(dir="/run")``. Several fleets may run at once (pytest-xdist) when each gets its own
``prefix`` and ``subnet``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

SSHD = "/usr/sbin/sshd"
NETNS_RUN_DIR = Path("/run/netns")
# a normal system PATH; the host's rc files (pyenv init and the like) cost ~80 ms per ssh command
_RC = (
    "# fleetns machine {name}: kept tiny, bash sources it for every `ssh host cmd`\n"
    "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
    "export LANG=C.UTF-8\n"
)
# `sh -c BOOT sh HOSTNAME TMP HOME ROOT_HOME MACHINE_ID SSHD CONFIG LOG SHARE...` in fresh UTS + mount
# namespaces (private propagation: none of these mounts reach the host). The shared entries of the real
# home are bound into the private one first, --rbind carries them over. sshd daemonizes, so this returns
# once sshd has loaded its config and host key.
_BOOT = """
h=$1 tmp=$2 home=$3 root_home=$4 mid=$5 sshd=$6 cfg=$7 log=$8; shift 8
printf %s "$h" > /proc/sys/kernel/hostname || exit
nl='
'
i=0; IFS=$nl
for t in $FLEET_TMP_SHARES; do
  i=$((i+1)); mkdir -p "$FLEET_STAGE/$i" && mount --bind "$t" "$FLEET_STAGE/$i" || exit
done
unset IFS
mount --bind "$tmp" /tmp || exit
i=0; IFS=$nl
for t in $FLEET_TMP_SHARES; do i=$((i+1)); mkdir -p "$t" && mount --bind "$FLEET_STAGE/$i" "$t" || exit; done
unset IFS
for s in "$@"; do mount --bind "$root_home/$s" "$home/$s" || exit; done
mount --rbind "$home" "$root_home" || exit
mount --bind "$mid" /etc/machine-id || exit
exec "$sshd" -f "$cfg" -E "$log"
"""
_SET_HOSTNAME = 'printf %s "$1" > /proc/sys/kernel/hostname'


def _run(args: Sequence[str], *, input: str | None = None, timeout: float = 30) -> str:
    """Run a setup command; fail with its stderr, which is what explains a broken fleet."""
    proc = subprocess.run(
        args,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def _popen(args: Sequence[str]) -> subprocess.Popen[str]:
    """A child with stdout/stderr captured as text and no stdin (ssh would otherwise read ours)."""
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _tmp_shares() -> list[str]:
    """The project and the interpreter's prefix, when they live under /tmp (hidden by each machine's own /tmp)."""
    candidates = sorted({str(Path(__file__).resolve().parents[1]), os.path.realpath(sys.prefix)})
    out: list[str] = []
    for c in candidates:
        if c.startswith("/tmp/") and not any(c == o or c.startswith(o + "/") for o in out):
            out.append(c)
    return out


def _interpreter_shares(root_home: str) -> list[str]:
    """Entries of root's home the running Python needs (a venv on a pyenv build lives in /root/.pyenv)."""
    shares = set()
    for path in (sys.prefix, sys.base_prefix, os.path.realpath(sys.executable)):
        rel = os.path.relpath(os.path.realpath(path), root_home)
        if rel != "." and not rel.startswith(".."):
            shares.add(rel.split(os.sep)[0])
    return sorted(shares)


def _keygen(paths: Iterable[tuple[Path, str]]) -> None:
    """Make ed25519 keys (path, comment) in parallel; ssh-keygen refuses to overwrite, so clear first."""
    procs = []
    for path, comment in paths:
        for old in (path, path.with_name(path.name + ".pub")):
            old.unlink(missing_ok=True)
        args = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)]
        procs.append((args, subprocess.Popen(args, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)))
    for args, proc in procs:
        _, err = proc.communicate(timeout=30)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {err.strip()}")


def _pub_line(key: Path) -> str:
    """'ssh-ed25519 AAAA...' from a generated key's .pub file, without its comment."""
    return " ".join(key.with_name(key.name + ".pub").read_text().split()[:2])


def _netns_ids(names: Iterable[str]) -> set[tuple[int, int]]:
    """(st_dev, st_ino) of named network namespaces, the identity /proc/<pid>/ns/net is compared with."""
    ids: set[tuple[int, int]] = set()
    for name in names:
        with contextlib.suppress(OSError):
            st = os.stat(NETNS_RUN_DIR / name)
            ids.add((st.st_dev, st.st_ino))
    return ids


def _pids_in(ids: set[tuple[int, int]]) -> set[int]:
    """Processes in any of these network namespaces (what `ip netns pids` does, for many at once)."""
    pids: set[int] = set()
    if not ids:
        return pids
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{entry.name}/ns/net")
        except OSError:  # gone, or a zombie (no namespaces any more)
            continue
        if (st.st_dev, st.st_ino) in ids:
            pids.add(int(entry.name))
    pids.discard(os.getpid())
    return pids


def _kill_netns(names: Iterable[str], grace: float = 1.0) -> None:
    """TERM every process in these netns, KILL what is left after `grace`; everything in them is ours."""
    names = list(names)
    ids = _netns_ids(names)
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        signalled: set[int] = set()
        deadline = time.monotonic() + wait
        while pids := _pids_in(ids):
            for pid in pids - signalled:  # also whatever forked since the last round
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            signalled |= pids
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        else:
            return
    raise RuntimeError(f"processes survived SIGKILL in netns {sorted(names)}: {sorted(_pids_in(ids))}")


@dataclass
class Machine:
    """One fake machine; `dir` holds its host key, sshd_config, sshd.pid/log, machine-id, hostname, home, tmp."""

    name: str
    address: str
    dir: Path
    ns: str
    veth: str = ""  # host-side end of its veth pair (e.g. for `tc qdisc ... netem`)

    @property
    def host_key(self) -> Path:
        return self.dir / "ssh_host_ed25519_key"

    @property
    def machine_id_file(self) -> Path:
        return self.dir / "machine-id"

    @property
    def hostname_file(self) -> Path:
        return self.dir / "hostname"

    @property
    def pid_file(self) -> Path:
        return self.dir / "sshd.pid"

    def host_key_fingerprint(self) -> str:
        out = _run(["ssh-keygen", "-lf", str(self.host_key.with_name(self.host_key.name + ".pub"))])
        return out.split()[1]

    def machine_id(self) -> str:
        return self.machine_id_file.read_text().strip()

    def hostname(self) -> str:
        """The hostname it has (or gets back on start())."""
        return self.hostname_file.read_text().strip()


class NetnsFleet:
    """N machines m1..mN at 10.<subnet>.<i>.2, reachable with `ssh -F <root>/ssh_config m<i>`."""

    def __init__(
        self,
        root: Path,
        n: int = 3,
        prefix: str = "dspt",
        subnet: int = 201,
        *,
        share_home: Sequence[str] | None = None,
    ) -> None:
        """share_home: names in root's real home to keep visible in the private one.

        The default is what the running interpreter needs (a venv's python may link into /root/.pyenv).
        """
        # a prefix ending in a letter means no other fleet's names match ^prefix\d+$ / ^prefixh\d+$
        if not re.fullmatch(r"[a-z]([a-z0-9]*[a-z])?", prefix):
            raise ValueError(f"prefix {prefix!r}: lowercase letters/digits, starting and ending with a letter")
        if not 1 <= n <= 254 or len(f"{prefix}h{n}") > 15:
            raise ValueError(f"n={n} with prefix {prefix!r}: need 1 <= n <= 254 and interface names <= 15 chars")
        if not 0 <= subnet <= 255:
            raise ValueError(f"subnet {subnet} is not an octet")
        self.root = Path(os.path.abspath(root))
        self.root_home = pwd.getpwuid(0).pw_dir
        shares = _interpreter_shares(self.root_home) if share_home is None else list(share_home)
        for share in shares:
            if not share or "/" in share or share in (".", ".."):
                raise ValueError(f"share_home entry {share!r}: a plain name in {self.root_home}")
        self.share_home = [s for s in shares if os.path.lexists(os.path.join(self.root_home, s))]
        self.share_tmp = _tmp_shares()
        """Paths under /tmp the machines must still see (a checkout or venv there: CI clones live in /tmp)."""
        self._check_root()
        self.n = n
        self.prefix = prefix
        self.subnet = subnet
        self.client_key = self.root / "id_ed25519"
        self.known_hosts = self.root / "known_hosts"
        self.ssh_config = self.root / "ssh_config"
        self.authorized_keys = self.root / "authorized_keys"
        self.machines = [
            Machine(f"m{i}", f"10.{subnet}.{i}.2", self.root / f"m{i}", f"{prefix}{i}", f"{prefix}h{i}")
            for i in range(1, n + 1)
        ]

    def _check_root(self) -> None:
        """Fail early and clearly instead of with an sshd that refuses every key."""
        hidden = ("/tmp", self.root_home)
        if any(self.root == Path(h) or Path(h) in self.root.parents for h in hidden):
            raise ValueError(f"fleet root {self.root} is under {hidden}, which the machines mount over")
        for parent in self.root.parents:
            if parent.exists() and parent.stat().st_mode & 0o022:
                raise ValueError(f"fleet root {self.root}: {parent} is group/world-writable (sshd StrictModes)")

    # -- lifecycle -------------------------------------------------------------------------------------

    def up(self) -> NetnsFleet:
        """Build the fleet from scratch (leftovers with this prefix go first); return once all answer ssh."""
        reason = fleet_unavailable_reason()
        if reason:
            raise RuntimeError(reason)
        self.down()
        try:
            self._check_subnet_free()
            self._write_state()
            self._make_network()
            self._spawn_sshd(self.machines)
            self._wait_ready(self.machines)
        except BaseException:
            self.down()
            raise
        return self

    def down(self) -> None:
        """Kill everything in this prefix's namespaces and delete them and their veths; keeps files in root."""
        ns_names = self._existing_netns()
        links = self._existing_links()
        try:
            _kill_netns(ns_names)
        finally:  # a process stuck in D state must not keep the names and addresses taken
            cmds = "".join(f"link del {link}\n" for link in links) + "".join(f"netns del {ns}\n" for ns in ns_names)
            if cmds:  # -force: best effort, what is left is reported below
                subprocess.run(["ip", "-force", "-batch", "-"], input=cmds, capture_output=True, text=True)
        left = self._existing_netns() + self._existing_links()
        if left:
            raise RuntimeError(f"fleet {self.prefix}: could not delete {left}")

    def __enter__(self) -> NetnsFleet:
        return self.up()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.down()

    def _existing_netns(self) -> list[str]:
        pattern = re.compile(rf"{self.prefix}\d+")
        try:
            return sorted(name for name in os.listdir(NETNS_RUN_DIR) if pattern.fullmatch(name))
        except FileNotFoundError:
            return []

    def _existing_links(self) -> list[str]:
        pattern = re.compile(rf"{self.prefix}(h\d+|x)")
        links = json.loads(_run(["ip", "-j", "link", "show"]) or "[]")
        return sorted(str(link["ifname"]) for link in links if pattern.fullmatch(str(link.get("ifname", ""))))

    def _check_subnet_free(self) -> None:
        """Two fleets on one subnet would route each other's traffic: refuse instead of flaking."""
        routes = json.loads(_run(["ip", "-j", "route", "show", "root", f"10.{self.subnet}.0.0/16"]) or "[]")
        if routes:
            raise RuntimeError(f"10.{self.subnet}.0.0/16 is already routed here (another fleet?): {routes}")

    def _write_state(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
        for m in self.machines:
            self._remove_machine_dir(m)
            m.dir.mkdir(mode=0o700)
        _keygen([(self.client_key, "fleetns-client"), *((m.host_key, m.name) for m in self.machines)])
        shutil.copyfile(self.client_key.with_name(self.client_key.name + ".pub"), self.authorized_keys)
        self.authorized_keys.chmod(0o600)
        for m in self.machines:
            (m.dir / "tmp").mkdir()
            (m.dir / "tmp").chmod(0o1777)
            (m.dir / "home").mkdir(mode=0o700)
            for rc in (".bashrc", ".profile"):
                (m.dir / "home" / rc).write_text(_RC.format(name=m.name))
            for share in self.share_home:  # mount points for the shared entries
                if os.path.isdir(os.path.join(self.root_home, share)):
                    (m.dir / "home" / share).mkdir()
                else:
                    (m.dir / "home" / share).touch()
            m.machine_id_file.write_text(uuid.uuid4().hex + "\n")
            m.hostname_file.write_text(m.name + "\n")
            (m.dir / "sshd_config").write_text(self._sshd_config(m))
        self._write_known_hosts({m.name: _pub_line(m.host_key) for m in self.machines})
        hosts = "".join(f"\nHost {m.name}\n  HostName {m.address}\n" for m in self.machines)
        self.ssh_config.write_text(
            "Host *\n"
            "  User root\n"
            f'  IdentityFile "{self.client_key}"\n'
            "  IdentitiesOnly yes\n"
            f'  UserKnownHostsFile "{self.known_hosts}"\n'
            "  GlobalKnownHostsFile /dev/null\n"
            "  StrictHostKeyChecking yes\n"
            "  BatchMode yes\n"
            "  ConnectTimeout 5\n"
            "  ControlMaster no\n"
            "  ControlPath none\n" + hosts
        )

    def _remove_machine_dir(self, m: Machine) -> None:
        """rmtree, unless a shared entry is mounted there after all (rmtree would empty the real one)."""
        for share in self.share_home:
            target = m.dir / "home" / share
            if os.path.ismount(target) or (target.is_dir() and not target.is_symlink() and any(target.iterdir())):
                raise RuntimeError(f"{target} is mounted or not empty; not removing {m.dir}")
        shutil.rmtree(m.dir, ignore_errors=True)

    def _sshd_config(self, m: Machine) -> str:
        return (
            "Port 22\n"
            f"ListenAddress {m.address}\n"
            f'HostKey "{m.host_key}"\n'
            f'PidFile "{m.pid_file}"\n'
            f'AuthorizedKeysFile "{self.authorized_keys}"\n'
            "PermitRootLogin prohibit-password\n"
            "PubkeyAuthentication yes\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "UsePAM no\n"
            "UseDNS no\n"
            "# the default of 10 would refuse the 11th channel on one multiplexed connection\n"
            "MaxSessions 200\n"
            "MaxStartups 100:30:200\n"
            "X11Forwarding no\n"
            "PrintMotd no\n"
            "PrintLastLog no\n"
            "Subsystem sftp internal-sftp\n"
            "LogLevel ERROR\n"
            "# the default sntrup761 hybrid costs ~70 ms per connection on a small box\n"
            "KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org\n"
        )

    def _write_known_hosts(self, keys: dict[str, str]) -> None:
        """Rewrite known_hosts with the given machines' key lines replaced (atomically: ssh may be reading)."""
        lines = {}
        if self.known_hosts.exists():
            for line in self.known_hosts.read_text().splitlines():
                lines[line.split(",", 1)[0]] = line
        for m in self.machines:
            if m.name in keys:
                lines[m.name] = f"{m.name},{m.address} {keys[m.name]}"
        tmp = self.known_hosts.with_name(self.known_hosts.name + ".new")
        tmp.write_text("".join(line + "\n" for line in lines.values()))
        os.replace(tmp, self.known_hosts)

    def _make_network(self) -> None:
        """One `ip -batch` for the host side, one per namespace for its side.

        The rest of 10.<subnet>/16 (a stopped machine's address too) is routed into a veth without carrier:
        connects time out, as to a machine that is gone, instead of leaving by the default route.
        """
        sink, gateway = f"{self.prefix}x", f"10.{self.subnet}.0.1"
        host = [
            f"link add {sink} type veth peer name {self.prefix}y",
            f"link set {sink} up",
            f"neigh replace {gateway} lladdr 02:00:00:00:00:01 dev {sink} nud permanent",
            f"route replace 10.{self.subnet}.0.0/16 via {gateway} dev {sink} onlink",
        ]
        for i, m in enumerate(self.machines, 1):
            host += [
                f"netns add {m.ns}",
                f"link add {m.veth} type veth peer name {self.prefix}n{i} netns {m.ns}",
                f"addr add 10.{self.subnet}.{i}.1/30 dev {m.veth}",
                f"link set {m.veth} up",
            ]
        _run(["ip", "-batch", "-"], input="\n".join(host) + "\n")
        procs = []
        for i, m in enumerate(self.machines, 1):
            inner = [
                "link set lo up",
                f"addr add {m.address}/30 dev {self.prefix}n{i}",
                f"link set {self.prefix}n{i} up",
                f"route add default via 10.{self.subnet}.{i}.1",
            ]
            args = ["ip", "-n", m.ns, "-batch", "-"]
            proc = subprocess.Popen(args, stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            procs.append((args, proc, "\n".join(inner) + "\n"))
        for args, proc, script in procs:
            _, err = proc.communicate(script, timeout=30)
            if proc.returncode != 0:
                raise RuntimeError(f"{' '.join(args)} failed: {err.strip()}")

    def _spawn_sshd(self, machines: Sequence[Machine]) -> None:
        """Start each sshd in fresh UTS + mount namespaces inside its netns; it daemonizes."""
        procs = []
        for m in machines:
            m.pid_file.unlink(missing_ok=True)
            args = ["ip", "netns", "exec", m.ns, "env", f"FLEET_TMP_SHARES={chr(10).join(self.share_tmp)}"]
            args += [f"FLEET_STAGE={m.dir / 'stage'}", "unshare", "--uts", "--mount", "--propagation", "private"]
            args += ["sh", "-c", _BOOT, "sh", m.hostname(), str(m.dir / "tmp"), str(m.dir / "home"), self.root_home]
            args += [str(m.machine_id_file), SSHD, str(m.dir / "sshd_config"), str(m.dir / "sshd.log")]
            args += self.share_home
            procs.append((m, subprocess.Popen(args, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)))
        for m, proc in procs:
            _, err = proc.communicate(timeout=30)
            if proc.returncode != 0:
                raise RuntimeError(f"sshd for {m.name} failed: {err.strip()} {self._log(m)}")

    @staticmethod
    def _log(m: Machine) -> str:
        log = m.dir / "sshd.log"
        return f"(sshd.log: {log.read_text().strip()!r})" if log.exists() else ""

    def _wait_ready(self, machines: Sequence[Machine], known_hosts: Path | None = None, timeout: float = 15) -> None:
        """Poll until each sshd has written its pid file (it listens by then) and answers `uname -n`."""
        extra = ["-o", f"UserKnownHostsFile={known_hosts}"] if known_hosts else []
        pending = list(machines)
        errors: dict[str, str] = {}
        deadline = time.monotonic() + timeout
        while True:
            procs = [
                (m, _popen(self._ssh_args(m, "uname -n", extra))) for m in pending if self._sshd_pid(m) is not None
            ]
            for m, proc in procs:
                out, err = proc.communicate(timeout=30)
                if proc.returncode == 0 and out.strip() == m.hostname():
                    pending.remove(m)
                else:
                    errors[m.name] = f"rc={proc.returncode} out={out.strip()!r} err={err.strip()!r}"
            if not pending:
                return
            if time.monotonic() > deadline:
                detail = "; ".join(f"{m.name}: {errors.get(m.name, 'no sshd.pid')} {self._log(m)}" for m in pending)
                raise RuntimeError(f"fleet {self.prefix}: not reachable over ssh after {timeout}s: {detail}")
            time.sleep(0.02)

    # -- per machine -----------------------------------------------------------------------------------

    def machine(self, machine: Machine | str) -> Machine:
        """The Machine for a name like "m2" (a Machine is returned as is)."""
        if isinstance(machine, Machine):
            return machine
        for m in self.machines:
            if m.name == machine:
                return m
        raise KeyError(f"no machine {machine!r} in fleet {self.prefix}")

    def _ssh_args(self, m: Machine, command: str, extra: Sequence[str] = ()) -> list[str]:
        return ["ssh", "-F", str(self.ssh_config), *extra, m.name, command]

    def ssh(
        self, machine: Machine | str, command: str, check: bool = True, timeout: float = 20
    ) -> subprocess.CompletedProcess[str]:
        """Run a shell command on a machine (test setup, e.g. starting tmux and fake agents there)."""
        args = self._ssh_args(self.machine(machine), command)
        proc = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            error = subprocess.CalledProcessError(proc.returncode, args, proc.stdout, proc.stderr)
            error.add_note(f"stderr: {proc.stderr.strip()}")
            raise error
        return proc

    def _sshd_pid(self, m: Machine) -> int | None:
        """The listening sshd's pid once it is bound (the pid file is written after listen)."""
        try:
            text = m.pid_file.read_text()
        except FileNotFoundError:
            return None
        if not text.endswith("\n") or not text.strip().isdigit():
            return None  # still being written
        pid = int(text)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    def set_hostname(self, machine: Machine | str, hostname: str) -> None:
        """Rename the machine (its UTS namespace); new ssh sessions see it, and start() keeps it."""
        m = self.machine(machine)
        if not re.fullmatch(r"\S{1,64}", hostname):  # what the kernel takes (tests may want odd ones)
            raise ValueError(f"bad hostname {hostname!r}")
        m.hostname_file.write_text(hostname + "\n")
        pid = self._sshd_pid(m)
        if pid is not None:
            _run(["nsenter", "-t", str(pid), "--uts", "sh", "-c", _SET_HOSTNAME, "sh", hostname])

    def set_machine_id(self, machine: Machine | str, machine_id: str) -> None:
        """Rewrite the machine-id file in place: a new inode would not show through the bind mount."""
        if "\n" in machine_id:
            raise ValueError("machine-id must be one line")
        with open(self.machine(machine).machine_id_file, "w") as f:  # O_TRUNC keeps the inode
            f.write(machine_id + "\n")

    def rekey(self, machine: Machine | str, *, trust: bool) -> str:
        """New host key; sshd restarts on SIGHUP (same process and namespaces, sessions live on).

        trust=True updates its known_hosts line, trust=False keeps the old one so ssh sees a changed key.
        Returns the new fingerprint.
        """
        m = self.machine(machine)
        new = m.host_key.with_name(m.host_key.name + ".new")
        _keygen([(new, m.name)])
        os.replace(new.with_name(new.name + ".pub"), m.host_key.with_name(m.host_key.name + ".pub"))
        os.replace(new, m.host_key)
        line = f"{m.name},{m.address} {_pub_line(m.host_key)}\n"
        if trust:
            self._write_known_hosts({m.name: _pub_line(m.host_key)})
        pid = self._sshd_pid(m)
        if pid is not None:
            m.pid_file.unlink()  # sshd writes it again once it listens with the new key
            os.kill(pid, signal.SIGHUP)
            only_new = m.dir / "known_hosts.rekey"
            only_new.write_text(line)
            self._wait_ready([m], known_hosts=only_new)
        return m.host_key_fingerprint()

    def stop(self, machine: Machine | str) -> None:
        """The machine goes away: its processes die (peers get a FIN), its veth goes down (new connects time out)."""
        m = self.machine(machine)
        _kill_netns([m.ns])
        m.pid_file.unlink(missing_ok=True)
        _run(["ip", "link", "set", m.veth, "down"])

    def start(self, machine: Machine | str) -> None:
        """Bring a stopped machine back with the same address, host key, hostname, machine-id, /tmp and home."""
        m = self.machine(machine)
        _run(["ip", "link", "set", m.veth, "up"])
        if self._sshd_pid(m) is None:
            self._spawn_sshd([m])
        self._wait_ready([m])


@functools.cache
def fleet_unavailable_reason() -> str | None:
    """Why this process cannot build a fleet (a pytest.skip message), or None; probed once."""
    if os.geteuid() != 0:
        return "netns fleet needs root"
    for tool in ("ip", "unshare", "nsenter", "ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"netns fleet needs {tool} (iproute2, util-linux, openssh-client)"
    if not os.access(SSHD, os.X_OK):
        return f"netns fleet needs {SSHD} (openssh-server)"
    if not os.path.isfile("/etc/machine-id"):
        return "netns fleet needs an /etc/machine-id to bind-mount over"
    probe = f"fnsprobe{os.getpid() % 10_000_000}"
    try:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=10)
        _run(["ip", "netns", "add", probe], timeout=10)
        _run(["ip", "netns", "del", probe], timeout=10)
        _run(["unshare", "--uts", "--mount", "true"], timeout=10)
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        return f"netns fleet: namespaces unavailable: {e}"
    return None


def _smoke() -> None:
    """Bring up 3 machines and exercise every operation; `python tests/fleetns.py` as root."""
    import tempfile

    reason = fleet_unavailable_reason()
    if reason:
        sys.exit(f"skip: {reason}")
    root = Path(tempfile.mkdtemp(prefix="fleetns-", dir="/run"))
    # own prefix/subnet: a fleet someone else is running with the defaults must survive this
    fleet = NetnsFleet(root, n=3, prefix="fnsmoke", subnet=209)
    try:
        t0 = time.monotonic()
        fleet.up()
        print(f"up(): {time.monotonic() - t0:.3f}s")
        m1, m2, m3 = fleet.machines
        names, ids = [], []
        for m in fleet.machines:
            out = fleet.ssh(m, "uname -n; cat /etc/machine-id; ls -A /tmp; echo HOME=$HOME PATH=$PATH").stdout
            print(f"{m.name} {m.address}: {out.strip()!r}")
            lines = out.splitlines()
            names.append(lines[0])
            ids.append(lines[1])
            assert lines[1] == m.machine_id(), (lines, m.machine_id())
        host_id = Path("/etc/machine-id").read_text().strip()
        assert names == ["m1", "m2", "m3"], names
        assert len(set(ids)) == 3 and host_id not in ids, ids
        assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids), ids

        # private /tmp: tmux -L x is a separate server per machine; the venv works inside
        marker = f"fleetns-marker-{os.getpid()}"
        fleet.ssh(m1, f"touch /tmp/{marker} && tmux -L fnsmoke new-session -d -s one 'sleep 300'")
        assert fleet.ssh(m2, f"test -e /tmp/{marker}", check=False).returncode == 1
        assert not Path("/tmp", marker).exists() and (m1.dir / "tmp" / marker).exists()
        assert fleet.ssh(m2, "tmux -L fnsmoke ls", check=False).returncode != 0
        assert "one:" in fleet.ssh(m1, "tmux -L fnsmoke ls").stdout
        py = f"{sys.executable} -c 'import os, socket; print(socket.gethostname(), os.path.expanduser(\"~\"))'"
        assert fleet.ssh(m3, py).stdout.split() == ["m3", "/root"]
        assert fleet.ssh(m3, "head -1 ~/.bashrc").stdout.startswith("# fleetns machine m3")

        fleet.set_hostname(m1, "renamed-m1")
        assert fleet.ssh(m1, "uname -n").stdout.strip() == "renamed-m1"
        assert fleet.ssh(m2, "uname -n").stdout.strip() == "m2"
        inode = m2.machine_id_file.stat().st_ino
        fleet.set_machine_id(m2, "0123456789abcdef0123456789abcdef")
        assert m2.machine_id_file.stat().st_ino == inode
        assert fleet.ssh(m2, "cat /etc/machine-id").stdout.strip() == "0123456789abcdef0123456789abcdef"

        # a session that is open across rekey and stop
        session = _popen(fleet._ssh_args(m1, "echo ready; exec sleep 300"))
        assert session.stdout is not None and session.stdout.readline() == "ready\n"
        old = m1.host_key_fingerprint()
        t0 = time.monotonic()
        new = fleet.rekey(m1, trust=True)
        print(f"rekey(trust=True): {time.monotonic() - t0:.3f}s {old} -> {new}")
        assert new != old and new == m1.host_key_fingerprint()
        assert fleet.ssh(m1, "uname -n; tmux -L fnsmoke ls").stdout.startswith("renamed-m1\none:")
        assert session.poll() is None, ("rekey must not end open sessions", session.communicate())

        old_known = fleet.known_hosts.read_text()
        t0 = time.monotonic()
        new2 = fleet.rekey(m2, trust=False)
        print(f"rekey(trust=False): {time.monotonic() - t0:.3f}s -> {new2}")
        assert fleet.known_hosts.read_text() == old_known
        bad = fleet.ssh(m2, "true", check=False)
        assert bad.returncode == 255 and "REMOTE HOST IDENTIFICATION HAS CHANGED" in bad.stderr, bad
        fleet.rekey(m2, trust=True)
        assert fleet.ssh(m2, "cat /etc/machine-id").stdout.strip() == "0123456789abcdef0123456789abcdef"

        # stop/start
        fleet.ssh(m3, f"touch /tmp/{marker}")
        m3_id = m3.machine_id()
        for m in fleet.machines:  # the shared entries are mounted in the machines only, never on the host
            for share in fleet.share_home:
                target = m.dir / "home" / share
                assert not os.path.ismount(target) and not (target.is_dir() and any(target.iterdir())), target
        session3 = _popen(fleet._ssh_args(m3, "echo ready; exec sleep 300"))
        assert session3.stdout is not None and session3.stdout.readline() == "ready\n"
        t0 = time.monotonic()
        fleet.stop(m3)
        print(f"stop(): {time.monotonic() - t0:.3f}s")
        session3.wait(timeout=10)
        print(f"  open session ended rc={session3.returncode} after {time.monotonic() - t0:.3f}s")
        t0 = time.monotonic()
        gone = fleet.ssh(m3, "true", check=False)
        print(f"  ssh to it: rc={gone.returncode} after {time.monotonic() - t0:.3f}s: {gone.stderr.strip()}")
        assert gone.returncode == 255
        t0 = time.monotonic()
        fleet.start(m3)
        print(f"start(): {time.monotonic() - t0:.3f}s")
        out = fleet.ssh(m3, f"uname -n; cat /etc/machine-id; ls /tmp/{marker}; tmux -L fnsmoke ls; true").stdout
        assert out.splitlines()[:3] == ["m3", m3_id, f"/tmp/{marker}"], out
        assert session.poll() is None
        session.kill()
        session.wait()
    except BaseException:
        print(f"FAILED; state (sshd logs) kept in {root}", file=sys.stderr)
        raise
    finally:
        t0 = time.monotonic()
        fleet.down()
        print(f"down(): {time.monotonic() - t0:.3f}s")
    fleet.down()
    left = [ns for ns in os.listdir(NETNS_RUN_DIR) if ns.startswith("fnsmoke")]
    left += [link for link in fleet._existing_links() if link.startswith("fnsmoke")]
    assert not left, left
    assert not json.loads(_run(["ip", "-j", "route", "show", "root", "10.209.0.0/16"]) or "[]")
    shutil.rmtree(root)
    print("ok")


if __name__ == "__main__":
    _smoke()
