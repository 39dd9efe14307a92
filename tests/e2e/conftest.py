"""End-to-end fixtures: the three fake clouds, sshd "instances", and the CLI as a subprocess.

Each module shares one fake cloud server and one set of sshd nodes; every test has its own
$STYX_HOME (tests/conftest.py). Instances the fake clouds hand out have public-looking IPs that
are never dialled: ``$STYX_HOME/config.yaml`` sets ``<cloud>.ssh_proxy_command`` to
``map_proxy.py``, which gives each new IP the next free sshd node on 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fakes.sshd.nodes import FakeCluster, authorize, start_cluster

REPO = Path(__file__).resolve().parent.parent.parent
MAP_PROXY = REPO / "tests" / "fakes" / "sshd" / "map_proxy.py"

pytestmark = pytest.mark.skipif(
    not (shutil.which("sshd") or os.path.exists("/usr/sbin/sshd")), reason="needs OpenSSH sshd"
)

# Variables that could point an SDK at a real account: never inherited by the CLI.
CLOUD_ENV = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_ENDPOINT_URL",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_CLOUD_PROJECT",
    "CLOUDSDK_CORE_PROJECT",
    "GCLOUD_PROJECT",
    "STYX_GCP_API_ENDPOINT",
    "AZURE_SUBSCRIPTION_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_TENANT_ID",
    "STYX_AZURE_BASE_URL",
    "STYX_AZURE_ACCESS_TOKEN",
    "KUBECONFIG",
)


def base_env(home: Path, tmp: Path) -> dict[str, str]:
    """The CLI's environment: no real credentials anywhere, no metadata servers probed."""
    env = {k: v for k, v in os.environ.items() if k not in CLOUD_ENV}
    gcloud = tmp / "gcloud-config"
    gcloud.mkdir(exist_ok=True)
    env.update(
        STYX_HOME=str(home),
        PYTHONPATH=os.pathsep.join([str(REPO / "src"), str(REPO)]),
        # AWS: no profile files, no instance metadata.
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        AWS_EC2_METADATA_DISABLED="true",
        # GCP: no gcloud config, no metadata server (google-auth reads these at import).
        CLOUDSDK_CONFIG=str(gcloud),
        NO_GCE_CHECK="true",
        GCE_METADATA_HOST="127.0.0.1:9",
        GCE_METADATA_IP="127.0.0.1:9",
        # Azure: DefaultAzureCredential must find nothing (no az CLI profile, no IMDS).
        AZURE_CONFIG_DIR=str(tmp / "azure-config"),
        IDENTITY_ENDPOINT="",
        KUBECONFIG=str(tmp / "no-kubeconfig"),
    )
    return env


@dataclass
class Cli:
    """Runs ``python -m styx.cli.main`` with a fixed environment. ``home`` and ``db_url``: where
    the clusters' state lives (the client's home, or an API server's home and database)."""

    home: Path
    env: dict[str, str]
    db_url: str | None = None

    def __call__(
        self, *args: str, timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        import time

        t0 = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "styx.cli.main", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
        )
        if os.environ.get("STYX_E2E_TIMES"):
            print(f"TIME {time.monotonic() - t0:6.2f}s styx {args[0]}", file=sys.stderr)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"styx {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
            )
        return proc


@dataclass
class Nodes:
    """The sshd nodes behind the proxy, and the map file that assigns them to cloud IPs."""

    cluster: FakeCluster
    map_file: Path

    @property
    def proxy_command(self) -> str:
        return f"{sys.executable} {MAP_PROXY} %h %p {self.map_file}"

    def node_for(self, host: str) -> Any:
        from tests.fakes.sshd.map_proxy import read_map

        port = read_map(self.map_file)[host]
        return next(n for n in self.cluster.nodes if n.port == port)


@pytest.fixture(scope="session")
def moto() -> Iterator[Any]:
    from tests.fakes.aws.moto_server import start_moto

    server = start_moto()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def gce() -> Iterator[Any]:
    from tests.e2e.clouds import GCP_PROJECT
    from tests.fakes.gcp.server import start_fake_gce

    with start_fake_gce(GCP_PROJECT) as fake:
        yield fake


@pytest.fixture(scope="session")
def arm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.e2e.clouds import AZURE_SUBSCRIPTION, AZURE_TOKEN
    from tests.fakes.azure.server import FakeArmServer
    from tests.fakes.azure.state import FakeArm

    server = FakeArmServer(
        FakeArm(AZURE_SUBSCRIPTION, AZURE_TOKEN), tmp_path_factory.mktemp("arm-tls")
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sshd_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeCluster]:
    cluster = start_cluster(tmp_path_factory.mktemp("e2e-sshd"), 2)
    yield cluster
    cluster.stop()


def power_off(home: Path) -> None:
    """What stopping a VM does to its processes: every one started under the node's home dies
    (the node's sshd, our stand-in for the VM's network, stays; the disk is kept)."""
    import signal

    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        program = os.path.basename(cmd.split(b"\0")[0])
        # The nodes' sshd (and its per-session children) stay; their folder names say "sshd"
        # too, so look at the program, not the whole command line.
        if not program.startswith(b"sshd") and f"HOME={home}".encode() in environ:
            try:
                os.kill(int(entry), signal.SIGKILL)  # a process of a node we started
            except OSError:
                pass


def _wipe(home: Path) -> None:
    """Kill what a test left running under a node's home, then empty it."""
    power_off(home)
    for child in home.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink()


@pytest.fixture
def nodes(sshd_nodes: FakeCluster, styx_home: Path, tmp_path: Path) -> Iterator[Nodes]:
    """Empty nodes, a fresh proxy map with every node free, the Styx key authorized."""
    import json

    from styx.keys import ensure_ssh_key

    for node in sshd_nodes.nodes:
        _wipe(node.home)
    # The cloud puts this same key in the instance's metadata / key pair.
    _, public = ensure_ssh_key()
    authorize(sshd_nodes, public)
    map_file = tmp_path / "proxy_map.json"
    map_file.write_text(json.dumps({"__pool__": [n.port for n in sshd_nodes.nodes]}))
    yield Nodes(sshd_nodes, map_file)
    for node in sshd_nodes.nodes:
        _wipe(node.home)


def write_config(home: Path, sections: dict[str, dict[str, Any]]) -> None:
    (home / "config.yaml").write_text(yaml.safe_dump(sections))


def cloud_section(nodes: Nodes, **extra: Any) -> dict[str, Any]:
    """What every cloud section needs here: the proxy for the client and, as the nodes share
    no private network, for the head to reach workers; and root (the only login on the nodes;
    the clouds' default users ubuntu/styx/azureuser do not exist on this machine)."""
    return {
        "ssh_proxy_command": nodes.proxy_command,
        "worker_ssh_proxy_command": nodes.proxy_command,
        "ssh_user": "root",
        **extra,
    }


@pytest.fixture(autouse=True)
def _stop_ssh_masters(styx_home: Path) -> Iterator[None]:
    """Client-side OpenSSH masters a test started end with it, even when it fails before down."""
    yield
    from styx.execution.ssh.master import stop_masters

    stop_masters()
