"""The async core (styx.core) called from inside a running event loop, as a jobs controller or
an API server calls it: operations on two clusters run concurrently in one loop."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from styx import core
from styx.core import LaunchOptions, Printer
from styx.errors import ClusterNotFoundError, JobError
from styx.task import Task
from tests.integration.test_local_cli import instance_dirs


class Collector:
    """A printer per cluster: job output and progress lines kept apart."""

    def __init__(self) -> None:
        self.output: list[str] = []
        self.progress: list[str] = []

    def printer(self) -> Printer:
        return Printer(self.output.append, self.progress.append)


def _task(run: str) -> Task:
    return Task.from_yaml({"resources": {"infra": "local"}, "run": run})


def test_two_launches_and_two_execs_gathered_in_one_loop(styx_home: Path, tmp_path: Path) -> None:
    a, b = Collector(), Collector()

    async def scenario() -> None:
        launched = await asyncio.gather(
            core.launch(_task("echo from-a"), "ca", printer=a.printer()),
            core.launch(_task("echo from-b"), "cb", printer=b.printer()),
        )
        assert [(r.cluster_name, r.job_id, r.status) for r in launched] == [
            ("ca", 1, "SUCCEEDED"),
            ("cb", 1, "SUCCEEDED"),
        ]
        # A rendezvous: each exec marks its arrival and waits for the other's mark, so both
        # succeed only if the loop runs them at the same time (one blocking the loop deadlocks).
        meet = tmp_path / "meet"
        meet.mkdir()
        wait = (
            "touch {meet}/{me}; for i in $(seq 600); do [ -e {meet}/{other} ] && break; "
            "sleep 0.05; done; [ -e {meet}/{other} ] && echo exec-{me} $STYX_CLUSTER_NAME"
        )
        ran = await asyncio.gather(
            core.exec(_task(wait.format(meet=meet, me="a", other="b")), "ca", printer=a.printer()),
            core.exec(_task(wait.format(meet=meet, me="b", other="a")), "cb", printer=b.printer()),
        )
        assert [(r.job_id, r.status) for r in ran] == [(2, "SUCCEEDED"), (2, "SUCCEEDED")]
        jobs = await asyncio.gather(core.queue("ca"), core.queue("cb"))
        assert [[j.status for j in q] for q in jobs] == [["SUCCEEDED"] * 2] * 2
        assert {r.name for r in await core.status()} == {"ca", "cb"}
        await asyncio.gather(core.down("ca"), core.down("cb"))
        assert await core.status() == []

    asyncio.run(scenario())
    assert a.output == ["from-a\n", "exec-a ca\n"]
    assert b.output == ["from-b\n", "exec-b cb\n"]
    assert any("job 2 SUCCEEDED" in line for line in a.progress)
    assert instance_dirs(styx_home) == []


def test_core_errors_are_styx_errors_in_the_loop(styx_home: Path) -> None:
    quiet = Printer.silent()

    async def scenario() -> None:
        await core.launch(_task("true"), "cz", printer=quiet)
        with pytest.raises(JobError, match="cluster 'cz' has no job 99"):
            await core.cancel("cz", [99])
        with pytest.raises(JobError, match="cluster 'cz' has no job 42"):
            await core.logs("cz", 42, printer=quiet)
        failed = await asyncio.gather(
            core.exec(_task("exit 5"), "cz", printer=quiet), return_exceptions=True
        )
        assert isinstance(failed[0], JobError) and failed[0].returncode == 5
        job = await core.logs("cz", None, follow=False, printer=quiet)
        assert (job.job_id, job.status, job.exit_code) == (2, "FAILED", 5)
        result = await core.cancel("cz", [1])
        assert (result.cancelled, result.already_done) == ((), (1,))
        await core.down("cz")
        with pytest.raises(ClusterNotFoundError):
            await core.down("cz")

    asyncio.run(scenario())


def test_detached_launch_then_follow_its_log(styx_home: Path) -> None:
    out = Collector()

    async def scenario() -> None:
        result = await core.launch(
            _task("echo detached"),
            "cd",
            options=LaunchOptions(detach_run=True),
            printer=out.printer(),
        )
        assert (result.job_id, result.status) == (1, None)
        job = await core.logs("cd", result.job_id, follow=True, printer=out.printer())
        assert job.status == "SUCCEEDED"
        await core.down("cd")

    asyncio.run(scenario())
    assert out.output == ["detached\n"]
