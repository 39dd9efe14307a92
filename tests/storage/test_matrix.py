"""The issue's matrix: S3, GCS and Azure Blob (each on its emulator) x a local cluster and an
SSH-pool cluster. One launch per provider mounts all three stores in every mode; the buckets are
then checked with each store's own SDK, and a second cluster resumes from the checkpoints."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import styx_env
from tests.fakes.sshd.nodes import FakeCluster, start_cluster
from tests.storage import stores
from tests.storage.conftest import needs_rclone
from tests.storage.servers import Emulators

pytestmark = needs_rclone
STORES = ("s3", "gcs", "azure")


@pytest.fixture(scope="module")
def ssh_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeCluster]:
    cluster = start_cluster(tmp_path_factory.mktemp("storage-sshd"), 1)
    yield cluster
    cluster.stop()


def styx(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it."""
    proc = subprocess.run(
        [sys.executable, "-m", "styx.cli.main", *args],
        capture_output=True,
        text=True,
        env=styx_env(home),
        timeout=120,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def _launch(task: dict[str, object], name: str, base: Path) -> list[str]:
    from styx import core
    from styx.task import Task

    lines: list[str] = []
    printer = core.Printer(lines.append, lambda _m: None)
    asyncio.run(core.launch(Task.from_yaml(task, base_dir=str(base)), name, printer=printer))
    return "".join(lines).splitlines()


def _rclone_mounts() -> list[str]:
    with open("/proc/mounts", encoding="utf-8") as f:
        return [line.split()[1] for line in f if "rclone" in line.split()[2]]


def _node_home(infra: str, ssh_node: FakeCluster, styx_home: Path) -> Path:
    if infra == "ssh":
        return ssh_node.nodes[0].home
    (instance,) = (styx_home / "local" / "instances").iterdir()
    return instance / "home"


@pytest.mark.parametrize("infra", ["local", "ssh"])
def test_copy_mount_cached_resume_and_down(
    infra: str, store_env: Emulators, ssh_node: FakeCluster, styx_home: Path, tmp_path: Path
) -> None:
    from styx import core

    if infra == "ssh":
        ssh_node.write_pools(styx_home)
    uid = uuid.uuid4().hex[:8]
    source = tmp_path / "seed"
    source.mkdir()
    (source / "seed.txt").write_text("seeded")
    (source / "skip.log").write_text("ignored")
    (source / ".styxignore").write_text("*.log\n")
    mounts: dict[str, object] = {}
    run = []
    for store in STORES:
        data = f"data-{store}-{uid}"
        stores.create_bucket(store, data, {"in/a.txt": f"input-{store}".encode()})
        mounts[f"~/{store}-data"] = stores.url(store, data, "in")  # a URL: COPY
        mounts[f"~/{store}-ckpt"] = {"name": f"ckpt-{store}-{uid}", "store": store}  # MOUNT
        mounts[f"~/{store}-cached"] = {
            "name": f"cache-{store}-{uid}",
            "store": store,
            "mode": "MOUNT_CACHED",
            "source": str(source),
            "persistent": False,
        }
        run.append(
            f"echo got=$(cat ~/{store}-data/a.txt) seed=$(cat ~/{store}-cached/seed.txt); "
            f"echo step-1-{store} > ~/{store}-ckpt/ckpt.txt; "
            f"echo out-{store} > ~/{store}-cached/out.txt"
        )
    task = {
        "resources": {"infra": "ssh/testpool" if infra == "ssh" else "local"},
        "file_mounts": mounts,
        "run": "\n".join(run),
    }
    out = _launch(task, f"st-{infra}-1", tmp_path)
    home = _node_home(infra, ssh_node, styx_home)
    for store in STORES:
        assert f"got=input-{store} seed=seeded" in out, out  # COPY, and the uploaded source
        # MOUNT: the checkpoint is in the bucket; MOUNT_CACHED: flushed before the job ended.
        assert stores.read(store, f"ckpt-{store}-{uid}") == {
            "ckpt.txt": f"step-1-{store}\n".encode()
        }
        cached = stores.read(store, f"cache-{store}-{uid}")
        assert "skip.log" not in cached  # .styxignore honoured by the upload
        assert cached["seed.txt"] == b"seeded" and cached["out.txt"] == f"out-{store}\n".encode()
        assert str(home / f"{store}-ckpt") in _rclone_mounts()
    conf = home / ".styx_storage" / "rclone.conf"
    assert conf.stat().st_mode & 0o777 == 0o600
    assert (conf.parent.stat().st_mode & 0o777) == 0o700

    # A job sent with `exec` onto the mounted cluster is flushed at its end too.
    from styx.task import Task

    asyncio.run(core.exec(Task(run="echo more > ~/s3-cached/more.txt"), f"st-{infra}-1"))
    assert stores.read("s3", f"cache-s3-{uid}")["more.txt"] == b"more\n"

    asyncio.run(core.down(f"st-{infra}-1"))
    assert not [m for m in _rclone_mounts() if m.startswith(str(home))]
    assert not conf.exists()  # a released host keeps no copied bucket credentials
    for store in STORES:
        assert stores.exists(store, f"ckpt-{store}-{uid}")  # persistent (the default)
        assert not stores.exists(store, f"cache-{store}-{uid}")  # persistent: false

    # A new cluster resumes from the checkpoints the first one wrote.
    resume = {
        "resources": task["resources"],
        "file_mounts": {f"~/{s}-ckpt": {"name": f"ckpt-{s}-{uid}", "store": s} for s in STORES},
        "run": "; ".join(f"echo resumed=$(cat ~/{s}-ckpt/ckpt.txt)" for s in STORES),
    }
    out = _launch(resume, f"st-{infra}-2", tmp_path)
    for store in STORES:
        assert f"resumed=step-1-{store}" in out, out
    asyncio.run(core.down(f"st-{infra}-2"))

    # Persistent buckets stay until `styx storage delete`.
    names = [f"ckpt-{s}-{uid}" for s in STORES]
    listed = json.loads(styx(styx_home, "storage", "ls", "--json").stdout)
    assert set(names) <= {b["name"] for b in listed}, listed
    styx(styx_home, "storage", "delete", "-y", *names)
    for store in STORES:
        assert not stores.exists(store, f"ckpt-{store}-{uid}")
    assert json.loads(styx(styx_home, "storage", "ls", "--json").stdout) == []
