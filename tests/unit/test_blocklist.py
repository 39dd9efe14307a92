"""The block list's typed keys in the state store, and the v1 -> v2 migration."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from styx.blocklist import BlockKey, BlockList, Placement
from styx.errors import CapacityError, CredentialsError, QuotaError, Scope
from styx.state.schema import MIGRATIONS
from styx.state.store import StateStore
from tests.state.target import StateTarget


def family(_provider: str, instance_type: str) -> str:
    return instance_type.split(".")[0]


def test_keys_round_trip_through_the_store_field_by_field(state_target: StateTarget) -> None:
    store = state_target.open()
    blocks = BlockList(store, family_of=family)
    quota = QuotaError("no vCPUs", provider="aws", region="us-east-1", native_code="VcpuLimit")
    key = blocks.block_for(quota, Placement("aws", "us-east-1", "us-east-1a", "p4d.24xlarge"))
    assert key == BlockKey("aws", Scope.REGION, "us-east-1", family="p4d")
    # A region name with the old separators in it cannot confuse a column-per-field key.
    odd = CapacityError("none", provider="ssh", region="pool/with:colons")
    blocks.block_for(odd, Placement("ssh", "pool/with:colons", "z/1", "m:1"))
    assert set(state_target.open().blocked_keys()) == {
        key,
        BlockKey("ssh", Scope.ZONE, "pool/with:colons", "z/1", "m:1"),
    }
    entry = next(e for e in store.blocked() if e.key == key)
    assert (entry.error_class, entry.native_code, entry.reason) == (
        "QuotaError",
        "VcpuLimit",
        "no vCPUs",
    )
    assert entry.expires_at > time.time() + 3000
    assert entry.to_dict()["blocked"] == "aws/us-east-1 p4d family"


def test_credentials_are_blocked_for_this_launch_only(state_target: StateTarget) -> None:
    store = state_target.open()
    blocks = BlockList(store, family_of=family)
    auth = CredentialsError("bad key", provider="gcp")
    blocks.block_for(auth, Placement("gcp", "us-central1", None, "n2-standard-2"))
    assert blocks.is_blocked("gcp", "europe-west4", None, "a2-highgpu-1g")
    assert store.blocked_keys() == []
    assert not BlockList(store, family_of=family).is_blocked("gcp", "us-central1", None, "x")


def test_scope_none_blocks_nothing(state_target: StateTarget) -> None:
    store = state_target.open()
    blocks = BlockList(store, family_of=family)
    full = CapacityError("machine full", provider="local", scope=Scope.NONE)
    assert blocks.block_for(full, Placement("local", "local", None, "local-1cpu")) is None
    assert not blocks.is_blocked("local", "local", None, "local-1cpu")


def test_v1_block_rows_are_dropped_by_the_migration(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute(
        "INSERT INTO blocked_offers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ("zone:aws/us-east-1/us-east-1a/m5.large", "aws", "us-east-1", "us-east-1a", None,
         "zone", "CapacityError", "InsufficientInstanceCapacity", "none", time.time() + 600),
    )  # fmt: skip
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    store = StateStore(path)
    assert store.schema_version() == len(MIGRATIONS)
    assert store.blocked_keys() == [] and store.blocked() == []


def test_a_full_local_machine_is_not_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12: one CapacityError on local used to block every local launch for 10 minutes.

    Local nodes share CPUs and memory; GPUs are what fills the machine (a fake nvidia-smi
    reporting two).
    """
    import asyncio
    import os

    from styx.errors import ResourcesUnavailableError
    from styx.optimizer import Offer
    from styx.providers.base import ProvisionRequest
    from styx.providers.local.provider import LocalProvider
    from styx.scheduler import Scheduler
    from tests.integration.test_local_gpu import SMI

    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "nvidia-smi").write_text(SMI)
    (bindir / "nvidia-smi").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    local = LocalProvider(tmp_path / "local")
    whole = max(asyncio.run(local.list_instance_types()), key=lambda t: t.accelerator_count)
    assert whole.accelerator_count == 2
    offer = Offer("local", "local", whole.name, False, whole.vcpus, whole.memory_gib, None, 0, 0)
    store = StateStore(tmp_path / "s.db")

    def launch(name: str) -> list[str]:
        scheduler = Scheduler(store, lambda _cloud: local)
        template = ProvisionRequest(cluster_name=name, instance_type=whole.name)
        outcome = asyncio.run(scheduler.provision([offer], name, template, 1))
        return [i.id for i in outcome.instances]

    first = launch("fills-the-machine")
    try:
        with pytest.raises(ResourcesUnavailableError) as info:
            launch("no-room")
        assert [h.error_class for h in info.value.history] == ["CapacityError"]
        assert store.blocked_keys() == []
    finally:
        for instance_id in first:
            asyncio.run(local.terminate(instance_id))
    second = launch("room-again")  # at once: nothing was blocked
    for instance_id in second:
        asyncio.run(local.terminate(instance_id))


@pytest.mark.usefixtures("state_target")
def test_status_blocked_shows_typed_keys() -> None:
    import json

    from click.testing import CliRunner

    from styx.cli.cluster import status
    from styx.state import open_store

    store = open_store()
    quota = QuotaError("quota 0", provider="gcp", region="us-central1", native_code="QUOTA")
    BlockList(store, family_of=family).block_for(
        quota, Placement("gcp", "us-central1", "us-central1-a", "a2.highgpu")
    )
    table = CliRunner().invoke(status, ["--blocked"], catch_exceptions=False).output
    assert "gcp/us-central1 a2 family" in table and "QuotaError" in table
    rows = json.loads(
        CliRunner().invoke(status, ["--blocked", "--json"], catch_exceptions=False).output
    )
    assert [(r["scope"], r["region"], r["family"], r["zone"]) for r in rows] == [
        ("region", "us-central1", "a2", None)
    ]
