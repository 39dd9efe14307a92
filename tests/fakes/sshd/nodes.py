"""Real OpenSSH sshd "nodes" on free 127.0.0.1 ports, each with its own host key and home.

Each node runs its own sshd with its own config; a ForceCommand wrapper gives every session the
node's HOME and working folder, runs commands with ``bash --noprofile --norc`` (root's
``~/.bashrc`` starts pyenv, which costs ~200 ms a command) and puts the real Python interpreter's
folder first on PATH so ``python3`` on the node is a real interpreter, not a pyenv shim.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class FakeNode:
    name: str
    port: int
    dir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def home(self) -> Path:
        return self.dir / "home"

    @property
    def host_key_pub(self) -> str:
        return (self.dir / "host_ed25519_key.pub").read_text().strip()


@dataclass
class FakeCluster:
    root: Path
    client_key: Path
    nodes: list[FakeNode] = field(default_factory=list)

    def stop(self) -> None:
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)  # only the sshd we started (by PID)
                try:
                    node.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    node.process.kill()
                    node.process.wait()

    def write_pools(
        self, styx_home: Path, pool: str = "testpool", **host_overrides: object
    ) -> Path:
        """``$STYX_HOME/ssh_node_pools.yaml`` listing every node of this fake cluster."""
        import yaml

        hosts = [{"ip": "127.0.0.1", "port": n.port, **host_overrides} for n in self.nodes]
        data = {pool: {"user": "root", "identity_file": str(self.client_key), "hosts": hosts}}
        path = styx_home / "ssh_node_pools.yaml"
        path.write_text(yaml.safe_dump(data))
        return path


def _node_python_bin() -> str:
    return str(Path(sys.base_prefix) / "bin")


def _write_node(
    root: Path, name: str, port: int, authorized: Path, env: dict[str, str] | None = None
) -> FakeNode:
    node = FakeNode(name, port, root / name)
    node.home.mkdir(parents=True)
    key = node.dir / "host_ed25519_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    path = f"{_node_python_bin()}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    entry = node.dir / "entry.sh"
    entry.write_text(
        "#!/bin/bash\n"
        f"export HOME={node.home} STYX_NODE={name} PATH={path}\n"
        + "".join(f"export {k}={shlex.quote(v)}\n" for k, v in (env or {}).items())
        + "unset PYENV_ROOT PYENV_VERSION VIRTUAL_ENV\n"
        # What the "VM" provides its processes (e.g. a metadata endpoint), set by a test.
        f"[ -f {node.dir / 'vm.env'} ] && . {node.dir / 'vm.env'}\n"
        'cd "$HOME"\n'
        'case "$SSH_ORIGINAL_COMMAND" in\n'
        '  "") exec /bin/bash --noprofile --norc -i ;;\n'
        f'  internal-sftp|{SFTP_SERVER}*) exec {SFTP_SERVER} -d "$HOME" ;;\n'
        '  *) exec /bin/bash --noprofile --norc -c "$SSH_ORIGINAL_COMMAND" ;;\n'
        "esac\n"
    )
    entry.chmod(0o755)
    (node.dir / "sshd_config").write_text(
        f"Port {port}\n"
        "ListenAddress 127.0.0.1\n"
        f"HostKey {key}\n"
        f"PidFile {node.dir / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {authorized}\n"
        "PermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "UsePAM no\n"
        "StrictModes no\n"
        f"SetEnv HOME={node.home}\n"  # so the login bash reads the node's (absent) .bashrc
        "MaxSessions 100\n"
        "MaxStartups 100:30:200\n"
        "Subsystem sftp internal-sftp\n"
        f"ForceCommand {entry}\n"
    )
    return node


def _wait_listening(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"sshd on 127.0.0.1:{port} did not start")


def start_cluster(root: Path, count: int, env: dict[str, str] | None = None) -> FakeCluster:
    """Start ``count`` sshd nodes under ``root`` (the caller must call ``stop()``); ``env`` is
    exported in every session on them (as a host's profile would)."""
    os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege-separation folder
    root.mkdir(parents=True, exist_ok=True)
    client_key = root / "client_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(client_key)], check=True
    )
    authorized = root / "authorized_keys"
    shutil.copy(client_key.with_suffix(".pub"), authorized)
    cluster = FakeCluster(root, client_key)
    try:
        for i in range(count):
            node = _write_node(root, f"node{i + 1}", free_port(), authorized, env)
            cfg = node.dir / "sshd_config"
            node.process = subprocess.Popen(
                [SSHD, "-D", "-f", str(cfg), "-E", str(node.dir / "sshd.log")],
                stdin=subprocess.DEVNULL,
            )
            cluster.nodes.append(node)
        for node in cluster.nodes:
            _wait_listening(node.port)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def authorize(cluster: FakeCluster, public_key: str) -> None:
    """Let another key log in (as a cloud would with the Styx key)."""
    with open(cluster.root / "authorized_keys", "a") as f:
        f.write(public_key.strip() + "\n")
