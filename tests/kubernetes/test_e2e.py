"""End to end through the CLI on the fake Kubernetes cluster (pods are folders on this machine).

The head pod gets the Styx runtime installed over exec; it starts the worker's rank through the
fake API's pods/exec with its service-account token (``styx.agent.kubeexec``), as on a real
cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.fakes.kubernetes.procs import pod_processes
from tests.fakes.kubernetes.rbac import sa_token
from tests.fakes.kubernetes.server import FakeKubeServer
from tests.kubernetes.conftest import raw_get

REPO = Path(__file__).resolve().parent.parent.parent


def styx_env(home: Path, kubeconfig: Path | str) -> dict[str, str]:
    env = dict(os.environ)
    env["STYX_HOME"] = str(home)
    env["KUBECONFIG"] = str(kubeconfig)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO), env.get("PYTHONPATH", "")])
    return env


def styx(
    home: Path, kubeconfig: Path | str, *args: str, check: bool = True, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "styx.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=styx_env(home, kubeconfig),
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"styx {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def styx_pods(server: FakeKubeServer) -> list[dict]:
    """Styx's pods as the API lists them (a raw GET, not through the provider or the SDK)."""
    code, body = raw_get(server, "/api/v1/namespaces/default/pods")
    assert code == 200
    return [p for p in body["items"] if "styx-id" in (p["metadata"].get("labels") or {})]


def procs_with(server: FakeKubeServer, text: str) -> dict[str, list[str]]:
    """Pod name -> command lines containing ``text`` of the processes running in that pod."""
    pods = server.call(lambda: list(server.cluster.pods.values()))
    out = {}
    for pod in pods:
        found = [c for _, c in pod_processes(pod["metadata"]["uid"]) if text in c]
        if found:
            out[pod["metadata"]["name"]] = found
    return out


def test_two_node_job_exec_queue_logs_cancel_stop_down(
    fake_k8s: FakeKubeServer, kubeconfig: Path, styx_home: Path, tmp_path: Path
) -> None:
    wd = tmp_path / "wd"
    wd.mkdir()
    (wd / "hello.txt").write_text("from workdir\n")
    (wd / "secret.tmp").write_text("no\n")
    (wd / ".styxignore").write_text("*.tmp\n")
    task = tmp_path / "task.yaml"
    task.write_text(
        "num_nodes: 2\n"
        "resources: {infra: k8s/fake}\n"
        f"workdir: {wd}\n"
        "setup: echo setup-ran-$STYX_NODE_RANK\n"
        "run: |\n"
        "  echo rank=$SKYPILOT_NODE_RANK of=$STYX_NUM_NODES "
        "ips=$(echo $STYX_NODE_IPS | tr ' ' ,) $(cat hello.txt)\n"
    )
    started = time.monotonic()
    out = styx(styx_home, kubeconfig, "launch", "-y", "-c", "k1", str(task))
    launch_s = time.monotonic() - started
    pods = sorted(styx_pods(fake_k8s), key=lambda p: p["metadata"]["labels"]["styx-node-rank"])
    assert len(pods) == 2
    ips = [p["status"]["podIP"] for p in pods]
    assert all(p["spec"]["serviceAccountName"] == "styx-agent" for p in pods)
    lines = out.stdout.splitlines()
    both = ",".join(ips)
    assert f"(head, {ips[0]}) rank=0 of=2 ips={both} from workdir" in lines, out.stdout
    assert f"(worker1, {ips[1]}) rank=1 of=2 ips={both} from workdir" in lines, out.stdout
    assert f"(head, {ips[0]}) setup-ran-0" in lines and f"(worker1, {ips[1]}) setup-ran-1" in lines
    # The worker's rank went through the API as the head pod's service account.
    execs = [
        p for m, p in fake_k8s.requests if p.endswith("/exec") and pods[1]["metadata"]["name"] in p
    ]
    assert execs, "the worker pod was never exec'd into"
    head_dir = fake_k8s.cluster.pod_dir("default", pods[0]["metadata"]["name"])
    for pod in pods:  # the workdir reached both pods, without what .styxignore leaves out
        workdir = fake_k8s.cluster.pod_dir("default", pod["metadata"]["name"]) / "sky_workdir"
        assert (workdir / "hello.txt").is_file() and not (workdir / "secret.tmp").exists()
    assert (head_dir / ".styx" / "runtime" / "venv" / "bin" / "python").exists()
    print(f"2-node launch on the fake cluster: {launch_s:.1f}s")

    # exec: straight to the agent, the runtime is not reinstalled
    installed = (head_dir / ".styx" / "runtime" / "installed").stat().st_mtime
    started = time.monotonic()
    out = styx(styx_home, kubeconfig, "exec", "k1", "echo exec-$STYX_NODE_RANK-$STYX_JOB_ID")
    exec_s = time.monotonic() - started
    assert (
        f"(head, {ips[0]}) exec-0-2" in out.stdout and f"(worker1, {ips[1]}) exec-1-2" in out.stdout
    )
    assert (head_dir / ".styx" / "runtime" / "installed").stat().st_mtime == installed
    print(f"exec on the up cluster: {exec_s:.1f}s")

    # a failing worker fails the job, naming the node and its exit code
    out = styx(
        styx_home,
        kubeconfig,
        "exec",
        "k1",
        "[ $STYX_NODE_RANK = 1 ] && exit 7; echo ok",
        check=False,
    )
    assert out.returncode == 7, out.stderr
    assert "worker1" in out.stderr and "exit code 7" in out.stderr

    # cancel a running job: its processes are gone in both pods
    styx(styx_home, kubeconfig, "exec", "-d", "k1", "echo started-$STYX_NODE_RANK; sleep 345")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(procs_with(fake_k8s, "sleep 345")) < 2:
        time.sleep(0.2)
    assert len(procs_with(fake_k8s, "sleep 345")) == 2, "the job did not start in both pods"
    queue = json.loads(styx(styx_home, kubeconfig, "queue", "k1", "--json").stdout)
    by_id = {int(j["job_id"]): j for j in queue}
    assert by_id[4]["status"] == "RUNNING" and by_id[1]["status"] == "SUCCEEDED"
    assert by_id[3]["status"] == "FAILED"
    logs = styx(styx_home, kubeconfig, "logs", "--no-follow", "k1", "4").stdout
    assert "started-0" in logs and "started-1" in logs
    styx(styx_home, kubeconfig, "cancel", "-y", "k1", "4")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and procs_with(fake_k8s, "sleep 345"):
        time.sleep(0.2)
    assert procs_with(fake_k8s, "sleep 345") == {}
    queue = json.loads(styx(styx_home, kubeconfig, "queue", "k1", "--json").stdout)
    assert {int(j["job_id"]): j["status"] for j in queue}[4] == "CANCELLED"

    # pods cannot stop: one clear line
    out = styx(styx_home, kubeconfig, "stop", "-y", "k1", check=False)
    assert out.returncode != 0
    assert "cannot stop" in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr

    # down: no pod left (and nothing running in them)
    uids = [p["metadata"]["uid"] for p in pods]
    styx(styx_home, kubeconfig, "down", "-y", "k1")
    assert styx_pods(fake_k8s) == []
    assert all(pod_processes(u) == [] for u in uids)
    assert "k1" not in styx(styx_home, kubeconfig, "status").stdout


def test_check_with_and_without_kubeconfig(
    fake_k8s: FakeKubeServer, kubeconfig: Path, styx_home: Path, tmp_path: Path
) -> None:
    out = json.loads(styx(styx_home, kubeconfig, "check", "kubernetes", "--json").stdout)
    assert out[0]["enabled"] is True
    assert f"context fake at {fake_k8s.url}" in out[0]["detail"]
    missing = tmp_path / "no-such-kubeconfig"
    out = json.loads(styx(styx_home, missing, "check", "kubernetes", "--json").stdout)
    assert out[0]["enabled"] is False
    assert f"no kubeconfig at {missing}" in out[0]["detail"]


def test_gpu_larger_than_any_node_fails_fast(
    fake_k8s: FakeKubeServer, kubeconfig: Path, styx_home: Path
) -> None:
    started = time.monotonic()
    out = styx(
        styx_home, kubeconfig, "launch", "-y", "-c", "big", "--infra", "k8s/fake",
        "--gpus", "T4:8", "echo", "never",
        check=False,
    )  # fmt: skip
    took = time.monotonic() - started
    assert out.returncode != 0
    assert "no T4:8 offer in kubernetes" in out.stderr and "largest is T4:1" in out.stderr
    assert styx_pods(fake_k8s) == []  # nothing was even tried
    # Only a guard against waiting out a provisioning timeout (minutes), with room for a
    # loaded 2-core machine: the structural check above is the real one.
    assert took < 80, took


def test_ordered_falls_over_from_kubernetes(
    fake_k8s: FakeKubeServer, kubeconfig: Path, styx_home: Path, tmp_path: Path
) -> None:
    task = tmp_path / "task.yaml"
    # 8 T4s: no node has them, so the Kubernetes offer is dropped and local runs the task.
    task.write_text(
        "resources:\n  ordered:\n    - {infra: k8s/fake, accelerators: T4:8}\n"
        "    - {infra: local}\nrun: echo ran-$STYX_CLUSTER_NAME\n"
    )
    out = styx(styx_home, kubeconfig, "launch", "-y", "-c", "f1", str(task))
    assert "ran-f1" in out.stdout and "launched on local" in out.stderr
    # 1 T4 is offered, but another pod holds it: the scheduler says Unschedulable, the launch
    # moves on at once instead of waiting out the scheduling timeout.
    styx(
        styx_home, kubeconfig, "launch", "-y", "-d", "-c", "holder", "--infra", "k8s/fake",
        "--gpus", "T4:1", "true",
    )  # fmt: skip
    task.write_text(task.read_text().replace("T4:8", "T4:1"))
    # A scheduling timeout far beyond the bound below: moving on fast can only come from the
    # Unschedulable verdict, however loaded the machine is.
    (styx_home / "config.yaml").write_text("kubernetes:\n  provision_timeout: 600\n")
    started = time.monotonic()
    out = styx(styx_home, kubeconfig, "launch", "-y", "-c", "f2", str(task))
    took = time.monotonic() - started
    assert "ran-f2" in out.stdout
    assert "trying kubernetes/fake" in out.stderr and "FailedScheduling" in out.stderr
    assert "launched on local" in out.stderr
    assert took < 120, took
    for name in ("f1", "f2", "holder"):
        styx(styx_home, kubeconfig, "down", "-y", name)
    assert styx_pods(fake_k8s) == []


def test_in_cluster_exec_needs_the_rbac_grant(
    fake_k8s: FakeKubeServer, kubeconfig: Path, tmp_path: Path
) -> None:
    """kubeexec against the fake API as a pod would run it: allowed by a RoleBinding, else 403."""
    target = "styx-target"
    fake_k8s.call(
        lambda: fake_k8s.cluster.create_pod(
            "default",
            {
                "metadata": {"name": target},
                "spec": {"containers": [{"name": "c", "image": "python:3.11-slim"}]},
            },
        )
    )
    deadline = time.monotonic() + 5
    while (
        fake_k8s.call(lambda: fake_k8s.cluster.get_pod("default", target))["status"]["phase"]
        != "Running"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)

    def kubeexec(account: str) -> subprocess.CompletedProcess[str]:
        sa = tmp_path / account
        sa.mkdir(exist_ok=True)
        (sa / "token").write_text(sa_token("default", account))
        (sa / "ca.crt").write_bytes(fake_k8s.tls.ca_path.read_bytes())  # as the kubelet mounts it
        env = styx_env(tmp_path, kubeconfig)
        env.update(
            KUBERNETES_SERVICE_HOST="127.0.0.1",
            KUBERNETES_SERVICE_PORT=str(fake_k8s.port),
            STYX_KUBE_SA_DIR=str(sa),
        )
        # 100 kB of output: frames with 16-bit lengths, several of them, in order
        script = "echo out; head -c 100000 /dev/zero | tr '\\0' x; echo err >&2; exit 3"
        argv = ["sh", "-c", script]
        return subprocess.run(
            [sys.executable, "-m", "styx.agent.kubeexec", "--namespace", "default",
             "--pod", target, "--", *argv],
            capture_output=True, text=True, timeout=20, env=env,
        )  # fmt: skip

    denied = kubeexec("nobody")
    assert denied.returncode == 255
    assert "403" in denied.stderr and 'cannot create resource "pods/exec"' in denied.stderr
    rbac = fake_k8s.rbac
    role = {"metadata": {"name": "r"},
            "rules": [{"resources": ["pods/exec"], "verbs": ["create"]}]}  # fmt: skip
    binding = {
        "metadata": {"name": "b"},
        "subjects": [{"kind": "ServiceAccount", "name": "agent", "namespace": "default"}],
        "roleRef": {"kind": "Role", "name": "r"},
    }
    fake_k8s.call(lambda: (rbac.create("Role", "default", role),
                           rbac.create("RoleBinding", "default", binding)))  # fmt: skip
    allowed = kubeexec("agent")
    assert allowed.returncode == 3, allowed.stderr
    assert allowed.stdout == "out\n" + "x" * 100_000 and allowed.stderr == "err\n"
    assert kubeexec("nobody").returncode == 255  # the binding names one account only
