"""The client/agent protocol: typed values through JSON, and named refusals from the agent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from styx.agent.nodes import NodeSpec
from styx.agent.protocol import (
    ERROR_EXIT,
    CancelResult,
    ClusterInfo,
    ErrorCode,
    JobInfo,
    JobSpec,
    dumps,
    parse_error_line,
)


def _spec() -> JobSpec:
    nodes = (
        NodeSpec(rank=0, ip="10.0.0.1", kind="local", home="/h0", gpu_ids=(0, 1)),
        NodeSpec(rank=1, ip="10.0.0.2", kind="ssh", host="h1", extra_ssh_options=("-v",)),
    )
    return JobSpec(
        run="echo hi",
        nodes=nodes,
        cluster_name="c",
        cluster_info=ClusterInfo("c", "local", "r", None),
        envs={"A": "1"},
        secrets={"S": "x"},
        num_gpus_per_node=2,
    )


def test_job_spec_round_trips_through_json() -> None:
    spec = _spec()
    again = JobSpec.from_dict(json.loads(dumps(spec)))
    assert again == spec
    assert again.nodes[0].gpu_ids == (0, 1) and isinstance(again.nodes[1], NodeSpec)


def test_job_info_and_cancel_result_from_the_agent_json() -> None:
    job = JobInfo(3, "n", "FAILED", 1.0, exit_code=4, message="m")
    assert JobInfo.from_dict(json.loads(dumps([job]))[0]) == job
    assert not job.succeeded and job.done
    assert CancelResult.from_dict({"cancelled": [1], "already_done": [2]}) == CancelResult(
        (1,), (2,)
    )


def test_job_spec_without_nodes_is_refused() -> None:
    data = _spec().to_dict()
    data["nodes"] = []
    try:
        JobSpec.from_dict(data)
    except ValueError as exc:
        assert "node" in str(exc)
    else:
        raise AssertionError("a spec without nodes was accepted")


def _agent(root: Path, *args: str, stdin: str = "") -> tuple[int, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "styx.agent", "--root", str(root), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc.returncode, proc.stdout


def test_agent_refusals_carry_named_codes(tmp_path: Path) -> None:
    cases = [
        (("status",), "", ErrorCode.NO_JOBS_YET, ()),
        (("logs", "7"), "", ErrorCode.NO_SUCH_JOB, (7,)),
        (("cancel", "7", "8"), "", ErrorCode.NO_SUCH_JOB, (7, 8)),
        (("cancel",), "", ErrorCode.BAD_REQUEST, ()),
        (("submit",), "{not json", ErrorCode.BAD_REQUEST, ()),
        (("submit",), '{"run": "true", "nodes": []}', ErrorCode.BAD_REQUEST, ()),
        (("frobnicate",), "", ErrorCode.BAD_REQUEST, ()),
    ]
    for args, stdin, code, job_ids in cases:
        rc, out = _agent(tmp_path, *args, stdin=stdin)
        failure = parse_error_line(out)
        assert rc == ERROR_EXIT and failure is not None, (args, rc, out)
        assert (failure.code, failure.job_ids) == (code, job_ids), args
    rc, out = _agent(tmp_path, "queue")
    assert (rc, json.loads(out)) == (0, [])


def test_agent_failure_is_an_internal_error_not_a_traceback_to_parse(tmp_path: Path) -> None:
    (tmp_path / "agent.db").write_bytes(b"this is not a database" * 100)
    rc, out = _agent(tmp_path, "queue")
    failure = parse_error_line(out)
    assert rc == ERROR_EXIT and failure is not None
    assert failure.code is ErrorCode.INTERNAL and "DatabaseError" in failure.message
