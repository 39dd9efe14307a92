"""The head's ControlPath to its workers under a deep $HOME: moved to a short private folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from styx.agent import nodes
from styx.agent.nodes import NodeSpec, _control_options_fit


def _options(home: str) -> list[str]:
    return [
        "-o", "ControlMaster=auto",
        "-o", f"ControlPath={home}/.styx/cm/%r@%h:%p",
        "-o", "ControlPersist=10m",
    ]  # fmt: skip


@pytest.fixture
def short_tmp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A short $TMPDIR (pytest's own tmp_path is too deep for a socket path)."""
    folder = Path(tempfile.mkdtemp(prefix="hcm", dir="/tmp"))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _node() -> NodeSpec:
    return NodeSpec(rank=1, ip="10.0.0.7", host="10.0.0.7", port=22, user="ubuntu")


def test_a_short_home_keeps_its_path() -> None:
    assert _control_options_fit(_options("/home/u"), _node()) == _options("/home/u")


def test_a_deep_home_moves_the_socket_to_a_private_short_folder(short_tmp: Path) -> None:
    deep = "/home/" + "d" * 80
    out = _control_options_fit(_options(deep), _node())
    (path,) = [o.split("=", 1)[1] for o in out if o.startswith("ControlPath=")]
    folder = short_tmp / f"styx-hcm-{os.getuid()}"
    assert Path(path).parent == folder and len(path) + 17 <= nodes.SOCKET_PATH_MAX
    assert folder.stat().st_mode & 0o777 == 0o700
    assert "ControlMaster=auto" in out and "ControlPersist=10m" in out
    # Another target gets another socket.
    other = _control_options_fit(_options(deep), NodeSpec(rank=2, ip="10.0.0.8", host="10.0.0.8"))
    assert [o for o in other if o.startswith("ControlPath=")] != [f"ControlPath={path}"]


def test_a_shared_folder_is_not_used(short_tmp: Path) -> None:
    folder = short_tmp / f"styx-hcm-{os.getuid()}"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)  # made by someone else, open to all: no sockets there
    out = _control_options_fit(_options("/home/" + "d" * 80), _node())
    assert not [o for o in out if o.startswith("Control")] and "-o" not in out
