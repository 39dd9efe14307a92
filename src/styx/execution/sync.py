"""Which files of a workdir travel (.gitignore / .styxignore), and a local incremental copy."""

from __future__ import annotations

import fnmatch
import os
import shutil
from pathlib import Path

IGNORE_FILES = (".styxignore", ".gitignore")
ALWAYS_EXCLUDED = (".git/",)


def ignore_patterns(folder: Path) -> list[str]:
    """Patterns from ``.styxignore`` if present, else ``.gitignore`` (SkyPilot's rule)."""
    for name in IGNORE_FILES:
        path = folder / name
        if path.is_file():
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            return [
                *ALWAYS_EXCLUDED,
                *(ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")),
            ]
    return list(ALWAYS_EXCLUDED)


def is_excluded(relative: str, is_dir: bool, patterns: list[str]) -> bool:
    """gitignore-style matching for the common cases: names, globs, anchored and dir patterns.

    Negations (``!pattern``) re-include; the last matching pattern wins, as in git.
    """
    excluded = False
    parts = relative.split("/")
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        dir_only = pattern.endswith("/")
        pattern = pattern.rstrip("/")
        if not pattern or (dir_only and not is_dir):
            continue
        anchored = "/" in pattern
        pattern = pattern.lstrip("/")
        if anchored:
            matched = fnmatch.fnmatchcase(relative, pattern)
        else:
            matched = fnmatch.fnmatchcase(parts[-1], pattern)
        if matched:
            excluded = not negate
    return excluded


def iter_files(folder: Path, patterns: list[str]) -> list[tuple[str, Path]]:
    """(relative path, absolute path) of every file that travels, excluded folders pruned."""
    out: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        base = Path(dirpath)
        rel_base = base.relative_to(folder).as_posix()
        prefix = "" if rel_base == "." else rel_base + "/"
        dirnames[:] = sorted(d for d in dirnames if not is_excluded(prefix + d, True, patterns))
        for name in sorted(filenames):
            rel = prefix + name
            if not is_excluded(rel, False, patterns):
                out.append((rel, base / name))
    return out


def copy_tree(source: Path, target: Path, extra_excludes: list[str] | None = None) -> int:
    """Mirror ``source`` (file or folder) into ``target``; copy only changed files.

    Returns the number of files copied. Files under ``target`` that no longer exist in
    ``source`` are removed, so the node sees exactly the workdir.
    """
    if source.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        if _changed(source, target):
            shutil.copy2(source, target)
            return 1
        return 0
    patterns = ignore_patterns(source) + list(extra_excludes or [])
    target.mkdir(parents=True, exist_ok=True)
    wanted = iter_files(source, patterns)
    copied = 0
    keep = set()
    for rel, path in wanted:
        dest = target / rel
        keep.add(rel)
        if _changed(path, dest):
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
            copied += 1
    for dirpath, _dirs, filenames in os.walk(target):
        for name in filenames:
            rel = (Path(dirpath) / name).relative_to(target).as_posix()
            if rel not in keep:
                os.unlink(Path(dirpath) / name)
    return copied


def _changed(source: Path, dest: Path) -> bool:
    try:
        s, d = source.stat(), dest.stat()
    except FileNotFoundError:
        return True
    return s.st_size != d.st_size or s.st_mtime_ns != d.st_mtime_ns
