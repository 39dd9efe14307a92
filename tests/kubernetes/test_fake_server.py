"""The fake API server itself, through the official client: watch, selectors, events, scheduler."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config, watch

from tests.fakes.kubernetes.server import FakeKubeServer


@pytest.fixture
def v1(kubeconfig: Path) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))


def body(name: str, cpu: str = "1", labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"containers": [{"name": "c", "image": "busybox",
                                 "resources": {"requests": {"cpu": cpu}}}]},
    }  # fmt: skip


def test_watch_streams_added_modified_deleted(v1: client.CoreV1Api) -> None:
    events: list[tuple[str, str | None]] = []
    started = threading.Event()

    def watch_pods() -> None:
        w = watch.Watch()
        for ev in w.stream(v1.list_namespaced_pod, "default", label_selector="app=w",
                           timeout_seconds=3):  # fmt: skip
            started.set()
            events.append((ev["type"], ev["object"].status.phase))
            if ev["type"] == "DELETED":
                w.stop()

    v1.create_namespaced_pod("default", body("seed", labels={"app": "w"}))
    t = threading.Thread(target=watch_pods)
    t.start()
    assert started.wait(3)
    v1.create_namespaced_pod("default", body("w1", labels={"app": "w"}))
    v1.create_namespaced_pod("default", body("other", labels={"app": "x"}))
    deadline = threading.Event()
    deadline.wait(0.3)  # let w1 reach Running
    v1.delete_namespaced_pod("w1", "default")
    t.join(5)
    kinds = [k for k, _ in events]
    assert kinds[0] == "ADDED" and kinds.count("ADDED") == 2 and kinds[-1] == "DELETED"
    assert ("MODIFIED", "Running") in events


def test_label_selectors(v1: client.CoreV1Api) -> None:
    v1.create_namespaced_pod("default", body("a", labels={"tier": "web", "env": "prod"}))
    v1.create_namespaced_pod("default", body("b", labels={"tier": "db"}))

    def names(selector: str) -> list[str]:
        pods = v1.list_namespaced_pod("default", label_selector=selector).items
        return sorted(p.metadata.name for p in pods)

    assert names("tier=web") == ["a"]
    assert names("tier==db") == ["b"]
    assert names("tier!=web") == ["b"]
    assert names("tier in (web, db),env") == ["a"]
    assert names("tier notin (web)") == ["b"]
    assert names("!env") == ["b"]


def test_unschedulable_pod_gets_condition_and_event(
    v1: client.CoreV1Api, fake_k8s: FakeKubeServer
) -> None:
    v1.create_namespaced_pod("default", body("huge", cpu="64"))
    pod = v1.read_namespaced_pod("huge", "default")
    cond = pod.status.conditions[0]
    assert (pod.status.phase, cond.type, cond.status, cond.reason) == (
        "Pending", "PodScheduled", "False", "Unschedulable")  # fmt: skip
    assert "3 Insufficient cpu" in cond.message
    events = v1.list_namespaced_event("default", field_selector="involvedObject.name=huge")
    assert [e.reason for e in events.items] == ["FailedScheduling"]
    assert v1.list_namespaced_event("default", field_selector="involvedObject.name=x").items == []


def test_scheduler_fills_nodes_then_frees_room(v1: client.CoreV1Api) -> None:
    for i in range(8):  # 2 + 2 + 4 CPU
        v1.create_namespaced_pod("default", body(f"p{i}"))
    v1.create_namespaced_pod("default", body("late"))
    assert v1.read_namespaced_pod("late", "default").spec.node_name is None
    v1.delete_namespaced_pod("p0", "default")
    # p0 is Terminating and still holds its room until it is gone, as on a real node.
    p0 = v1.read_namespaced_pod("p0", "default")
    assert p0.metadata.deletion_timestamp is not None
    assert p0.metadata.deletion_grace_period_seconds == 30
    deadline = time.monotonic() + 10
    while v1.read_namespaced_pod("late", "default").spec.node_name is None:
        assert time.monotonic() < deadline, "late was never scheduled into p0's room"
        time.sleep(0.05)


def test_namespaces_nodes_and_discovery(v1: client.CoreV1Api) -> None:
    v1.create_namespace({"metadata": {"name": "team"}})
    assert {n.metadata.name for n in v1.list_namespace().items} == {"default", "team"}
    assert v1.read_namespace("team").status.phase == "Active"
    nodes = {n.metadata.name: n for n in v1.list_node().items}
    assert nodes["gpu-node-1"].status.allocatable["nvidia.com/gpu"] == "1"
    assert nodes["cpu-node-1"].status.allocatable["cpu"] == "2"
    resources = {r.name for r in v1.get_api_resources().resources}
    assert {"pods", "pods/exec", "services", "nodes", "events"} <= resources
