"""SSH config entries for `ssh <cluster>`: what each Host block says, the Include line, consent."""

from __future__ import annotations

from pathlib import Path

import pytest

from styx.errors import StyxError
from styx.execution.ssh import config_entries as ce
from styx.execution.ssh.access import SSHAccessConfig, SSHClusterAccess, SSHCredentials
from styx.providers.instance import Instance, InstanceId, InstanceState, ProviderType


@pytest.fixture
def user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "user-home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # never the real ~/.ssh/config
    return home


def _inst(rank: int) -> Instance:
    return Instance(
        id=InstanceId(f"i-{rank}abc"),
        provider=ProviderType.AWS,
        cluster_name="train",
        instance_type="m6i.large",
        state=InstanceState.RUNNING,
        public_ip=f"198.51.100.{rank + 1}",
        private_ip=f"10.0.0.{rank + 1}",
        node_rank=rank,
        ssh_user="ubuntu",
    )


def _access(key: Path, **config: object) -> SSHClusterAccess:
    cfg = SSHAccessConfig(credentials=lambda _i: SSHCredentials(str(key)), **config)  # type: ignore[arg-type]
    return SSHClusterAccess("train", [_inst(1), _inst(0)], cfg)


def test_one_entry_per_node_with_proxy_and_pinned_key(styx_home: Path, tmp_path: Path) -> None:
    key = tmp_path / "id key"
    key.write_text("k")
    access = _access(key, proxy_command="nc -x bastion:1080 %h %p")
    from styx.state.store import open_store

    open_store().save_instances([_inst(0), _inst(1)])  # keys are pinned on saved instances
    access.host_keys.pin("i-0abc", "ssh-ed25519 AAAAC3Nza-head")
    head, worker = ce.entries_for(access)
    assert (head.alias, worker.alias) == ("train", "train-worker1")
    text = head.render()
    assert "Host train\n  HostName 198.51.100.1\n  Port 22\n  User ubuntu\n" in text
    assert f'IdentityFile "{key}"' in text and "IdentitiesOnly yes" in text
    assert "ProxyCommand nc -x bastion:1080 %h %p" in text
    assert "HostKeyAlias styx-i-0abc" in text and "StrictHostKeyChecking yes" in text
    known = Path(str(head.known_hosts_file))
    assert known.read_text() == "styx-i-0abc ssh-ed25519 AAAAC3Nza-head\n"
    # Not pinned yet: nothing goes into the user's own known_hosts.
    assert "UserKnownHostsFile /dev/null" in worker.render()


def test_jump_host_and_internal_ips(styx_home: Path, tmp_path: Path) -> None:
    key = tmp_path / "id"
    key.write_text("k")
    (entry,) = ce.entries_for(_access(key, jump_host="me@bastion", use_internal_ips=True))[:1]
    assert "HostName 10.0.0.1" in entry.render() and "ProxyJump me@bastion" in entry.render()


def test_entry_file_is_private_and_removed(styx_home: Path) -> None:
    path = ce.write_entries("c1", [ce.SSHHostEntry("c1", "203.0.113.5", 2222, "root")])
    assert path is not None and path.stat().st_mode & 0o777 == 0o600
    assert "Host c1\n  HostName 203.0.113.5\n  Port 2222\n  User root\n" in path.read_text()
    ce.remove_entries("c1")
    assert not path.exists()
    ce.remove_entries("c1")  # twice is fine


def test_include_goes_on_top_once_and_keeps_the_file(styx_home: Path, user_home: Path) -> None:
    config = user_home / ".ssh" / "config"
    config.parent.mkdir()
    original = "Host *\n  ServerAliveInterval 30\n"
    config.write_text(original)
    config.chmod(0o644)
    ce.add_include()
    ce.add_include()
    text = config.read_text()
    assert text.splitlines()[1] == ce.include_line() and text.endswith(original)
    assert text.count("Include ") == 1
    assert config.stat().st_mode & 0o777 == 0o644  # the user's own mode kept


def test_include_creates_a_private_config(styx_home: Path, user_home: Path) -> None:
    ce.add_include()
    config = user_home / ".ssh" / "config"
    assert config.stat().st_mode & 0o777 == 0o600
    assert (user_home / ".ssh").stat().st_mode & 0o777 == 0o700


def _publish(ask_answer: bool | None, tmp_path: Path) -> list[str]:
    key = tmp_path / "id"
    key.write_text("k")
    said: list[str] = []
    ce.publish("train", _access(key), said.append, ask=lambda: ask_answer)
    return said


def test_consent_from_the_config_key(styx_home: Path, user_home: Path, tmp_path: Path) -> None:
    (styx_home / "config.yaml").write_text("ssh_config: {add_include: false}\n")
    assert _publish(True, tmp_path) == []  # the key wins over asking
    assert not (user_home / ".ssh" / "config").exists()
    (styx_home / "config.yaml").write_text("ssh_config: {add_include: true}\n")
    said = _publish(None, tmp_path)
    assert ce.include_present() and said == [
        f"added `{ce.include_line()}` to {user_home / '.ssh' / 'config'}"
    ]


def test_no_answer_prints_the_line_and_edits_nothing(
    styx_home: Path, user_home: Path, tmp_path: Path
) -> None:
    (said,) = _publish(None, tmp_path)
    assert ce.include_line() in said and "ssh_config.add_include" in said
    assert not (user_home / ".ssh").exists()
    assert (styx_home / "ssh" / "config.d" / "train").exists()


def test_a_bad_config_value_is_reported_not_raised(
    styx_home: Path, user_home: Path, tmp_path: Path
) -> None:
    (styx_home / "config.yaml").write_text("ssh_config: {add_include: maybe}\n")
    with pytest.raises(StyxError, match="must be true or false"):
        ce.configured_consent()
    (said,) = _publish(True, tmp_path)  # a launch is never failed by its SSH entry
    assert "must be true or false" in said
