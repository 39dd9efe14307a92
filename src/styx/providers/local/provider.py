"""This machine as a provider.

An instance is a sandbox folder under ``$STYX_HOME/local/instances/<id>`` (its ``home/`` is the
node's home and working folder) plus the processes started in it, which carry
``STYX_LOCAL_INSTANCE=<id>`` in their environment so that stop/terminate can find every one of
them, however deep they forked. Instance types are slices of this machine's real CPUs, memory
and GPUs. Nodes share CPUs and memory (like containers on one host); GPUs are exclusive, and a
GPU request beyond what is free raises CapacityError.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from styx.config import styx_home
from styx.container.cleanup import remove_local, stop_local
from styx.errors import CapacityError, InstanceNotFoundError, InvalidRequestError, Scope
from styx.providers.abilities import StopStart
from styx.providers.base import Capabilities, CloudProvider, ProvisionRequest
from styx.providers.instance import (
    Instance,
    InstanceId,
    InstanceState,
    InstanceType,
    ProviderType,
)
from styx.providers.local.machine import MachineInfo, detect_machine

if TYPE_CHECKING:
    from styx.providers.access import ClusterAccess

REGION = "local"
ENV_MARKER = "STYX_LOCAL_INSTANCE"


class LocalProvider(StopStart, CloudProvider):
    provider_type = ProviderType.LOCAL
    capabilities = Capabilities(stop_start=True, spot=False, multi_node=True, open_ports=True)

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root else styx_home() / "local"
        self.instances_dir = self.root / "instances"

    @cached_property
    def machine(self) -> MachineInfo:
        return detect_machine()

    # ---- paths and records -------------------------------------------------------------------

    def instance_dir(self, instance_id: str) -> Path:
        return self.instances_dir / instance_id

    def home_dir(self, instance_id: str) -> Path:
        """The node's sandbox: its home and working folder."""
        return self.instance_dir(instance_id) / "home"

    def _record_path(self, instance_id: str) -> Path:
        return self.instance_dir(instance_id) / "instance.json"

    def _read(self, instance_id: str) -> dict[str, object] | None:
        try:
            return json.loads(self._record_path(instance_id).read_text())
        except (OSError, ValueError):
            return None

    def _write(self, record: dict[str, object]) -> None:
        path = self._record_path(str(record["id"]))
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        os.replace(tmp, path)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """One process at a time decides capacity: a file lock shared by every Styx process."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def _records(self) -> list[dict[str, object]]:
        if not self.instances_dir.is_dir():
            return []
        records = []
        for child in sorted(self.instances_dir.iterdir()):
            record = self._read(child.name)
            if record is not None:
                records.append(record)
        return records

    def _to_instance(self, record: dict[str, object]) -> Instance:
        launched = record.get("launched_at")
        return Instance(
            id=InstanceId(str(record["id"])),
            provider=ProviderType.LOCAL,
            cluster_name=str(record["cluster_name"]),
            instance_type=str(record["instance_type"]),
            state=InstanceState(str(record["state"])),
            native_id=str(self.home_dir(str(record["id"]))),
            region=REGION,
            zone=None,
            public_ip=None,
            private_ip="127.0.0.1",
            node_rank=int(record.get("node_rank", 0)),  # type: ignore[call-overload]
            tags=dict(record.get("tags") or {}),  # type: ignore[call-overload]
            launched_at=datetime.fromisoformat(str(launched)) if launched else None,
        )

    def gpu_ids(self, instance_id: str) -> list[int]:
        record = self._read(instance_id) or {}
        return list(record.get("gpu_ids") or [])  # type: ignore[call-overload]

    # ---- inventory ---------------------------------------------------------------------------

    def _types(self) -> list[InstanceType]:
        m = self.machine
        sizes = sorted({1 << i for i in range(m.cpus.bit_length()) if (1 << i) < m.cpus} | {m.cpus})
        types = [
            InstanceType(
                name=f"local-{n}cpu",
                vcpus=float(n),
                memory_gib=_floor1(m.memory_gib * n / m.cpus),
                price_per_hour=0.0,
                region=REGION,
            )
            for n in sizes
        ]
        if m.gpus:
            gpu_name, gpu_mem = m.gpus[0].name, m.gpus[0].memory_gib
            for k in range(1, len(m.gpus) + 1):
                cpus = max(1, m.cpus * k // len(m.gpus))
                types.append(
                    InstanceType(
                        name=f"local-{k}x{gpu_name}",
                        vcpus=float(cpus),
                        memory_gib=_floor1(m.memory_gib * cpus / m.cpus),
                        accelerator_name=gpu_name,
                        accelerator_count=k,
                        accelerator_memory_gib=round(gpu_mem, 1),
                        price_per_hour=0.0,
                        region=REGION,
                    )
                )
        return types

    def _type(self, name: str) -> InstanceType:
        for t in self._types():
            if t.name == name:
                return t
        names = ", ".join(t.name for t in self._types())
        raise InvalidRequestError(
            f"unknown instance type '{name}'; this machine offers: {names}",
            provider="local",
            native_code="UnknownInstanceType",
        )

    def _gpus_in_use(self, exclude: str | None = None) -> set[int]:
        gpus: set[int] = set()
        for record in self._records():
            if record["id"] == exclude or record["state"] not in ("running", "pending"):
                continue
            gpus.update(record.get("gpu_ids") or [])  # type: ignore[arg-type]
        return gpus

    def _claim(self, itype: InstanceType, exclude: str | None = None) -> list[int]:
        """Check that ``itype`` fits this machine; return the GPU indices it gets.

        Local nodes share the CPUs and memory the way containers on one host do: a request is
        checked against the machine's total, never reserved, so several clusters run side by
        side. GPUs cannot be shared safely, so each device belongs to one node at a time; what is
        free is computed live from the instance records.
        """
        m = self.machine
        if itype.vcpus > m.cpus + 1e-9 or itype.memory_gib > m.memory_gib + 0.05:
            raise CapacityError(
                f"{itype.name} needs {itype.vcpus:g} CPUs and {itype.memory_gib:g} GiB; "
                f"this machine has {m.cpus} CPUs and {m.memory_gib:g} GiB",
                provider="local",
                native_code="InsufficientLocalCapacity",
                scope=Scope.NONE,
            )
        used_gpus = self._gpus_in_use(exclude)
        free_gpus = [g.index for g in m.gpus if g.index not in used_gpus]
        if itype.accelerator_count > len(free_gpus):
            raise CapacityError(
                f"{itype.name} needs {itype.accelerator_count} GPUs; {len(free_gpus)} free",
                provider="local",
                native_code="InsufficientLocalCapacity",
                scope=Scope.NONE,  # known exactly and free again when a cluster ends
            )
        return free_gpus[: itype.accelerator_count]

    # ---- interface ---------------------------------------------------------------------------

    async def provision(self, request: ProvisionRequest) -> Instance:
        itype = self._type(request.instance_type)
        with self._lock():
            existing = self._read(request.instance_id)
            if existing is not None:  # idempotent retry
                return self._to_instance(existing)
            gpu_ids = self._claim(itype)
            self.home_dir(request.instance_id).mkdir(parents=True, exist_ok=True)
            record: dict[str, object] = {
                "id": request.instance_id,
                "cluster_name": request.cluster_name,
                "instance_type": itype.name,
                "state": InstanceState.RUNNING.value,
                "node_rank": request.node_rank,
                "tags": dict(request.tags),
                "gpu_ids": gpu_ids,
                "launched_at": datetime.now(UTC).isoformat(),
            }
            self._write(record)
        return self._to_instance(record)

    async def list_instances(self) -> list[Instance]:
        return [self._to_instance(r) for r in self._records()]

    async def get_instance(self, instance_id: InstanceId) -> Instance | None:
        record = self._read(instance_id)
        return self._to_instance(record) if record else None

    async def terminate(self, instance_id: InstanceId) -> None:
        kill_instance_processes(instance_id)
        remove_local(self.home_dir(instance_id))  # image_id: docker:<image>
        # A FUSE mount (a bucket) left in the sandbox must go first, or rmtree deletes its files.
        unmount_below(self.instance_dir(instance_id))
        shutil.rmtree(self.instance_dir(instance_id), ignore_errors=True)

    async def stop(self, instance_id: InstanceId) -> None:
        with self._lock():
            record = self._require(instance_id)
            kill_instance_processes(instance_id)
            stop_local(self.home_dir(instance_id))
            record["state"] = InstanceState.STOPPED.value
            record["gpu_ids"] = []
            self._write(record)

    async def start(self, instance_id: InstanceId) -> None:
        with self._lock():
            record = self._require(instance_id)
            if record["state"] == InstanceState.RUNNING.value:
                return
            record["gpu_ids"] = self._claim(self._type(str(record["instance_type"])), instance_id)
            record["state"] = InstanceState.RUNNING.value
            self._write(record)

    def _require(self, instance_id: str) -> dict[str, object]:
        record = self._read(instance_id)
        if record is None:
            raise InstanceNotFoundError(f"no local instance {instance_id}", provider="local")
        return record

    async def is_available(self) -> bool:
        return True

    async def check(self) -> str:
        m = self.machine
        gpus = f", {len(m.gpus)}x {m.gpus[0].name}" if m.gpus else ", no GPU"
        return f"this machine: {m.cpus} CPUs, {m.memory_gib:g} GiB{gpus}"

    async def list_instance_types(self, region: str | None = None) -> list[InstanceType]:
        return self._types() if region in (None, REGION) else []

    async def list_regions(self) -> list[str]:
        return [REGION]

    async def cluster_access(self, cluster_name: str, instances: list[Instance]) -> ClusterAccess:
        from styx.providers.local.access import LocalClusterAccess, local_node

        nodes = [
            local_node(inst, str(self.home_dir(inst.id)), self.gpu_ids(inst.id))
            for inst in instances
        ]
        return LocalClusterAccess(cluster_name, nodes)


def _floor1(value: float) -> float:
    return int(value * 10) / 10


def _instance_pids(instance_id: str) -> list[int]:
    marker = f"{ENV_MARKER}={instance_id}".encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if marker in f.read().split(b"\0"):
                    pids.append(int(entry))
        except OSError:
            continue
    return pids


def unmount_below(folder: Path) -> None:
    """Lazily unmount every mount point under ``folder`` (bucket mounts of a local node)."""
    root = os.path.realpath(folder) + "/"
    try:
        with open("/proc/mounts", encoding="utf-8", errors="replace") as f:
            points = [line.split()[1].replace("\\040", " ") for line in f if line.strip()]
    except OSError:
        return
    for point in sorted((p for p in points if p.startswith(root)), reverse=True):
        for tool in (["fusermount3", "-uz"], ["fusermount", "-uz"], ["umount", "-l"]):
            with contextlib.suppress(OSError):
                if subprocess.run([*tool, point], capture_output=True, check=False).returncode == 0:
                    break


def kill_instance_processes(instance_id: str, grace_s: float = 3.0) -> None:
    """TERM, then KILL, every process (and its process group) started in the instance."""
    pids = _instance_pids(instance_id)
    if not pids:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(OSError):
                # Signal a whole group only when the marked process leads it: Styx starts node
                # processes, job drivers and the agent daemon in sessions of their own. A marked
                # process in someone else's group (an agent call made by a `styx` command in the
                # user's shell) is signalled alone, or the user's whole terminal job would go.
                if os.getpgid(pid) == pid and pid != os.getpgrp():
                    os.killpg(pid, sig)
            with contextlib.suppress(OSError):
                os.kill(pid, sig)
        deadline = time.monotonic() + (grace_s if sig == signal.SIGTERM else 1.0)
        while time.monotonic() < deadline:
            pids = [p for p in pids if _alive(p)]
            if not pids:
                return
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().split(")")[-1].split()[0] != "Z"  # a zombie is dead, just unreaped
    except OSError:
        return False
