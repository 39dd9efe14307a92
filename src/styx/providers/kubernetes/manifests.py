"""Pod and Service bodies for a ProvisionRequest, and a pod read back as an Instance."""

from __future__ import annotations

import json
import re
from typing import Any

from styx.providers.base import ProvisionRequest
from styx.providers.instance import (
    TAG_CLUSTER,
    TAG_INSTANCE_ID,
    TAG_NODE_RANK,
    TAG_OWNER,
    Instance,
    InstanceId,
    ProviderType,
)
from styx.providers.kubernetes.shapes import GPU_RESOURCE, PodShape
from styx.providers.kubernetes.states import pod_state

CONTAINER = "styx"
# Label values are limited (63 chars, [A-Za-z0-9._-]); the exact values live in annotations.
ANN_CLUSTER = "styx.dev/cluster-name"
ANN_TYPE = "styx.dev/instance-type"
ANN_TAGS = "styx.dev/tags"
ANN_ID = "styx.dev/instance-id"
# Keeps the container alive so Styx can exec into it, and exits at once on SIGTERM.
KEEPALIVE = "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"


def label_value(text: str) -> str:
    """A valid label value: at most 63 chars of [A-Za-z0-9._-], alphanumeric at both ends."""
    value = re.sub(r"[^A-Za-z0-9._-]+", "-", text)[:63]
    return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", value)


def pod_name(instance_id: str) -> str:
    """Derived from the Styx id alone, so a retried create hits 409 instead of a twin pod.
    Also a valid DNS-1035 label, so the Service can share it."""
    return ("styx-" + re.sub(r"[^a-z0-9-]+", "-", instance_id.lower()))[:63].rstrip("-")


def id_selector(instance_id: str) -> str:
    return f"{TAG_INSTANCE_ID}={label_value(instance_id)}"


def styx_labels(request: ProvisionRequest, owner: str) -> dict[str, str]:
    return {
        TAG_INSTANCE_ID: label_value(request.instance_id),
        TAG_CLUSTER: label_value(request.cluster_name),
        TAG_OWNER: label_value(owner),
        TAG_NODE_RANK: str(request.node_rank),
    }


def image_for(request: ProvisionRequest, shape: PodShape, cpu_image: str, gpu_image: str) -> str:
    if request.image_id:
        image = request.image_id
        return image[len("docker:") :] if image.startswith("docker:") else image
    return gpu_image if shape.gpus else cpu_image


def _quantity(gib: float) -> str:
    mib = round(gib * 1024)
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"


def _cpu(cpus: float) -> str:
    return str(int(cpus)) if float(cpus).is_integer() else f"{round(cpus * 1000)}m"


def pod_body(
    request: ProvisionRequest,
    shape: PodShape,
    image: str,
    owner: str,
    service_account: str | None = None,
) -> dict[str, Any]:
    """``service_account``: what the pod runs as (the head execs into the workers with it)."""
    resources = {"cpu": _cpu(shape.cpus), "memory": _quantity(shape.memory_gib)}
    if shape.gpus:
        resources[GPU_RESOURCE] = str(shape.gpus)
    spec: dict[str, Any] = {
        "restartPolicy": "Never",  # a dead node is reported, not silently replaced
        "terminationGracePeriodSeconds": 5,
        "containers": [
            {
                "name": CONTAINER,
                "image": image,
                "command": ["/bin/sh", "-c", KEEPALIVE],
                # Requests equal limits: Guaranteed QoS, so the node is not overcommitted.
                "resources": {"requests": dict(resources), "limits": dict(resources)},
                "ports": [{"containerPort": p} for p in request.ports],
            }
        ],
    }
    if service_account:
        spec["serviceAccountName"] = service_account
    if shape.gpus:
        if shape.gpu_label and shape.gpu_product:
            spec["nodeSelector"] = {shape.gpu_label: shape.gpu_product}
        # GPU nodes are commonly tainted so that only GPU pods land there.
        spec["tolerations"] = [{"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod_name(request.instance_id),
            "labels": styx_labels(request, owner),
            "annotations": {
                ANN_ID: request.instance_id,
                ANN_CLUSTER: request.cluster_name,
                ANN_TYPE: request.instance_type,
                ANN_TAGS: json.dumps(request.tags, sort_keys=True),
            },
        },
        "spec": spec,
    }


def service_body(request: ProvisionRequest, owner: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": pod_name(request.instance_id), "labels": styx_labels(request, owner)},
        "spec": {
            "selector": {TAG_INSTANCE_ID: label_value(request.instance_id)},
            "ports": [{"name": f"p{p}", "port": p, "targetPort": p} for p in request.ports],
        },
    }


def to_instance(pod: Any, context: str) -> Instance:
    meta = pod.metadata
    labels = meta.labels or {}
    ann = meta.annotations or {}
    try:
        tags = json.loads(ann.get(ANN_TAGS) or "{}")
    except ValueError:
        tags = {}
    tags.update({k: v for k, v in labels.items() if k.startswith("styx-")})
    state, native = pod_state(pod)
    return Instance(
        id=InstanceId(ann.get(ANN_ID) or labels.get(TAG_INSTANCE_ID, "")),
        provider=ProviderType.KUBERNETES,
        cluster_name=ann.get(ANN_CLUSTER) or labels.get(TAG_CLUSTER, ""),
        instance_type=ann.get(ANN_TYPE, ""),
        state=state,
        native_id=f"{meta.namespace}/{meta.name}",
        region=context,
        zone=None,
        public_ip=None,
        private_ip=pod.status.pod_ip if pod.status else None,
        node_rank=int(labels.get(TAG_NODE_RANK, "0") or 0),
        tags=tags,
        launched_at=meta.creation_timestamp,
        native_state=native,
    )
