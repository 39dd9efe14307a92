"""The fake cluster's state: namespaces, pods, services, nodes, events, and a tiny scheduler.

Everything here runs on the fake server's own event loop (single-threaded), so no locks. Objects
are stored as the JSON dicts the API speaks. Pods go Pending -> (bound to a node with room)
-> Running after ``start_delay_s``; a pod that fits nowhere stays Pending with a
``PodScheduled=False/Unschedulable`` condition and a ``FailedScheduling`` event, as the real
scheduler reports it.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import shutil
import signal
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from kubernetes.utils.quantity import parse_quantity

from tests.fakes.kubernetes.errors import ApiError
from tests.fakes.kubernetes.procs import kill_pod_processes, pod_processes, signal_pod_processes
from tests.fakes.kubernetes.validate import image_reference_error, validate_pod

__all__ = ["ApiError", "FakeCluster", "FakeNode", "default_nodes"]
GPU = "nvidia.com/gpu"
SCHEDULED_RESOURCES = ("cpu", "memory", GPU)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FakeNode:
    """A node offered to the scheduler: allocatable resources and labels."""

    name: str
    cpu: str = "2"
    memory: str = "8Gi"
    gpus: int = 0
    labels: dict[str, str] = field(default_factory=dict)

    def allocatable(self) -> dict[str, str]:
        alloc = {"cpu": self.cpu, "memory": self.memory, "pods": "110"}
        if self.gpus:
            alloc[GPU] = str(self.gpus)
        return alloc

    def to_json(self) -> dict[str, Any]:
        labels = {"kubernetes.io/hostname": self.name, "kubernetes.io/os": "linux", **self.labels}
        return {
            "kind": "Node",
            "apiVersion": "v1",
            "metadata": {"name": self.name, "labels": labels, "uid": self.name},
            "status": {
                "capacity": self.allocatable(),
                "allocatable": self.allocatable(),
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        }


def default_nodes() -> list[FakeNode]:
    """Two CPU nodes (2 CPU / 8 GiB) and one GPU node (4 CPU / 16 GiB / 1 Tesla T4)."""
    return [
        FakeNode("cpu-node-1"),
        FakeNode("cpu-node-2"),
        FakeNode(
            "gpu-node-1",
            cpu="4",
            memory="16Gi",
            gpus=1,
            labels={"nvidia.com/gpu.product": "Tesla-T4", "nvidia.com/gpu.count": "1"},
        ),
    ]


def pod_requests(pod: dict[str, Any]) -> dict[str, Decimal]:
    """Sum of the containers' requests (limits stand in for missing requests, as in the API)."""
    total = {r: Decimal(0) for r in SCHEDULED_RESOURCES}
    for c in pod.get("spec", {}).get("containers", []):
        res = c.get("resources") or {}
        merged = {**(res.get("limits") or {}), **(res.get("requests") or {})}
        for r in SCHEDULED_RESOURCES:
            if r in merged:
                total[r] += parse_quantity(merged[r])
    return total


class FakeCluster:
    def __init__(
        self,
        nodes: list[FakeNode],
        work_root: Path,
        start_delay_s: float,
        terminate_delay_s: float = 0.1,
    ) -> None:
        self.nodes = nodes
        self.work_root = work_root
        self.start_delay_s = start_delay_s
        # How long a deleted pod stays Terminating at least (the kubelet's round trip), before
        # it is gone once its processes have exited or its grace period has run out.
        self.terminate_delay_s = terminate_delay_s
        self.namespaces: dict[str, dict[str, Any]] = {}
        self.pods: dict[tuple[str, str], dict[str, Any]] = {}
        self.services: dict[tuple[str, str], dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.watchers: list[asyncio.Queue[tuple[str, dict[str, Any]]]] = []
        self.bad_images: set[str] = set()  # images whose pull fails (ErrImagePull)
        self._rv = itertools.count(1)
        self._ips = itertools.count(2)
        self.create_namespace({"metadata": {"name": "default"}})

    # ---- generic -----------------------------------------------------------------------------

    def _stamp(self, obj: dict[str, Any], namespace: str | None) -> dict[str, Any]:
        meta = obj.setdefault("metadata", {})
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            else:
                raise ApiError(422, "Invalid", "metadata.name: Required value: name is required")
        if namespace:
            meta["namespace"] = namespace
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", now())
        meta["resourceVersion"] = str(next(self._rv))
        return obj

    def _require_ns(self, namespace: str) -> None:
        if namespace not in self.namespaces:
            raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found')

    # ---- namespaces --------------------------------------------------------------------------

    def create_namespace(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("metadata", {}).get("name")
        if name in self.namespaces:
            raise ApiError(409, "AlreadyExists", f'namespaces "{name}" already exists')
        ns = self._stamp(copy.deepcopy(body), None)
        ns.update(kind="Namespace", apiVersion="v1", status={"phase": "Active"})
        self.namespaces[ns["metadata"]["name"]] = ns
        return ns

    # ---- pods --------------------------------------------------------------------------------

    def pod_dir(self, namespace: str, name: str) -> Path:
        return self.work_root / namespace / name

    def create_pod(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        self._require_ns(namespace)
        name = body.get("metadata", {}).get("name")
        old = self.pods.get((namespace, name))
        if old is not None:
            # The apiserver's registry wording: a name stays taken until the old pod is gone.
            prefix = "object is being deleted: " if old["metadata"].get("deletionTimestamp") else ""
            raise ApiError(409, "AlreadyExists", f'{prefix}pods "{name}" already exists')
        validate_pod(body)
        pod = self._stamp(copy.deepcopy(body), namespace)
        pod["spec"].setdefault("terminationGracePeriodSeconds", 30)
        pod.update(kind="Pod", apiVersion="v1")
        pod["status"] = {"phase": "Pending", "qosClass": "Guaranteed", "conditions": []}
        key = (namespace, pod["metadata"]["name"])
        self.pods[key] = pod
        self.pod_dir(*key).mkdir(parents=True, exist_ok=True)
        self._notify("ADDED", pod)
        self._schedule(pod)
        return pod

    def get_pod(self, namespace: str, name: str) -> dict[str, Any]:
        pod = self.pods.get((namespace, name))
        if pod is None:
            raise ApiError(404, "NotFound", f'pods "{name}" not found')
        return pod

    def delete_pod(self, namespace: str, name: str, grace_s: int | None = None) -> dict[str, Any]:
        """Graceful deletion as the API does it: the pod gets deletionTimestamp and
        deletionGracePeriodSeconds and stays (Terminating) while its containers get SIGTERM; it
        is removed once they have exited, or SIGKILLed when the grace period runs out. A pod
        never bound to a node, or a delete with grace 0, goes at once."""
        pod = self.get_pod(namespace, name)
        meta = pod["metadata"]
        if meta.get("deletionTimestamp"):
            return pod  # already terminating: the API answers with the object as it is
        grace = pod["spec"].get("terminationGracePeriodSeconds", 30) if grace_s is None else grace_s
        if grace == 0 or not pod["spec"].get("nodeName"):
            self._remove(namespace, name)
            return pod
        meta["deletionTimestamp"] = now()
        meta["deletionGracePeriodSeconds"] = grace
        self._touch(pod)
        signal_pod_processes(meta["uid"], signal.SIGTERM)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        loop.call_later(self.terminate_delay_s, self._reap, namespace, name, meta["uid"], deadline)
        return pod

    def _reap(self, namespace: str, name: str, uid: str, deadline: float) -> None:
        """Remove a terminating pod once its processes are gone (SIGKILL at the deadline)."""
        pod = self.pods.get((namespace, name))
        if pod is None or pod["metadata"]["uid"] != uid:
            return
        loop = asyncio.get_running_loop()
        if pod_processes(uid) and loop.time() < deadline:
            loop.call_later(0.05, self._reap, namespace, name, uid, deadline)
            return
        self._remove(namespace, name)

    def _remove(self, namespace: str, name: str) -> None:
        pod = self.pods.pop((namespace, name))
        pod["metadata"]["resourceVersion"] = str(next(self._rv))
        kill_pod_processes(pod["metadata"]["uid"])  # the containers stop with their pod
        shutil.rmtree(self.pod_dir(namespace, name), ignore_errors=True)
        self._notify("DELETED", pod)
        # Freed room may let a Pending pod in, as the real scheduler retries.
        for other in list(self.pods.values()):
            if not other["spec"].get("nodeName"):
                self._schedule(other)

    def patch_pod_status(self, namespace: str, name: str, status: dict[str, Any]) -> dict:
        pod = self.get_pod(namespace, name)
        pod["status"].update(status)
        self._touch(pod)
        return pod

    def _touch(self, pod: dict[str, Any]) -> None:
        pod["metadata"]["resourceVersion"] = str(next(self._rv))
        self._notify("MODIFIED", pod)

    def _notify(self, kind: str, pod: dict[str, Any]) -> None:
        for q in self.watchers:
            q.put_nowait((kind, copy.deepcopy(pod)))

    # ---- scheduler ---------------------------------------------------------------------------

    def _used(self, node: str) -> dict[str, Decimal]:
        used = {r: Decimal(0) for r in SCHEDULED_RESOURCES}
        for pod in self.pods.values():
            if pod["spec"].get("nodeName") == node and pod["status"]["phase"] in (
                "Pending",
                "Running",
            ):
                for r, v in pod_requests(pod).items():
                    used[r] += v
        return used

    def _schedule(self, pod: dict[str, Any]) -> None:
        wanted = pod_requests(pod)
        selector = pod["spec"].get("nodeSelector") or {}
        reasons: Counter[str] = Counter()
        for node in self.nodes:
            labels = node.to_json()["metadata"]["labels"]
            if any(labels.get(k) != v for k, v in selector.items()):
                reasons["node(s) didn't match Pod's node affinity/selector"] += 1
                continue
            alloc = {r: parse_quantity(v) for r, v in node.allocatable().items()}
            used = self._used(node.name)
            short = [
                r for r in SCHEDULED_RESOURCES if wanted[r] > alloc.get(r, Decimal(0)) - used[r]
            ]
            if short:
                for r in short:
                    reasons[f"Insufficient {r}"] += 1
                continue
            self._bind(pod, node)
            return
        detail = ", ".join(f"{n} {why}" for why, n in sorted(reasons.items()))
        message = f"0/{len(self.nodes)} nodes are available: {detail}."
        pod["status"]["conditions"] = [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": message,
                "lastTransitionTime": now(),
            }
        ]
        self._event(pod, "Warning", "FailedScheduling", message)
        self._touch(pod)

    def _bind(self, pod: dict[str, Any], node: FakeNode) -> None:
        pod["spec"]["nodeName"] = node.name
        pod["status"]["conditions"] = [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": now()}
        ]
        self._event(pod, "Normal", "Scheduled", f"Successfully assigned to {node.name}")
        self._touch(pod)
        key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
        uid = pod["metadata"]["uid"]
        asyncio.get_running_loop().call_later(self.start_delay_s, self._start, key, uid)

    def _start(self, key: tuple[str, str], uid: str) -> None:
        pod = self.pods.get(key)
        if pod is None or pod["metadata"]["uid"] != uid:
            return  # deleted (or replaced) before it started
        containers = pod["spec"]["containers"]
        bad = [
            c
            for c in containers
            if c.get("image") in self.bad_images or image_reference_error(c["image"])
        ]
        statuses = []
        for c in containers:
            if image_reference_error(c["image"]):
                # The kubelet, not the API, parses the reference (pkg/kubelet/images).
                reason = image_reference_error(c["image"])
                state = {"waiting": {"reason": "InvalidImageName", "message": reason}}
            elif c in bad:
                state = {"waiting": {"reason": "ErrImagePull", "message": "pull access denied"}}
            else:
                state = {"running": {"startedAt": now()}}
            statuses.append(
                {
                    "name": c["name"],
                    "image": c.get("image", ""),
                    "imageID": "",
                    "ready": c not in bad,
                    "restartCount": 0,
                    "started": c not in bad,
                    "state": state,
                }
            )
        n = next(self._ips)
        pod["status"].update(
            containerStatuses=statuses,
            podIP=f"10.244.{n // 250}.{n % 250 + 1}",
            hostIP="10.0.0.1",
            startTime=now(),
        )
        if not bad:
            pod["status"]["phase"] = "Running"
            pod["status"]["conditions"].append({"type": "Ready", "status": "True"})
            self._event(pod, "Normal", "Started", "Started container")
        self._touch(pod)

    def _event(self, pod: dict[str, Any], kind: str, reason: str, message: str) -> None:
        meta = pod["metadata"]
        name = f"{meta['name']}.{uuid.uuid4().hex[:12]}"
        self.events.append(
            self._stamp(
                {
                    "kind": "Event",
                    "apiVersion": "v1",
                    "metadata": {"name": name},
                    "involvedObject": {
                        "kind": "Pod",
                        "namespace": meta["namespace"],
                        "name": meta["name"],
                        "uid": meta["uid"],
                    },
                    "type": kind,
                    "reason": reason,
                    "message": message,
                    "source": {"component": "default-scheduler"},
                    "firstTimestamp": now(),
                    "lastTimestamp": now(),
                    "count": 1,
                },
                meta["namespace"],
            )
        )

    # ---- services ----------------------------------------------------------------------------

    def create_service(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        self._require_ns(namespace)
        name = body.get("metadata", {}).get("name")
        if (namespace, name) in self.services:
            raise ApiError(409, "AlreadyExists", f'services "{name}" already exists')
        svc = self._stamp(copy.deepcopy(body), namespace)
        svc.update(kind="Service", apiVersion="v1")
        svc.setdefault("spec", {})["clusterIP"] = f"10.96.0.{len(self.services) + 10}"
        svc["spec"].setdefault("type", "ClusterIP")
        svc["status"] = {"loadBalancer": {}}
        self.services[(namespace, svc["metadata"]["name"])] = svc
        return svc

    def get_service(self, namespace: str, name: str) -> dict[str, Any]:
        svc = self.services.get((namespace, name))
        if svc is None:
            raise ApiError(404, "NotFound", f'services "{name}" not found')
        return svc

    def delete_service(self, namespace: str, name: str) -> dict[str, Any]:
        svc = self.get_service(namespace, name)
        del self.services[(namespace, name)]
        return svc
