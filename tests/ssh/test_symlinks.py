"""Workdir symlinks over SSH, both transports: copied as symlinks (rsync -a's default), the same
as the local copy (tests/unit/test_sync_symlinks.py), and never written through on the node."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from tests.fakes.sshd.nodes import FakeCluster
from tests.ssh.test_runner import _runner
from tests.unit.test_sync_symlinks import links_of, make_workdir


@pytest.mark.parametrize("method", ["rsync", "sftp"])
def test_symlinks_travel_as_symlinks(
    clean_nodes: FakeCluster, tmp_path: Path, method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STYX_SSH_SYNC", method)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("host file")
    src = make_workdir(tmp_path, outside)
    home = clean_nodes.nodes[0].home
    dest = home / "sky_workdir"

    async def go() -> None:
        runner = _runner(clean_nodes, 0)
        await runner.put(src, "~/sky_workdir")
        assert links_of(dest) == {
            "link_to_file": "file.txt",
            "link_to_dir": "real_dir",
            "link_outside": str(outside),
            "dangling": "no/such/thing",
        }
        assert (dest / "real_dir" / "inner.txt").read_text() == "inner"
        # a link that becomes a folder: its new files land in the folder, not through the link
        (src / "link_outside").unlink()
        (src / "link_outside").mkdir()
        (src / "link_outside" / "keep.txt").write_text("from the workdir")
        await runner.put(src, "~/sky_workdir")
        assert (outside / "keep.txt").read_text() == "host file"
        assert not (dest / "link_outside").is_symlink()
        assert (dest / "link_outside" / "keep.txt").read_text() == "from the workdir"
        # a retargeted link is retargeted on the node
        (src / "link_to_dir").unlink()
        (src / "link_to_dir").symlink_to("file.txt")
        await runner.put(src, "~/sky_workdir")
        assert os.readlink(dest / "link_to_dir") == "file.txt"
        await runner.close()

    asyncio.run(go())
