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


def iter_entries(folder: Path, patterns: list[str]) -> list[tuple[str, Path, bool]]:
    """(relative path, absolute path, is_symlink) of everything that travels.

    Like ``rsync -a``: a symlink (to a file or a folder, dangling or not) travels as a symlink
    with the same target text; a folder behind a symlink is never walked into.
    """
    out: list[tuple[str, Path, bool]] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        base = Path(dirpath)
        rel_base = base.relative_to(folder).as_posix()
        prefix = "" if rel_base == "." else rel_base + "/"
        kept_dirs = []
        for name in sorted(dirnames):
            rel = prefix + name
            if (base / name).is_symlink():  # os.walk lists folder links here and skips them
                if not is_excluded(rel, False, patterns):
                    out.append((rel, base / name, True))
            elif not is_excluded(rel, True, patterns):
                kept_dirs.append(name)
        dirnames[:] = kept_dirs
        for name in sorted(filenames):
            rel = prefix + name
            if not is_excluded(rel, False, patterns):
                out.append((rel, base / name, (base / name).is_symlink()))
    return out


def iter_files(folder: Path, patterns: list[str]) -> list[tuple[str, Path]]:
    """(relative path, absolute path) of every regular file that travels (links left out)."""
    return [(rel, path) for rel, path, link in iter_entries(folder, patterns) if not link]


def copy_tree(source: Path, target: Path, extra_excludes: list[str] | None = None) -> int:
    """Mirror ``source`` (file or folder) into ``target``; copy only changed files.

    Returns the number of files and links copied. Files under ``target`` that no longer exist
    in ``source`` are removed, so the node sees exactly the workdir. Symlinks are copied as
    symlinks (rsync -a's default), and nothing is ever written through a link in ``target``.
    """
    # The path the task names is followed (as rsync does with 'folder/'); links inside travel.
    if source.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.is_dir():
            _remove(target)
        if _changed(source, target):
            shutil.copy2(source, target)
            return 1
        return 0
    patterns = ignore_patterns(source) + list(extra_excludes or [])
    if target.is_symlink() or target.is_file():
        _remove(target)
    target.mkdir(parents=True, exist_ok=True)
    wanted = iter_entries(source, patterns)
    kinds = {rel: link for rel, _, link in wanted}
    folders = {rel.rsplit("/", 1)[0] for rel in kinds if "/" in rel}
    folders |= {
        "/".join(f.split("/")[:i]) for f in list(folders) for i in range(1, f.count("/") + 1)
    }
    # First remove what must go, so that no later write can pass through a stale link.
    for dirpath, dirs, filenames in os.walk(target):
        base = Path(dirpath)
        for name in list(dirs):
            rel = (base / name).relative_to(target).as_posix()
            if (base / name).is_symlink():
                if kinds.get(rel) is not True:
                    os.unlink(base / name)
                dirs.remove(name)
            elif rel in kinds:  # a folder where a file or link must be
                shutil.rmtree(base / name)
                dirs.remove(name)
        for name in filenames:
            rel = (base / name).relative_to(target).as_posix()
            is_link = (base / name).is_symlink()
            if rel not in kinds or kinds[rel] != is_link or rel in folders:
                os.unlink(base / name)
    copied = 0
    for rel, path, link in wanted:
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if link:
            copied += _copy_link(path, dest)
        elif _changed(path, dest):
            shutil.copy2(path, dest)
            copied += 1
    return copied


def _copy_link(source: Path, dest: Path) -> int:
    """Make ``dest`` a symlink with ``source``'s target text; 0 if it already is one."""
    wanted = os.readlink(source)
    if dest.is_symlink() and os.readlink(dest) == wanted:
        return 0
    if dest.is_symlink() or dest.exists():
        _remove(dest)
    os.symlink(wanted, dest)
    return 1


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _changed(source: Path, dest: Path) -> bool:
    try:
        s, d = source.stat(), dest.stat()
    except FileNotFoundError:
        return True
    return s.st_size != d.st_size or s.st_mtime_ns != d.st_mtime_ns
