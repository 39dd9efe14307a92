"""Send a task's local files (its workdir, its local file mounts) to the API server.

They travel as one tar stream, with the same files the in-process sync copies (``.styxignore``
or ``.gitignore`` honoured, ``.git`` left out, links kept as links): ``workdir/`` and
``mounts/N/`` (a folder) or ``mounts/N`` (a file). The task sent with the request names these
relative paths instead of the client's, and the request names the upload.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from styx.errors import StyxError
from styx.task import Task

if TYPE_CHECKING:
    from styx.client.remote import RemoteClient


def _folders(real: Path) -> Iterator[tuple[str, Path]]:
    """Every folder that travels (so that empty ones are kept too)."""
    from styx.execution.sync import ignore_patterns, is_excluded

    patterns = ignore_patterns(real)
    for dirpath, dirnames, _files in os.walk(real):
        base = Path(dirpath)
        kept = []
        for name in sorted(dirnames):
            rel = (base / name).relative_to(real).as_posix()
            if not (base / name).is_symlink() and not is_excluded(rel, True, patterns):
                kept.append(name)
                yield rel, base / name
        dirnames[:] = kept


def local_sources(task: Task, prefix: str = "") -> list[tuple[str, Path]]:
    """(name in the upload, path on this machine) of every local file the task sends."""
    out = []
    if isinstance(task.workdir, str):
        out.append((f"{prefix}workdir", task.resolve_path(task.workdir)))
    for index, local in enumerate(task.file_mounts.values()):
        out.append((f"{prefix}mounts/{index}", task.resolve_path(local)))
    return out


def pack(task: Task, dest: Path) -> dict[str, Any]:
    """Write the task's local files to the tar ``dest``; the task as the server must see it
    (paths relative to the unpacked upload)."""
    with tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as tar:
        return _pack(task, tar, "")


def _pack(task: Task, tar: tarfile.TarFile, prefix: str) -> dict[str, Any]:
    """``prefix`` (``stage0/``) keeps the files of several tasks apart in one upload."""
    task.check_local_files()
    for mount in task.storage_mounts:
        if mount.local_source is not None:
            raise StyxError(
                f"{mount.where}.source: a local folder copied to a bucket is not supported "
                "through the API server yet; upload it to the bucket first"
            )
    from styx.execution.sync import ignore_patterns, iter_entries

    data = task.to_yaml(redact_secrets=False)
    for name, source in local_sources(task, prefix):
        real = source.resolve()
        tar.add(real, name, recursive=False)
        if real.is_dir():
            for rel, _ in _folders(real):
                tar.add(real / rel, f"{name}/{rel}", recursive=False)
            for rel, path, _link in iter_entries(real, ignore_patterns(real)):
                tar.add(path, f"{name}/{rel}", recursive=False)
    if isinstance(task.workdir, str):
        data["workdir"] = f"{prefix}workdir"
    if task.file_mounts:
        names = {t: f"{prefix}mounts/{i}" for i, t in enumerate(task.file_mounts)}
        data["file_mounts"] = {
            target: names.get(target, value) for target, value in data["file_mounts"].items()
        }
    return data


@contextmanager
def _temporary_tar() -> Iterator[Path]:
    fd, name = tempfile.mkstemp(prefix="styx-upload-", suffix=".tar")  # 0600
    os.close(fd)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def task_args(client: RemoteClient, task: Task) -> dict[str, Any]:
    """The request args for ``task``: ``{"task": ...}``, plus ``"upload"`` when it has local
    files (sent now; the server removes them when the request ends)."""
    if not local_sources(task) and not any(m.local_source for m in task.storage_mounts):
        return {"task": task.to_yaml(redact_secrets=False)}
    with _temporary_tar() as tar:
        data = pack(task, tar)  # refuses what cannot travel, in one line
        return {"task": data, "upload": client.upload(tar)}


def stages_args(client: RemoteClient, stages: list[Task]) -> dict[str, Any]:
    """``{"stages": [...]}`` for a pipeline's tasks, with one ``"upload"`` holding every
    stage's files (``stage0/``, ``stage1/``, ...) when any has local ones."""
    if not any(local_sources(t) or any(m.local_source for m in t.storage_mounts) for t in stages):
        return {"stages": [t.to_yaml(redact_secrets=False) for t in stages]}
    with _temporary_tar() as path:
        with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
            data = [_pack(task, tar, f"stage{i}/") for i, task in enumerate(stages)]
        return {"stages": data, "upload": client.upload(path)}
