"""What fails, fails in one line naming the mount, before anything is provisioned where the
client can know it; credentials reach nodes only as allowed."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import styx_env
from tests.storage import stores
from tests.storage.conftest import needs_rclone
from tests.storage.servers import Emulators


def _launch_cli(home: Path, task: dict[str, object], tmp: Path) -> subprocess.CompletedProcess[str]:
    path = tmp / "task.yaml"
    path.write_text(yaml.safe_dump(task))
    return subprocess.run(
        [sys.executable, "-m", "styx.cli.main", "launch", "-y", "-c", "bad", str(path)],
        capture_output=True,
        text=True,
        env=styx_env(home),
        timeout=120,
    )


def _no_cluster(home: Path) -> bool:
    from styx.state.store import open_store

    return (
        open_store(home / "state.db").get_cluster("bad") is None
        and not (home / "local" / "instances").exists()
    )


def test_a_missing_bucket_fails_before_provisioning(
    store_env: Emulators, styx_home: Path, tmp_path: Path
) -> None:
    for url in ("s3://no-such-bucket/x", "gs://no-such-bucket", stores.url("azure", "nosuch")):
        task = {"resources": {"infra": "local"}, "file_mounts": {"~/d": url}, "run": "true"}
        proc = _launch_cli(styx_home, task, tmp_path)
        assert proc.returncode != 0
        lines = proc.stderr.strip().splitlines()
        assert lines[-1].startswith("styx: error: file_mounts.~/d: bucket "), proc.stderr
        assert "does not exist" in lines[-1] and len(lines) == 1, proc.stderr
        assert _no_cluster(styx_home)


def test_a_bad_bucket_name_fails_before_anything(styx_home: Path, tmp_path: Path) -> None:
    task = {"resources": {"infra": "local"}, "file_mounts": {"/d": {"name": "Bad_Name"}}}
    proc = _launch_cli(styx_home, task, tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "styx: error: file_mounts./d.name: got 'Bad_Name', expected a s3 bucket name: 3-63 "
        "lowercase letters, digits, '.' or '-', starting and ending with a letter or digit"
    ]


@pytest.fixture
def s3_auth(store_env: Emulators) -> Iterator[None]:
    """moto checks access keys like AWS (the test's fake keys are then unknown)."""

    def set_auth(body: bytes) -> None:
        req = urllib.request.Request(
            f"{store_env.s3_url}/moto-api/reset-auth", method="POST", data=body,
            headers={"Content-Type": "text/plain"},
        )  # fmt: skip
        urllib.request.urlopen(req, timeout=10).close()

    set_auth(b"0")
    try:
        yield
    finally:
        set_auth(b"inf")


def test_no_permission_fails_before_provisioning(
    s3_auth: None, styx_home: Path, tmp_path: Path
) -> None:
    task = {"resources": {"infra": "local"}, "file_mounts": {"~/d": "s3://some-bucket"}}
    proc = _launch_cli(styx_home, task, tmp_path)
    assert proc.returncode != 0
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("styx: error: file_mounts.~/d: s3://some-bucket: no permission"), line
    assert _no_cluster(styx_home)


@needs_rclone
def test_a_mount_that_cannot_start_is_one_line_naming_it(tmp_path: Path) -> None:
    """The node script as it runs on a node, with a real rclone that refuses the remote."""
    from styx.execution.runner import LocalRunner
    from styx.storage.rclone import (
        ERROR_MARK,
        NodeMount,
        config_text,
        mount_script,
        write_config_command,
    )
    from styx.storage.spec import StorageMode
    from styx.storage.stores.base import RcloneRemote

    mount = NodeMount(0, "~/ckpt", StorageMode.MOUNT, "m0:bucket", "file_mounts.~/ckpt",
                      RcloneRemote({"type": "no-such-backend"}))  # fmt: skip
    home = tmp_path / "node"
    home.mkdir()
    runner = LocalRunner(home, "test-node")
    lines: list[str] = []

    async def go() -> int:
        await runner.check_output(write_config_command(), stdin=config_text([mount]).encode())
        return await runner.run(mount_script([mount]), on_output=lines.append)

    assert asyncio.run(go()) == 1
    errors = [ln for ln in lines if ERROR_MARK in ln]
    assert len(errors) == 1, lines
    assert errors[0].startswith(f"{ERROR_MARK}file_mounts.~/ckpt: rclone mount did not start: ")
    assert "no-such-backend" in errors[0], errors
    assert not [ln for ln in Path("/proc/mounts").read_text().splitlines() if str(home) in ln]


def test_copy_credentials_false_gives_nodes_no_keys(store_env: Emulators, styx_home: Path) -> None:
    from styx.storage.mounts import _node_mounts
    from styx.storage.spec import parse_storage_mount

    mounts = tuple(
        parse_storage_mount(f"~/{s}", stores.url(s, "abc"), f"file_mounts.~/{s}")
        for s in ("s3", "gcs", "azure")
    )
    copied = asyncio.run(_node_mounts(mounts, "ssh"))
    s3, gcs, azure = (m.rclone for m in copied)
    assert s3.secret and s3.options["access_key_id"] == "testing"
    assert s3.options["endpoint"] == store_env.s3_url  # the endpoint override travels
    assert s3.unset_env == ("AWS_CA_BUNDLE",)  # rclone refuses a CA bundle on plain http
    assert gcs.options["endpoint"] == f"{store_env.gcs_url}/storage/v1/"
    assert azure.secret and "sig=" in azure.options["sas_url"]  # a SAS for that container only
    assert "AccountKey" not in azure.options["sas_url"]

    (styx_home / "config.yaml").write_text("storage: {copy_credentials: false}\n")
    kept = asyncio.run(_node_mounts(mounts, "ssh"))
    s3, _, azure = (m.rclone for m in kept)
    assert not s3.secret and "access_key_id" not in s3.options
    assert s3.options["env_auth"] == "true"
    assert not azure.secret and "sas_url" not in azure.options


def test_storage_delete_of_an_unknown_bucket_is_one_line(styx_home: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "styx.cli.main", "storage", "delete", "-y", "nosuch-bucket"],
        capture_output=True,
        text=True,
        env=styx_env(styx_home),
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "styx: error: delete 'nosuch-bucket': no bucket named 'nosuch-bucket' was created by "
        "Styx (styx storage ls)"
    ]
