"""Workdir symlinks travel the way ``rsync -a`` moves them: as symlinks, never followed, and
never written through on the node (local copy; tests/ssh/test_symlinks.py does rsync and SFTP)."""

from __future__ import annotations

import os
from pathlib import Path

from styx.execution.sync import copy_tree


def make_workdir(root: Path, outside: Path) -> Path:
    src = root / "wd"
    (src / "real_dir").mkdir(parents=True)
    (src / "real_dir" / "inner.txt").write_text("inner")
    (src / "file.txt").write_text("content")
    (src / "link_to_file").symlink_to("file.txt")
    (src / "link_to_dir").symlink_to("real_dir")
    (src / "link_outside").symlink_to(outside)
    (src / "dangling").symlink_to("no/such/thing")
    return src


def links_of(folder: Path) -> dict[str, str]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            if path.is_symlink():
                out[path.relative_to(folder).as_posix()] = os.readlink(path)
    return out


def test_symlinks_are_copied_as_symlinks(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("host file")
    src = make_workdir(tmp_path, outside)
    dest = tmp_path / "node" / "sky_workdir"
    copy_tree(src, dest)
    assert links_of(dest) == {
        "link_to_file": "file.txt",
        "link_to_dir": "real_dir",
        "link_outside": str(outside),
        "dangling": "no/such/thing",
    }
    assert (dest / "file.txt").read_text() == "content"
    assert (dest / "real_dir" / "inner.txt").read_text() == "inner"
    # the folder behind a link was not copied as a folder of its own
    assert not (dest / "link_outside").is_dir() or (dest / "link_outside").is_symlink()
    assert copy_tree(src, dest) == 0  # nothing changed: nothing copied


def test_resync_never_writes_through_a_stale_link(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("host file")
    src = make_workdir(tmp_path, outside)
    dest = tmp_path / "node" / "sky_workdir"
    copy_tree(src, dest)
    # The link becomes a real folder with a file of the same name as one outside.
    (src / "link_outside").unlink()
    (src / "link_outside").mkdir()
    (src / "link_outside" / "keep.txt").write_text("from the workdir")
    (src / "link_to_file").unlink()
    (src / "link_to_file").write_text("now a file")
    copy_tree(src, dest)
    assert (outside / "keep.txt").read_text() == "host file"
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]
    assert not (dest / "link_outside").is_symlink()
    assert (dest / "link_outside" / "keep.txt").read_text() == "from the workdir"
    assert (dest / "link_to_file").read_text() == "now a file"
    assert not (dest / "link_to_file").is_symlink()
    # and back: a folder on the node becomes a link again, its files gone
    (src / "link_outside" / "keep.txt").unlink()
    (src / "link_outside").rmdir()
    (src / "link_outside").symlink_to(outside)
    copy_tree(src, dest)
    assert os.readlink(dest / "link_outside") == str(outside)
    assert (outside / "keep.txt").read_text() == "host file"


def test_a_named_source_link_is_followed(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "a.txt").write_text("a")
    alias = tmp_path / "alias"
    alias.symlink_to(real)
    dest = tmp_path / "node" / "data"
    copy_tree(alias, dest)
    assert not dest.is_symlink() and (dest / "a.txt").read_text() == "a"
