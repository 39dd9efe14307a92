"""The local provider reads GPUs from nvidia-smi. This machine has none, so the tests put an
nvidia-smi on PATH that answers the same query in the same CSV format a real one does."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from styx.providers.local.machine import normalise_gpu_name
from styx.providers.local.provider import LocalProvider
from tests.integration.test_local_cli import styx

SMI = """#!/bin/sh
# Answers: nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader,nounits
case "$*" in
  *--query-gpu=index,name,memory.total*)
    printf '0, NVIDIA H200, 143771\\n1, NVIDIA H200, 143771\\n' ;;
  *) echo "unexpected arguments: $*" >&2; exit 9 ;;
esac
"""


@pytest.fixture
def fake_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    smi = bindir / "nvidia-smi"
    smi.write_text(SMI)
    smi.chmod(0o755)
    path = f"{bindir}{os.pathsep}{os.environ['PATH']}"
    monkeypatch.setenv("PATH", path)
    return path


def test_gpu_names_are_normalised() -> None:
    assert normalise_gpu_name("NVIDIA H200") == "H200"
    assert normalise_gpu_name("NVIDIA A100-SXM4-80GB") == "A100"
    assert normalise_gpu_name("Tesla T4") == "T4"
    assert normalise_gpu_name("NVIDIA GeForce RTX 4090") == "RTX4090"


def test_instance_types_include_the_gpus(fake_smi: str) -> None:
    types = {t.name: t for t in asyncio.run(LocalProvider().list_instance_types())}
    one, two = types["local-1xH200"], types["local-2xH200"]
    assert (one.accelerator_name, one.accelerator_count) == ("H200", 1)
    assert two.accelerator_count == 2 and round(two.accelerator_memory_gib or 0) == 140


def test_gpu_task_gets_its_own_device(fake_smi: str, styx_home: Path) -> None:
    env = {"PATH": fake_smi}
    run = "echo gpus=$CUDA_VISIBLE_DEVICES n=$SKYPILOT_NUM_GPUS_PER_NODE"
    first = styx(
        styx_home, "launch", "-y", "-c", "g1", "--infra", "local", "--gpus", "H200:1", run, **env
    )
    assert first.returncode == 0, first.stderr
    assert "gpus=0 n=1" in first.stdout
    second = styx(
        styx_home, "launch", "-y", "-c", "g2", "--infra", "local", "--gpus", "H200:1", run, **env
    )
    assert "gpus=1 n=1" in second.stdout  # the other GPU: each device belongs to one node
    third = styx(
        styx_home, "launch", "-y", "-c", "g3", "--infra", "local", "--gpus", "H200:1", run, **env
    )
    assert third.returncode != 0 and "InsufficientLocalCapacity" in third.stderr  # none left
    too_many = styx(styx_home, "launch", "-y", "--infra", "local", "--gpus", "H200:4", run, **env)
    assert too_many.returncode != 0 and "H200:4" in too_many.stderr
    for name in ("g1", "g2"):
        assert styx(styx_home, "down", "-y", name, **env).returncode == 0
