"""image_id: docker:<image> on local clusters, end to end through the CLI and a real dockerd."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from tests.container.conftest import IMAGE, MARKER, MARKER_TEXT, Docker
from tests.fakes.sshd.nodes import free_port
from tests.integration.test_local_cli import instance_dirs, styx


def _task(tmp_path: Path, image: str, port: int, num_nodes: int = 2) -> Path:
    wd = tmp_path / "wd"
    wd.mkdir(exist_ok=True)
    (wd / "hello.txt").write_text("from-the-workdir\n")
    data = tmp_path / "data.txt"
    data.write_text("from-a-file-mount\n")
    task = tmp_path / "task.yaml"
    # Rank 0 listens on a free port of the host's network; rank 1 finds it through
    # SKYPILOT_NODE_IPS and sends a line (the image has no bash, so sh runs it). busybox `nc -l`
    # alone may quit at its own stdin's end before reading, so -e reads the line instead.
    task.write_text(
        f"num_nodes: {num_nodes}\n"
        f"resources: {{infra: local, image_id: 'docker:{image}'}}\n"
        f"workdir: {wd}\n"
        f"file_mounts: {{~/mnt/data.txt: {data}}}\n"
        "setup: echo setup-in-$(cat " + MARKER + ")\n"
        "run: |\n"
        "  echo marker=$(cat " + MARKER + ") pwd=$(pwd) rank=$SKYPILOT_NODE_RANK\n"
        "  cat hello.txt ~/mnt/data.txt\n"
        '  echo "ips=$(echo $SKYPILOT_NODE_IPS | tr " " ,) bash=$(command -v bash || echo none)"\n'
        '  head=$(echo "$SKYPILOT_NODE_IPS" | head -n1)\n'
        '  if [ "$SKYPILOT_NODE_RANK" = 0 ]; then\n'
        f"    nc -l -p {port} -e sh -c 'read -r line; echo \"got: $line\" >&2'\n"
        "  else\n"
        f'    until echo "hello from rank 1 over $head" | nc -w 1 "$head" {port}\n'
        "    do sleep 0.2; done\n"
        "  fi\n"
    )
    return task


def test_local_two_node_job_in_the_image_exec_cancel_down(
    docker_env: Docker, styx_home: Path, tmp_path: Path
) -> None:
    port = free_port()
    task = _task(tmp_path, IMAGE, port)
    out = styx(styx_home, "launch", "-y", "-c", "ct", str(task))
    assert out.returncode == 0, out.stderr + out.stdout
    log = out.stdout
    assert log.count(f"marker={MARKER_TEXT}") == 2, log
    assert f"setup-in-{MARKER_TEXT}" in log
    assert log.count("from-the-workdir") == 2 and log.count("from-a-file-mount") == 2
    assert "bash=none" in log  # the sh fallback ran it
    assert "ips=127.0.0.1,127.0.0.1" in log
    assert "got: hello from rank 1 over 127.0.0.1" in log  # rank 0 heard rank 1 (host network)
    homes = [str(d / "home") for d in instance_dirs(styx_home)]
    assert any(f"pwd={h}/sky_workdir" in log for h in homes), log  # the same paths as the host
    running = docker_env.containers("styx-cluster=ct")
    assert len(running) == 2

    # exec runs in the container too; logs shows its output again.
    out = styx(styx_home, "exec", "ct", f"cat {MARKER}; echo exec-rank-$SKYPILOT_NODE_RANK")
    assert out.returncode == 0, out.stderr
    assert out.stdout.count(MARKER_TEXT) == 2 and "exec-rank-1" in out.stdout
    logs = styx(styx_home, "logs", "ct", "2")
    assert "exec-rank-0" in logs.stdout

    # cancel kills the job inside the containers, not only the engine's exec client.
    out = styx(styx_home, "exec", "-d", "ct", "echo started; sleep 321")
    assert out.returncode == 0, out.stderr
    _wait_for(lambda: "sleep 321" in _ps(docker_env, running), "the job to start in the container")
    out = styx(styx_home, "cancel", "ct", "3")
    assert out.returncode == 0, out.stderr
    _wait_for(lambda: "sleep 321" not in _ps(docker_env, running), "cancel to kill the job")
    queue = styx(styx_home, "queue", "ct")
    assert "CANCELLED" in queue.stdout

    # Another image on the same cluster is refused, naming both.
    (tmp_path / "o").mkdir()
    other = _task(tmp_path / "o", "styx-other:2", port)
    out = styx(styx_home, "launch", "-y", "-c", "ct", str(other))
    assert out.returncode != 0
    err = out.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert f"runs image 'docker:{IMAGE}'" in err and "docker:styx-other:2" in err

    out = styx(styx_home, "down", "-y", "ct")
    assert out.returncode == 0, out.stderr
    assert docker_env.containers("styx-cluster=ct") == []


def test_a_missing_image_fails_in_one_line_and_leaves_nothing(
    docker_env: Docker, styx_home: Path, tmp_path: Path
) -> None:
    task = _task(tmp_path, "styx-no-such-image:1", free_port(), num_nodes=1)
    out = styx(styx_home, "launch", "-y", "-c", "gone", str(task))
    assert out.returncode != 0
    errors = [line for line in out.stderr.splitlines() if line.startswith("styx: error")]
    assert len(errors) == 1, out.stderr
    assert "cannot pull image 'styx-no-such-image:1'" in errors[0]
    assert "launch failed; terminating the new cluster" in out.stderr
    assert instance_dirs(styx_home) == []
    assert docker_env.containers("styx-cluster=gone") == []
    status = styx(styx_home, "status", "--json")
    assert json.loads(status.stdout) == []


def test_dry_run_says_which_kind_of_image(styx_home: Path, tmp_path: Path) -> None:
    task = tmp_path / "t.yaml"
    task.write_text("resources: {infra: local, image_id: 'docker:vllm/vllm-openai:v0.10.0'}\n")
    out = styx(styx_home, "launch", "--dryrun", "-o", "json", str(task))
    assert out.returncode == 0, out.stderr
    plan = json.loads(out.stdout)["plan"][0]
    assert plan["image_id"] == "docker:vllm/vllm-openai:v0.10.0"
    assert plan["image_kind"] == "container"


def _ps(docker: Docker, containers: list[str]) -> str:
    return "".join(
        docker.run("exec", c, "ps", "-o", "args", check=False).stdout for c in containers
    )


def _wait_for(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_refused_registry_login_fails_in_one_line_without_the_password(
    docker_env: Docker, styx_home: Path, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens there: the registry refuses the connection
    task = tmp_path / "t.yaml"
    task.write_text(
        f"resources: {{infra: local, image_id: 'docker:127.0.0.1:{port}/team/img:1'}}\n"
        f"envs: {{SKYPILOT_DOCKER_USERNAME: robot, SKYPILOT_DOCKER_SERVER: '127.0.0.1:{port}'}}\n"
        "secrets: {SKYPILOT_DOCKER_PASSWORD: }\n"
        "run: echo never\n"
    )
    out = styx(
        styx_home,
        "launch",
        "-y",
        "-c",
        "reg",
        "--secret",
        "SKYPILOT_DOCKER_PASSWORD=pw-9f8e7d",
        str(task),
    )
    assert out.returncode != 0
    errors = [line for line in out.stderr.splitlines() if line.startswith("styx: error")]
    assert len(errors) == 1, out.stderr
    assert "registry login as robot failed" in errors[0] and str(port) in errors[0]
    assert "pw-9f8e7d" not in out.stderr + out.stdout
    assert instance_dirs(styx_home) == [] and docker_env.containers("styx-cluster=reg") == []


def test_autostop_stops_the_container_start_brings_it_back_autodown_removes_it(
    docker_env: Docker, styx_home: Path, tmp_path: Path
) -> None:
    (styx_home / "config.yaml").write_text("autostop:\n  check_interval_s: 0.2\n")
    task = tmp_path / "t.yaml"
    task.write_text(f"resources: {{infra: local, image_id: 'docker:{IMAGE}'}}\nrun: cat {MARKER}\n")
    out = styx(styx_home, "launch", "-y", "-c", "as", "-i", "0.01", str(task))
    assert out.returncode == 0 and MARKER_TEXT in out.stdout, out.stderr
    (container,) = docker_env.containers("styx-cluster=as")

    def running() -> str:
        return docker_env.run("inspect", "-f", "{{.State.Running}}", container).stdout.strip()

    def status() -> str | None:
        rows = json.loads(styx(styx_home, "status", "-r", "--json").stdout)
        return next((r["status"] for r in rows if r["name"] == "as"), None)

    _wait_for(lambda: status() == "STOPPED", "autostop to stop the cluster")
    assert running() == "false"
    assert styx(styx_home, "start", "as").returncode == 0
    out = styx(styx_home, "exec", "as", f"cat {MARKER}")
    assert out.returncode == 0 and MARKER_TEXT in out.stdout, out.stderr
    assert running() == "true"
    assert styx(styx_home, "autostop", "as", "-i", "0.01", "--down").returncode == 0
    _wait_for(lambda: status() is None, "autostop --down to tear the cluster down")
    assert docker_env.containers("styx-cluster=as") == []
