"""image_id: docker:<image> on an SSH pool of OpenSSH nodes, end to end through the CLI."""

from __future__ import annotations

from pathlib import Path

from tests.container.conftest import IMAGE, MARKER, MARKER_TEXT, Docker
from tests.container.test_local import _ps, _wait_for
from tests.fakes.sshd.nodes import FakeCluster, free_port
from tests.integration.test_local_cli import styx


def test_pool_two_node_job_in_the_image_exec_logs_cancel_down(
    docker_pool: FakeCluster, docker_env: Docker, styx_home: Path, tmp_path: Path
) -> None:
    wd = tmp_path / "wd"
    wd.mkdir()
    (wd / "hello.txt").write_text("from-the-workdir\n")
    data = tmp_path / "data.txt"
    data.write_text("from-a-file-mount\n")
    absolute = tmp_path / "abs-mount" / "data.txt"  # an absolute target, bound at that path
    port = free_port()
    task = tmp_path / "task.yaml"
    task.write_text(
        "num_nodes: 2\n"
        f"resources: {{infra: ssh/testpool, image_id: 'docker:{IMAGE}'}}\n"
        f"workdir: {wd}\n"
        f"file_mounts: {{~/mnt/data.txt: {data}, {absolute}: {data}}}\n"
        "run: |\n"
        f"  echo marker=$(cat {MARKER}) pwd=$(pwd) home=$HOME\n"
        f"  cat hello.txt ~/mnt/data.txt {absolute}\n"
        '  head=$(echo "$SKYPILOT_NODE_IPS" | head -n1)\n'
        '  if [ "$SKYPILOT_NODE_RANK" = 0 ]; then\n'
        f"    nc -l -p {port} -e sh -c 'read -r line; echo \"got: $line\" >&2'\n"
        "  else\n"
        f'    until echo "rank 1 reached $head" | nc -w 1 "$head" {port}; do sleep 0.2; done\n'
        "  fi\n"
    )
    out = styx(styx_home, "launch", "-y", "-c", "pc", str(task))
    assert out.returncode == 0, out.stderr + out.stdout
    log = out.stdout
    assert log.count(f"marker={MARKER_TEXT}") == 2, log
    for node in docker_pool.nodes:  # each node's own home, at the host's path
        assert f"pwd={node.home}/sky_workdir home={node.home}" in log, log
    assert log.count("from-the-workdir") == 2 and log.count("from-a-file-mount") == 4
    assert "got: rank 1 reached 127.0.0.1" in log
    containers = docker_env.containers("styx-cluster=pc")
    assert len(containers) == 2

    out = styx(styx_home, "exec", "pc", f"cat {MARKER}")
    assert out.returncode == 0 and out.stdout.count(MARKER_TEXT) == 2, out.stderr
    assert MARKER_TEXT in styx(styx_home, "logs", "pc", "2").stdout

    out = styx(styx_home, "exec", "-d", "pc", "sleep 432")
    assert out.returncode == 0, out.stderr
    _wait_for(lambda: _ps(docker_env, containers).count("sleep 432") == 2, "the job to start")
    assert styx(styx_home, "cancel", "pc", "3").returncode == 0
    _wait_for(lambda: "sleep 432" not in _ps(docker_env, containers), "cancel to kill the job")

    out = styx(styx_home, "down", "-y", "pc")
    assert out.returncode == 0, out.stderr
    assert docker_env.containers("styx-cluster=pc") == []
