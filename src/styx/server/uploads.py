"""Files a remote client sends with a task (its workdir and local file mounts).

The client packs them into one tar stream; ``POST /api/uploads`` stores it, streamed to disk,
under ``$STYX_HOME/server/uploads/<user>/`` (0700), and answers an upload id. A request names
the id; when it runs, the tar is unpacked next to it (checked member by member: no absolute
names, no ``..``, no links leading out, no devices or fifos, bounded size and file count), the
task's paths point into the unpacked folder, and the core syncs them as it does in-process.
Both go when the request ends; a sweep removes what an abandoned upload left (after a TTL).

Settings (the server's ``config.yaml``): ``api_server.max_upload_mb`` (default 1024),
``api_server.max_upload_files`` (default 100000), ``api_server.upload_ttl_hours`` (default 24).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from styx.errors import StyxError

DEFAULT_MAX_MB = 1024
DEFAULT_MAX_FILES = 100_000
DEFAULT_TTL_HOURS = 24.0
_ID = re.compile(r"^[0-9a-f]{32}$")


class UploadError(StyxError):
    """An upload that is too big, malformed, or unsafe to unpack."""


class UploadNotFoundError(StyxError):
    """No such upload for this user (another user's upload is not found either)."""


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int
    max_files: int
    ttl_s: float


def _number(section: dict[str, object], key: str, default: float, upper: float) -> float:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= upper:
        raise StyxError(
            f"api_server.{key}: got {str(value)[:40]!r}, expected a number in (0, {upper}]"
        )
    return float(value)


def limits() -> UploadLimits:
    """The server's limits, read from its config.yaml at each use (no restart needed)."""
    from styx.config import load_config

    section = load_config().get("api_server") or {}
    section = section if isinstance(section, dict) else {}
    return UploadLimits(
        max_bytes=int(_number(section, "max_upload_mb", DEFAULT_MAX_MB, 1024 * 1024) * 2**20),
        max_files=int(_number(section, "max_upload_files", DEFAULT_MAX_FILES, 10**7)),
        ttl_s=_number(section, "upload_ttl_hours", DEFAULT_TTL_HOURS, 24 * 365) * 3600,
    )


def uploads_root() -> Path:
    from styx.config import styx_home

    server = styx_home() / "server"
    server.mkdir(mode=0o700, parents=True, exist_ok=True)
    root = server / "uploads"
    root.mkdir(mode=0o700, exist_ok=True)
    return root


def user_dir(user_name: str) -> Path:
    """The user's private folder (user names are checked: letters, digits, '_', '.', '-')."""
    from styx.db.users import check_user_name

    path = uploads_root() / check_user_name(user_name)
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def new_upload_path(user_name: str) -> tuple[str, Path]:
    upload_id = secrets.token_hex(16)
    return upload_id, user_dir(user_name) / f"{upload_id}.tar"


def check_id(upload_id: object) -> str:
    if not isinstance(upload_id, str) or not _ID.match(upload_id):
        raise StyxError("upload: expected an upload id (32 hex digits) from POST /api/uploads")
    return upload_id


def archive_path(user_name: str, upload_id: object) -> Path:
    """The stored tar of this user's upload; UploadNotFoundError if it is not theirs."""
    upload_id = check_id(upload_id)
    path = user_dir(user_name) / f"{upload_id}.tar"
    if not path.is_file():
        raise UploadNotFoundError(f"upload '{upload_id}' not found")
    return path


def claim(user_name: str, upload_id: object) -> Path:
    """Take this user's upload for one request: renamed (atomically), so that a second request
    naming the same id finds nothing and two requests never unpack into one folder."""
    archive = archive_path(user_name, upload_id)
    claimed = archive.with_name(archive.stem + ".run.tar")
    try:
        os.rename(archive, claimed)
    except FileNotFoundError:
        raise UploadNotFoundError(f"upload '{archive.stem}' not found") from None
    return claimed


def adopt(folder: Path, dest: Path) -> Path:
    """Keep an unpacked upload past its request (a managed job relaunches from it): moved to
    ``dest``, no longer removed when the request ends; its new owner removes it."""
    dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.replace(folder, dest)
    return dest


def _check_member(member: tarfile.TarInfo, root: Path) -> None:
    name = member.name
    pure = PurePosixPath(name)
    if not name or pure.is_absolute() or ".." in pure.parts or "\\" in name or "\0" in name:
        raise UploadError(f"upload: member '{name[:120]}' has an unsafe name")
    if member.isdir() or member.isreg():
        return
    if member.issym():
        target = member.linkname
        if PurePosixPath(target).is_absolute():
            raise UploadError(f"upload: link '{name[:120]}' points outside the upload")
        resolved = os.path.normpath(os.path.join(root, os.path.dirname(name), target))
        if not (resolved == str(root) or resolved.startswith(str(root) + os.sep)):
            raise UploadError(f"upload: link '{name[:120]}' points outside the upload")
        return
    kind = "a hard link" if member.islnk() else "a device, fifo or other special file"
    raise UploadError(f"upload: member '{name[:120]}' is {kind}, expected files, folders, links")


def unpack(archive: Path, limits_: UploadLimits) -> Path:
    """Unpack ``archive`` into a new private folder beside it; the folder, or UploadError
    (nothing left behind) when a member is unsafe or the limits are passed."""
    target = archive.with_suffix(".d")
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(mode=0o700)
    try:
        with tarfile.open(archive, "r:") as tar:
            members: list[tarfile.TarInfo] = []
            total = 0
            for member in tar:
                _check_member(member, target)
                members.append(member)
                total += max(0, member.size)
                if len(members) > limits_.max_files:
                    raise UploadError(
                        f"upload: more than {limits_.max_files} files (api_server.max_upload_files)"
                    )
                if total > limits_.max_bytes:
                    raise UploadError(
                        f"upload: unpacks to more than {limits_.max_bytes // 2**20} MB "
                        "(api_server.max_upload_mb)"
                    )
            # The "data" filter re-checks names and links, and drops set-id bits and owners.
            tar.extractall(target, members=members, filter="data")
    except (tarfile.TarError, OSError, UploadError) as exc:
        shutil.rmtree(target, ignore_errors=True)
        if isinstance(exc, UploadError):
            raise
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        if isinstance(exc, tarfile.FilterError):  # e.g. a path through a link leading out
            raise UploadError(f"upload: unsafe member ({reason})") from None
        raise UploadError(f"upload: not a valid tar archive ({reason})") from None
    return target


def remove(archive: Path) -> None:
    shutil.rmtree(archive.with_suffix(".d"), ignore_errors=True)
    archive.unlink(missing_ok=True)


def sweep(ttl_s: float, now: float | None = None) -> int:
    """Remove uploads (tars, unpacked folders, partial writes) older than ``ttl_s``: what a
    client that never sent its request, or a server that died mid-request, left behind."""
    now = time.time() if now is None else now
    removed = 0
    root = uploads_root()
    for folder in root.iterdir():
        if not folder.is_dir() or folder.is_symlink():
            continue
        for entry in folder.iterdir():
            try:
                old = now - entry.lstat().st_mtime > ttl_s
            except FileNotFoundError:
                continue
            if not old:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed += 1
    return removed
