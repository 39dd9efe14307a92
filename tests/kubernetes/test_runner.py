"""KubernetesCommandRunner against the fake's exec websocket (v4.channel.k8s.io)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from styx.errors import InstanceNotFoundError, JobError
from styx.providers.base import ProvisionRequest
from styx.providers.kubernetes.provider import KubernetesProvider
from styx.providers.kubernetes.runner import KubernetesCommandRunner
from tests.fakes.kubernetes.server import FakeKubeServer

Req = Callable[..., ProvisionRequest]


@pytest.fixture
def pod_runner(
    k8s: KubernetesProvider, k8s_request: Req
) -> Callable[[Callable[[KubernetesCommandRunner], Any]], Any]:
    """Runs an async test body with a runner into a fresh pod, in one event loop."""

    def go(body: Callable[[KubernetesCommandRunner], Any]) -> Any:
        async def main() -> Any:
            inst = await k8s.provision(k8s_request("exec"))
            runner = await k8s.command_runner(inst)
            return await body(runner)

        return asyncio.run(main())

    return go


def test_output_streams_line_by_line_and_exit_code_propagates(pod_runner: Any) -> None:
    seen: list[tuple[float, str]] = []

    async def body(runner: KubernetesCommandRunner) -> int:
        return await runner.run(
            "echo first; echo oops >&2; sleep 0.6; printf 'second\\nno-newline'; exit 7",
            on_output=lambda line: seen.append((time.monotonic(), line)),
        )

    assert pod_runner(body) == 7
    lines = [line for _, line in seen]
    assert lines[0] == "first" and "oops" in lines
    assert lines[-2:] == ["second", "no-newline"]
    # "first" arrived while the command was still sleeping: streamed, not buffered to the end.
    assert seen[-1][0] - seen[0][0] > 0.4


def test_env_and_cwd(pod_runner: Any) -> None:
    async def body(runner: KubernetesCommandRunner) -> tuple[str, int]:
        await runner.check_output("mkdir -p sub/dir")
        out: list[str] = []
        code = await runner.run(
            'echo "$GREETING|$EMPTY|$(basename "$PWD")"',
            env={"GREETING": "hello 'quoted' world", "EMPTY": ""},
            cwd="sub/dir",
            on_output=out.append,
        )
        return "\n".join(out), code

    out, code = pod_runner(body)
    assert code == 0 and out == "hello 'quoted' world||dir"


def test_check_output(pod_runner: Any) -> None:
    async def body(runner: KubernetesCommandRunner) -> tuple[str, JobError]:
        text = await runner.check_output("echo hi; echo ignored >&2")
        with pytest.raises(JobError) as info:
            await runner.check_output("echo bad >&2; exit 3")
        return text, info.value

    text, error = pod_runner(body)
    assert text == "hi\n"
    assert error.returncode == 3 and "bad" in str(error)


def test_put_directory_and_file_via_tar(
    pod_runner: Any, tmp_path: Path, fake_k8s: FakeKubeServer
) -> None:
    src = tmp_path / "workdir"
    (src / "pkg" / "deep").mkdir(parents=True)
    (src / "train.py").write_text("print('hi')\n")
    (src / "pkg" / "deep" / "data.bin").write_bytes(os.urandom(300_000))
    (src / "run.sh").write_text("#!/bin/sh\necho ran\n")
    (src / "run.sh").chmod(0o755)
    single = tmp_path / "config.yaml"
    single.write_text("a: 1\n")
    digest = hashlib.sha256((src / "pkg" / "deep" / "data.bin").read_bytes()).hexdigest()

    async def body(runner: KubernetesCommandRunner) -> tuple[str, str, str]:
        await runner.put(src, "~/sky_workdir")
        await runner.put(single, "~/conf/app.yaml")
        listing = await runner.check_output("cd sky_workdir && find . -type f | sort")
        remote = await runner.check_output("sha256sum sky_workdir/pkg/deep/data.bin")
        ran = await runner.check_output("./sky_workdir/run.sh && cat conf/app.yaml")
        return listing, remote, ran

    listing, remote, ran = pod_runner(body)
    assert listing.split() == ["./pkg/deep/data.bin", "./run.sh", "./train.py"]
    assert remote.split()[0] == digest
    assert ran == "ran\na: 1\n"


def test_exec_into_a_missing_pod(k8s: KubernetesProvider) -> None:
    from styx.providers.kubernetes.api import new_api_client

    runner = KubernetesCommandRunner(new_api_client(k8s.settings, "fake"), "default", "nope")
    with pytest.raises(InstanceNotFoundError):
        asyncio.run(runner.run("true"))
