"""The client-side files of managed jobs under $STYX_HOME/jobs: each job's log copy and secrets,
and the controller's pid/lock and log files. Everything is private (0600/0700)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TextIO

from styx.config import styx_home
from styx.jobs.models import ManagedJob


def jobs_dir() -> Path:
    path = styx_home() / "jobs"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def job_dir(job_id: int) -> Path:
    path = jobs_dir() / str(job_id)
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def log_path(job_id: int) -> Path:
    """The job's output as the controller copied it from every cluster it ran on."""
    return jobs_dir() / str(job_id) / "run.log"


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def save_secrets(job_id: int, secrets: dict[str, str]) -> None:
    """Secrets stay out of the state store: the controller needs them for every relaunch."""
    if secrets:
        _write_private(job_dir(job_id) / "secrets.json", json.dumps(secrets))


def forget_secrets(job_id: int) -> None:
    """A finished job is never launched again: its secrets go."""
    (jobs_dir() / str(job_id) / "secrets.json").unlink(missing_ok=True)


def uploads_dir() -> Path:
    """Files sent with managed jobs through the API server (a workdir, file mounts): kept here
    for every relaunch, removed when the last job using them is final."""
    path = jobs_dir() / "uploads"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def forget_files(job: ManagedJob, active: list[ManagedJob]) -> None:
    """``job`` is final: its secrets go, and its uploaded files once no job still running (a
    pipeline's later stages share one upload) names them."""
    import shutil

    forget_secrets(job.job_id)
    base = Path(job.base_dir) if job.base_dir else None
    if base is None or base.parent != uploads_dir():
        return
    if any(other.base_dir == job.base_dir for other in active if other.job_id != job.job_id):
        return
    shutil.rmtree(base, ignore_errors=True)


def load_secrets(job_id: int) -> dict[str, str]:
    path = jobs_dir() / str(job_id) / "secrets.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return {str(k): str(v) for k, v in data.items()}


class LogCopy:
    """Appends a job's output lines to its client-side log file as they arrive.

    A log followed again on the same cluster (after a dropped connection) starts from its
    beginning: the lines of this attempt already copied are skipped.
    """

    def __init__(self, job_id: int) -> None:
        folder = job_dir(job_id)
        path = folder / "run.log"
        self._mark = folder / "attempt.offset"
        self._path = path
        self._file: TextIO | None = None  # opened at the first line: queued jobs hold no file
        # A controller started again finds the current attempt's lines already copied by the
        # one before it: count them, so that following the same job again skips them.
        self._written = _lines_after(path, self._mark)  # lines of this attempt in the file
        self._seen = 0  # lines of this attempt received since the log was (re)followed

    def new_attempt(self) -> None:
        size = self._path.stat().st_size if self._path.exists() else 0
        _write_private(self._mark, str(size))
        self._written = self._seen = 0

    def refollow(self) -> None:
        self._seen = 0

    def write(self, line: str) -> None:
        self._seen += 1
        if self._seen <= self._written:
            return
        if self._file is None:
            fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._file = os.fdopen(fd, "a", encoding="utf-8", errors="replace")
        self._file.write(line if line.endswith("\n") else line + "\n")
        self._file.flush()
        self._written += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _lines_after(path: Path, mark: Path) -> int:
    try:
        offset = int(mark.read_text().strip())
    except (OSError, ValueError):
        return 0
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0
