"""`ssh <cluster>` from the user's shell, on an SSH pool of real sshd nodes.

HOME is a temporary folder, so the real ~/.ssh/config is never touched. OpenSSH finds its user
config through the password database, not $HOME, so the commands name the temporary
``~/.ssh/config`` with ``-F``: the file Styx edited, read as OpenSSH reads any config.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ssh_as_user
from tests.fakes.sshd.nodes import FakeCluster

REPO = Path(__file__).resolve().parent.parent.parent


def _env(styx_home: Path, home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        STYX_HOME=str(styx_home),
        HOME=str(home),
        PYTHONPATH=os.pathsep.join([str(REPO / "src"), str(REPO)]),
    )
    return env


def _styx(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "styx.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def test_ssh_cluster_reaches_each_node_until_down(
    pool: FakeCluster, styx_home: Path, tmp_path: Path
) -> None:
    home = tmp_path / "user-home"
    (home / ".ssh").mkdir(parents=True)
    user_config = home / ".ssh" / "config"
    user_config.write_text("Host example-kept\n  HostName 127.0.0.1\n")
    (styx_home / "config.yaml").write_text("ssh_config:\n  add_include: true\n")
    env = _env(styx_home, home)
    launched = _styx(env, "launch", "-y", "-c", "pc", "--infra", "ssh/testpool",
                     "--num-nodes", "2", "echo up")  # fmt: skip
    assert launched.returncode == 0, launched.stderr
    text = user_config.read_text()
    assert text.startswith("# Added by Styx")  # at the top: not inside the user's Host block
    assert "Host example-kept\n  HostName 127.0.0.1\n" in text  # the rest kept as it was
    entry = styx_home / "ssh" / "config.d" / "pc"
    assert entry.stat().st_mode & 0o777 == 0o600
    assert "Host pc\n" in entry.read_text() and "Host pc-worker1\n" in entry.read_text()

    homes = {str(n.home) for n in pool.nodes}
    head = ssh_as_user(home, "pc", "hostname; echo $HOME")
    assert head.returncode == 0, head.stderr
    hostname, head_home = head.stdout.split()
    assert hostname == subprocess.run(["hostname"], capture_output=True, text=True).stdout.strip()
    worker = ssh_as_user(home, "pc-worker1", "echo $HOME")
    assert worker.returncode == 0, worker.stderr
    # Each alias reaches its own node: the nodes are sshd servers with homes of their own.
    assert head_home in homes and worker.stdout.strip() in homes
    assert head_home != worker.stdout.strip()
    # The head's pinned host key is what OpenSSH checks (HostKeyAlias + the Styx known_hosts).
    assert "HostKeyAlias styx-" in entry.read_text()
    assert "StrictHostKeyChecking yes" in entry.read_text()

    again = _styx(env, "launch", "-y", "-c", "pc", "--infra", "ssh/testpool",
                  "--num-nodes", "2", "echo again")  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert user_config.read_text().count("Include ") == 1  # added once

    down = _styx(env, "down", "-y", "pc")
    assert down.returncode == 0, down.stderr
    assert not entry.exists()
    gone = ssh_as_user(home, "pc", "hostname")
    assert gone.returncode != 0


def test_without_consent_the_user_config_is_left_alone(
    pool: FakeCluster, styx_home: Path, tmp_path: Path
) -> None:
    home = tmp_path / "user-home"
    home.mkdir()
    env = _env(styx_home, home)
    launched = _styx(env, "launch", "-y", "-c", "nc", "--infra", "ssh/testpool", "echo up")
    assert launched.returncode == 0, launched.stderr
    assert not (home / ".ssh").exists()  # no prompt without a terminal, no edit
    include = f"Include {styx_home / 'ssh' / 'config.d'}/*"
    assert include in launched.stderr + launched.stdout  # the line to add, said once
    assert (styx_home / "ssh" / "config.d" / "nc").exists()
    assert _styx(env, "down", "-y", "nc").returncode == 0
    assert not (styx_home / "ssh" / "config.d" / "nc").exists()
