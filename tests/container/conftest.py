"""Fixtures: a Docker daemon of the tests' own (loopback-only namespace), a busybox test image,
and two OpenSSH nodes whose sessions reach that daemon through DOCKER_HOST."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.sshd.nodes import FakeCluster, start_cluster

IMAGE = "styx-test-busybox:1"
MARKER = "/styx-image-marker"
MARKER_TEXT = "inside-the-styx-test-image"
DOCKERD = shutil.which("dockerd") or "/usr/sbin/dockerd"
BUSYBOX = "/bin/busybox"


@dataclass(frozen=True)
class Docker:
    host: str  # DOCKER_HOST value

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", *args],
            env={**os.environ, "DOCKER_HOST": self.host},
            capture_output=True,
            text=True,
            timeout=60,
            check=check,
        )

    def containers(self, label: str) -> list[str]:
        """Every container (running or not) carrying ``label`` (``key=value``)."""
        out = self.run("ps", "-a", "-q", "--filter", f"label={label}").stdout
        return out.split()


def _why_no_docker() -> str | None:
    if os.geteuid() != 0:
        return "the container tests start their own dockerd, which needs root"
    if not os.path.exists(DOCKERD) or not shutil.which("docker"):
        return "dockerd/docker not installed (scripts/test.sh installs docker.io)"
    if not os.path.exists(BUSYBOX):
        return "busybox-static not installed (scripts/test.sh installs it)"
    return None


@pytest.fixture(scope="session")
def docker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Docker]:
    """A dockerd of this session (no bridge, no iptables: containers use the host's network)."""
    reason = _why_no_docker()
    if reason:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("dk")
    sock = root / "d.sock"
    log = open(root / "dockerd.log", "wb")  # noqa: SIM115 - closed at the end
    # In a mount namespace of its own: the mounts dockerd makes (its netns file, overlays) go
    # with it instead of staying behind in the test machine's mount table.
    proc = subprocess.Popen(
        [
            "unshare", "--mount", "--propagation", "private",
            DOCKERD, "--bridge=none", "--iptables=false", "--ip6tables=false",
            "-H", f"unix://{sock}", "--pidfile", str(root / "d.pid"),
            "--exec-root", str(root / "exec"), "--data-root", str(root / "data"),
        ],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    client = Docker(f"unix://{sock}")
    try:
        deadline = time.monotonic() + 60
        while client.run("info", check=False).returncode != 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = (root / "dockerd.log").read_text(errors="replace")[-400:]
                pytest.skip(f"dockerd did not start here: {tail}")
            time.sleep(0.2)
        _build_image(client, root / "image")
        yield client
    finally:
        # Containers a failed test left behind go first: their shims would outlive the daemon.
        left = client.run("ps", "-a", "-q", check=False).stdout.split()
        if left:
            client.run("rm", "-f", *left, check=False)
        proc.terminate()  # only the daemon this fixture started, by its Popen
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _build_image(client: Docker, root: Path) -> None:
    """busybox-static as the whole root filesystem (sh, nc, ...; no bash), plus a marker file
    only this image has."""
    (root / "bin").mkdir(parents=True)
    (root / "tmp").mkdir()
    shutil.copy(BUSYBOX, root / "bin" / "busybox")
    applets = subprocess.run(
        [BUSYBOX, "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    for applet in applets:
        if applet != "busybox":
            (root / "bin" / applet).symlink_to("busybox")
    (root / MARKER.lstrip("/")).write_text(MARKER_TEXT + "\n")
    tar = root.parent / "image.tar"
    subprocess.run(["tar", "-C", str(root), "-cf", str(tar), "."], check=True)
    client.run("import", "--change", "ENV PATH=/bin", str(tar), IMAGE)


@pytest.fixture
def docker_env(docker: Docker, monkeypatch: pytest.MonkeyPatch) -> Docker:
    """Local nodes (and the agent the test starts) reach the test daemon."""
    monkeypatch.setenv("DOCKER_HOST", docker.host)
    return docker


@pytest.fixture(scope="session")
def docker_sshd(docker: Docker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeCluster]:
    """Two OpenSSH nodes whose sessions have DOCKER_HOST set (as a host's profile would)."""
    if not (shutil.which("sshd") or os.path.exists("/usr/sbin/sshd")):
        pytest.skip("needs OpenSSH sshd")
    cluster = start_cluster(tmp_path_factory.mktemp("sshd"), 2, env={"DOCKER_HOST": docker.host})
    yield cluster
    cluster.stop()


@pytest.fixture
def docker_pool(
    docker_sshd: FakeCluster, docker_env: Docker, styx_home: Path
) -> Iterator[FakeCluster]:
    """The two nodes, empty before and after the test (leftover containers included)."""
    from tests.ssh.conftest import _wipe

    for node in docker_sshd.nodes:
        _wipe(node.home)
    docker_sshd.write_pools(styx_home)
    yield docker_sshd
    for node in docker_sshd.nodes:
        _wipe(node.home)
    from styx.execution.ssh.master import stop_masters

    stop_masters()
