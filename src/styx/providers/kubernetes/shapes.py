"""Pod shapes: the resource classes, GPU classes built from node labels, and what nodes offer."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from styx.errors import InvalidRequestError
from styx.providers.instance import InstanceType

GPU_RESOURCE = "nvidia.com/gpu"
# Labels that name a node's GPU model: NVIDIA's GPU feature discovery, then GKE's own.
GPU_PRODUCT_LABELS = ("nvidia.com/gpu.product", "cloud.google.com/gke-accelerator")
# name -> (vCPUs, memory GiB)
RESOURCE_CLASSES: dict[str, tuple[float, float]] = {
    "small": (1, 2),
    "medium": (2, 4),
    "large": (4, 8),
    "xlarge": (8, 16),
}
# Pods in these phases hold their requests on the node (as the scheduler counts them).
FINISHED_PHASES = ("Succeeded", "Failed")
_EXACT = re.compile(r"^(\d+(?:\.\d+)?)cpu-(\d+(?:\.\d+)?)gb$")
_GPU_CLASS = re.compile(r"^gpu-([a-z0-9-]+)-(\d+)$")
_KNOWN_GPUS = (
    "H200",
    "H100",
    "A100",
    "A10G",
    "A10",
    "L40S",
    "L40",
    "L4",
    "T4",
    "V100",
    "P100",
    "K80",
    "B200",
    "RTX6000",
    "A6000",
)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def accelerator_name(product: str) -> str:
    """A short GPU name the optimizer knows ("Tesla-T4" -> "T4"), else the product itself."""
    upper = product.upper().replace("_", "-")
    for name in _KNOWN_GPUS:
        if re.search(rf"(^|[-\s]){name}($|[-\s])", upper):
            return name
    return product


@dataclass(frozen=True)
class NodeInfo:
    """A node's allocatable resources, and what pods without GPUs (daemon sets, system pods,
    CPU workloads) already request on it: the rest is what Styx's pods can really get."""

    name: str
    cpus: float
    memory_gib: float
    gpus: int
    gpu_label: str | None = None  # which label names the product
    gpu_product: str | None = None
    requested_cpus: float = 0.0
    requested_memory_gib: float = 0.0

    @property
    def free_cpus(self) -> float:
        return max(0.0, self.cpus - self.requested_cpus)

    @property
    def free_memory_gib(self) -> float:
        return max(0.0, self.memory_gib - self.requested_memory_gib)

    @classmethod
    def from_v1(cls, node: Any, requested: tuple[float, float] = (0.0, 0.0)) -> NodeInfo:
        from kubernetes.utils.quantity import parse_quantity

        alloc = (node.status.allocatable if node.status else None) or {}
        labels = node.metadata.labels or {}
        label = next((k for k in GPU_PRODUCT_LABELS if labels.get(k)), None)
        return cls(
            name=node.metadata.name,
            cpus=float(parse_quantity(alloc.get("cpu", "0"))),
            memory_gib=float(parse_quantity(alloc.get("memory", "0"))) / 2**30,
            gpus=int(parse_quantity(alloc.get(GPU_RESOURCE, "0"))),
            gpu_label=label,
            gpu_product=labels.get(label) if label else None,
            requested_cpus=requested[0],
            requested_memory_gib=requested[1],
        )


def non_gpu_requests(pods: list[Any]) -> dict[str, tuple[float, float]]:
    """node name -> (CPUs, memory GiB) requested by its unfinished pods that hold no GPU.

    Pods that hold GPUs are left out: a GPU class already gets only its share (n of the node's
    GPUs) of the node, so counting another GPU pod's CPUs as well would shrink it twice.
    """
    from kubernetes.utils.quantity import parse_quantity

    out: dict[str, tuple[float, float]] = {}
    for pod in pods:
        node = pod.spec.node_name if pod.spec else None
        phase = pod.status.phase if pod.status else None
        if not node or phase in FINISHED_PHASES:
            continue
        cpus = memory = 0.0
        holds_gpu = False
        for container in pod.spec.containers or []:
            res = container.resources
            # Limits stand in for missing requests, as the API server defaults them.
            merged = {
                **((res.limits if res else None) or {}),
                **((res.requests if res else None) or {}),
            }
            holds_gpu = holds_gpu or float(parse_quantity(merged.get(GPU_RESOURCE, "0"))) > 0
            cpus += float(parse_quantity(merged.get("cpu", "0")))
            memory += float(parse_quantity(merged.get("memory", "0"))) / 2**30
        if holds_gpu:
            continue
        had = out.get(node, (0.0, 0.0))
        out[node] = (had[0] + cpus, had[1] + memory)
    return out


@dataclass(frozen=True)
class PodShape:
    """What one pod asks for."""

    cpus: float
    memory_gib: float
    gpus: int = 0
    gpu_label: str | None = None
    gpu_product: str | None = None


def _gpu_classes(nodes: list[NodeInfo]) -> dict[str, tuple[PodShape, NodeInfo]]:
    """gpu-<product>-<n> for n in 1..(GPUs of the biggest node with that product).

    Class n gets n/GPUs of what the node can really give (allocatable minus the requests of
    pods without GPUs), as SkyPilot offers it: the whole-node class gets all of it.
    """
    best: dict[str, NodeInfo] = {}
    for node in nodes:
        if node.gpus and node.gpu_product:
            key = slug(node.gpu_product)
            current = best.get(key)
            if current is None or (node.gpus, node.free_cpus) > (current.gpus, current.free_cpus):
                best[key] = node
    classes = {}
    for key, node in best.items():
        for n in range(1, node.gpus + 1):
            share = n / node.gpus
            shape = PodShape(
                cpus=max(1.0, math.floor(node.free_cpus * share)),
                memory_gib=max(1.0, math.floor(node.free_memory_gib * share)),
                gpus=n,
                gpu_label=node.gpu_label,
                gpu_product=node.gpu_product,
            )
            classes[f"gpu-{key}-{n}"] = (shape, node)
    return classes


def instance_types(nodes: list[NodeInfo], region: str | None) -> list[InstanceType]:
    """The CPU classes that fit on some node, then every GPU class the nodes allow."""
    types = [
        InstanceType(name=name, vcpus=cpus, memory_gib=mem, region=region)
        for name, (cpus, mem) in RESOURCE_CLASSES.items()
        # CPU classes are sized by allocatable: whether one fits now is the scheduler's call.
        if any(cpus <= n.cpus and mem <= n.memory_gib for n in nodes)
    ]
    for name, (shape, _node) in _gpu_classes(nodes).items():
        types.append(
            InstanceType(
                name=name,
                vcpus=shape.cpus,
                memory_gib=shape.memory_gib,
                accelerator_name=accelerator_name(shape.gpu_product or ""),
                accelerator_count=shape.gpus,
                region=region,
            )
        )
    return types


def needs_nodes(instance_type: str, num_gpus: int) -> bool:
    """Whether resolving this type needs the node list (GPU classes and GPU requests do)."""
    return num_gpus > 0 or instance_type.startswith("gpu-")


def resolve_shape(instance_type: str, num_gpus: int, nodes: list[NodeInfo]) -> PodShape:
    """The pod shape for a class name, a ``<cpus>cpu-<mem>gb`` exact shape, or a GPU class.

    A GPU class may name more GPUs than any node has (``gpu-tesla-t4-4``): that is for the
    scheduler to refuse (CapacityError), as a cluster autoscaler might still add such a node.
    """
    if instance_type in RESOURCE_CLASSES:
        cpus, mem = RESOURCE_CLASSES[instance_type]
        shape = PodShape(cpus, mem)
    elif m := _EXACT.match(instance_type):
        shape = PodShape(float(m.group(1)), float(m.group(2)))
    elif m := _GPU_CLASS.match(instance_type):
        classes = _gpu_classes(nodes)
        product_key, count = m.group(1), int(m.group(2))
        if instance_type in classes:
            shape = classes[instance_type][0]
        else:
            same = [
                (s, n) for name, (s, n) in classes.items() if name.startswith(f"gpu-{product_key}-")
            ]
            if not same:
                known = sorted({n.rsplit("-", 1)[0] for n in classes}) or ["none"]
                raise InvalidRequestError(
                    f"no node offers GPU product '{product_key}' (GPU classes here: "
                    f"{', '.join(known)})",
                    provider="kubernetes",
                    native_code="UnknownGPUProduct",
                )
            one = same[0][0]
            per_gpu = (one.cpus / one.gpus, one.memory_gib / one.gpus)
            shape = PodShape(
                per_gpu[0] * count, per_gpu[1] * count, count, one.gpu_label, one.gpu_product
            )
    else:
        raise InvalidRequestError(
            f"unknown Kubernetes instance type '{instance_type}'; expected one of "
            f"{', '.join(RESOURCE_CLASSES)}, gpu-<product>-<count>, or <cpus>cpu-<mem>gb",
            provider="kubernetes",
            native_code="UnknownInstanceType",
        )
    if num_gpus > shape.gpus:
        products = {(n.gpu_label, n.gpu_product) for n in nodes if n.gpus and n.gpu_product}
        # Pin the product only when the cluster has exactly one kind of GPU; otherwise any GPU.
        label, product = next(iter(products)) if len(products) == 1 else (None, None)
        shape = PodShape(
            shape.cpus,
            shape.memory_gib,
            num_gpus,
            shape.gpu_label or label,
            shape.gpu_product or product,
        )
    return shape
