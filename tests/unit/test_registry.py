"""The machine registry: strict parsing, clear errors, textual edits that keep the user's file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from dashboard.adapters.config import add_machine, load_registry, remove_machine
from dashboard.core.registry import Identity, Machine, RegistryError, parse_registry, qualify, split_target

MID = "0123456789abcdef0123456789abcdef"
FP = "SHA256:" + "A" * 43


def entry(**over: object) -> dict[str, object]:
    return {"address": "gpu1.tailnet.ts.net", "hostname": "gpu1", "machine_id": MID, "host_key": FP, **over}


def test_a_full_entry_parses() -> None:
    reg = parse_registry({"machines": {"gpu1": entry(user="me", port=2222, socket="agents")}, "ssh": {"config": "/x"}})
    m = reg.get("gpu1")
    assert (m.address, m.user, m.port, m.socket_args, m.has_identity) == (
        "gpu1.tailnet.ts.net",
        "me",
        2222,
        ["-L", "agents"],
        True,
    )
    assert reg.ssh_config == "/x"
    assert Machine("a", "b", socket="/run/t.sock").socket_args == ["-S", "/run/t.sock"]


@pytest.mark.parametrize(
    ("machines", "says"),
    [
        ({"gpu1": entry(port="22")}, "machines.gpu1.port: expected an integer, got '22'"),
        ({"gpu1": entry(port=0)}, "machines.gpu1.port: expected 1-65535"),
        ({"gpu1": entry(port=True)}, "machines.gpu1.port: expected an integer"),
        ({"gpu1": entry(hostnmae="gpu1")}, "machines.gpu1.hostnmae: unknown field"),
        ({"gpu1": {"user": "me"}}, "machines.gpu1: missing 'address'"),
        ({"gpu1": entry(address="two words")}, "machines.gpu1.address: not a host name"),
        ({"gpu1": entry(address="-oProxyCommand=x")}, "machines.gpu1.address: not a host name"),
        ({"gpu1": entry(machine_id="xyz")}, "machines.gpu1.machine_id: expected 32 lowercase hex"),
        ({"gpu1": entry(host_key="ssh-ed25519 AAAA")}, "machines.gpu1.host_key: expected a SHA256:"),
        ({"gpu1": entry(connect_timeout=-1)}, "machines.gpu1.connect_timeout: expected seconds"),
        ({"local": entry()}, "'local' is reserved"),
        ({"a:b": entry()}, "bad machine name 'a:b'"),
        ({"gpu1": "gpu1.lan"}, "machines.gpu1: expected a table"),
    ],
)
def test_malformed_entries_name_the_field(machines: dict[str, object], says: str) -> None:
    with pytest.raises(RegistryError) as info:
        parse_registry({"machines": machines}, "conf.toml")
    assert says in str(info.value)
    assert str(info.value).startswith("conf.toml")
    assert info.value.malformed


def test_bad_toml_and_bad_sections(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[machines.gpu1\naddress = 1\n")
    with pytest.raises(RegistryError, match=r"not valid TOML.*line 1"):
        load_registry(path)
    with pytest.raises(RegistryError, match="'machines' must be a table"):
        parse_registry({"machines": ["gpu1"]})
    with pytest.raises(RegistryError, match=r"ssh\.proxy: unknown setting"):
        parse_registry({"ssh": {"proxy": "x"}})
    assert load_registry(tmp_path / "absent.toml").machines == {}


def test_targets_name_machines_only_when_registered() -> None:
    machines = {"gpu1", "work"}
    assert split_target("gpu1:agents:0.1", machines) == ("gpu1", "agents:0.1")
    assert split_target("gpu1:%12", machines) == ("gpu1", "%12")
    assert split_target("local:%3", machines) == ("local", "%3")
    assert split_target("%3", machines) == ("local", "%3")
    assert split_target("agents:0.1", machines) == ("local", "agents:0.1")
    # one colon and a registered name: the machine wins (write local:work:1 for the session)
    assert split_target("work:1", machines) == ("work", "1")
    with pytest.raises(RegistryError, match="unknown machine 'gpu9'") as info:
        split_target("gpu9:agents:0.1", machines)
    assert not info.value.malformed
    with pytest.raises(RegistryError, match="names a machine but no pane"):
        split_target("gpu1:", machines)
    assert qualify("local", "a:0.1") == "a:0.1" and qualify("gpu1", "a:0.1") == "gpu1:a:0.1"


def test_every_mismatching_field_is_reported() -> None:
    m = Machine("gpu1", "x", hostname="gpu1", machine_id=MID, host_key=FP)
    assert m.mismatches(Identity("gpu1", MID, FP, "gpu1")) == []
    assert m.mismatches(Identity("gpu1", MID, FP, None)) == []
    wrong = m.mismatches(Identity("gpu2", "f" * 32, "SHA256:" + "B" * 43, "gpu2"))
    assert [w.field for w in wrong] == ["host key", "hostname", "machine-id"]
    assert "hostname expected 'gpu1', got 'gpu2'" in [str(w) for w in wrong]
    # a tmux server answering from another host than the shell that reached it
    assert [w.field for w in m.mismatches(Identity("gpu1", MID, FP, "laptop"))] == ["tmux server host"]


def test_add_and_remove_keep_the_rest_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('# my fleet\n[ssh]\nconfig = "/etc/ssh/fleet_config"  # shared\n\n[machines.old]\naddress = "o"\n')
    add_machine(path, Machine("gpu1", "gpu1.lan", user="me", hostname="gpu1", machine_id=MID, host_key=FP))
    add_machine(path, Machine("gpu.2", 'we"ird.lan', hostname="h", machine_id=MID, host_key=FP))
    reg = load_registry(path)
    assert list(reg.machines) == ["old", "gpu1", "gpu.2"]
    assert reg.get("gpu1").user == "me"
    assert reg.machines["gpu.2"].address == 'we"ird.lan'
    with pytest.raises(RegistryError, match="already registered"):
        add_machine(path, Machine("gpu1", "elsewhere"))
    add_machine(path, Machine("gpu1", "elsewhere"), replace=True)
    assert load_registry(path).get("gpu1").address == "elsewhere"
    remove_machine(path, "old")
    text = path.read_text()
    assert text.startswith("# my fleet\n[ssh]\nconfig")
    assert "# shared" in text and "[machines.old]" not in text
    assert list(tomllib.loads(text)["machines"]) == ["gpu.2", "gpu1"]
    with pytest.raises(RegistryError, match="unknown machine 'old'"):
        remove_machine(path, "old")


def test_a_bad_entry_can_be_removed_and_is_never_written(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[machines.ok]\naddress = "a"\n\n[machines.bad]\naddress = "b"\nport = "22"\n')
    with pytest.raises(RegistryError, match="port"):
        load_registry(path)
    remove_machine(path, "bad")
    assert list(load_registry(path).machines) == ["ok"]
    before = path.read_text()
    with pytest.raises(RegistryError):
        add_machine(path, Machine("x", "a", machine_id="nothex"))  # would not load back: refused
    assert path.read_text() == before
