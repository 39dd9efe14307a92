"""The SSH pool provider: the shared contract, capacity, probing, claims, clean-up."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from styx.errors import CapacityError
from styx.providers import get_provider
from styx.providers.base import CloudProvider, ProvisionRequest
from tests.contract.suite import ProviderContract
from tests.fakes.sshd.nodes import FakeCluster


def _ssh(cluster: FakeCluster, port: int, cmd: str) -> str:
    """An independent client (the OpenSSH CLI) to look at a host."""
    out = subprocess.run(
        [
            "ssh",
            "-F",
            "/dev/null",
            "-i",
            str(cluster.client_key),
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-p",
            str(port),
            "root@127.0.0.1",
            cmd,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return out.stdout


def _type_name(provider: CloudProvider) -> str:
    types = asyncio.run(provider.list_instance_types("testpool"))
    return types[0].name


class TestSSHContract(ProviderContract):
    expected_provider = "ssh"
    gang_size = 2

    @pytest.fixture
    def provider(self, pool: FakeCluster) -> CloudProvider:
        self.cluster = pool
        return get_provider("ssh")

    @pytest.fixture
    def make_request(self, provider: CloudProvider) -> Callable[..., ProvisionRequest]:
        itype = _type_name(provider)

        def make(cluster: str, **overrides: object) -> ProvisionRequest:
            return ProvisionRequest(
                cluster_name=cluster, instance_type=itype, region="testpool", **overrides
            )  # type: ignore[arg-type]

        return make

    def verify_exists(self, provider: CloudProvider, native_id: str | None, alive: bool) -> None:
        assert native_id is not None
        port = int(native_id.rsplit(":", 1)[1])
        marker = _ssh(self.cluster, port, "cat ~/.styx/node.json 2>/dev/null || true")
        assert ("instance_id" in marker) is alive


def test_shapes_are_real_and_capacity_is_enforced(pool: FakeCluster) -> None:
    import os

    provider = get_provider("ssh")
    assert asyncio.run(provider.list_regions()) == ["testpool"]
    types = asyncio.run(provider.list_instance_types("testpool"))
    assert len(types) == 1 and types[0].vcpus == os.cpu_count()
    meminfo = Path("/proc/meminfo").read_text().split()
    assert abs(types[0].memory_gib - int(meminfo[1]) / 1024 / 1024) < 0.2
    request = ProvisionRequest(cluster_name="big", instance_type=types[0].name, region="testpool")
    with pytest.raises(CapacityError) as err:
        asyncio.run(provider.provision_many(request, 4))
    assert err.value.region == "testpool"
    assert asyncio.run(provider.list_instances()) == []  # all or nothing: claims released
    three = asyncio.run(provider.provision_many(request, 3))
    assert len({i.native_id for i in three}) == 3 and all(i.ssh_port for i in three)
    other = ProvisionRequest(cluster_name="other", instance_type=types[0].name, region="testpool")
    with pytest.raises(CapacityError):  # a host runs one cluster at a time
        asyncio.run(provider.provision(other))
    for inst in three:
        asyncio.run(provider.terminate(inst.id))
    assert asyncio.run(provider.list_instances()) == []


def test_terminate_cleans_styx_files_only(pool: FakeCluster) -> None:
    provider = get_provider("ssh")
    itype = _type_name(provider)
    inst = asyncio.run(provider.provision(ProvisionRequest("c", itype, region="testpool")))
    port = inst.ssh_port
    home = next(n.home for n in pool.nodes if n.port == port)
    for d in (".styx_runtime/jobs", "sky_workdir", ".styx/runtime/venv", ".styx_pids"):
        (home / d).mkdir(parents=True, exist_ok=True)
    (home / "user_file").write_text("mine")
    asyncio.run(provider.terminate(inst.id))
    assert sorted(p.name for p in home.iterdir()) == ["user_file"]


def test_two_processes_cannot_claim_the_same_host(pool: FakeCluster, styx_home: Path) -> None:
    import sys

    provider = get_provider("ssh")
    itype = _type_name(provider)
    code = (
        "import asyncio,sys; from styx.providers import get_provider;"
        "from styx.providers.base import ProvisionRequest as R;"
        "p=get_provider('ssh');"
        f"i=asyncio.run(p.provision(R('c'+sys.argv[1], {itype!r}, region='testpool')));"
        "print(i.native_id)"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(k)], stdout=subprocess.PIPE, text=True)
        for k in range(3)
    ]
    hosts = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert all(hosts) and len(set(hosts)) == 3
