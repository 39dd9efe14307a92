"""Build (once, cached) a wheel of the installed ``styx`` package from its own files.

Styx is pure Python, so a wheel is a zip of the package folder plus a dist-info; building it
from the files that are running guarantees the node runs exactly the client's code (an
editable install or a source checkout included) with no network and no build backend.
"""

from __future__ import annotations

import base64
import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import styx
from styx.config import styx_home

SKIP_DIRS = {"__pycache__"}
SKIP_SUFFIXES = (".pyc", ".pyo")


@dataclass(frozen=True)
class RuntimeWheel:
    path: Path
    version: str
    digest: str  # of the package files: equal digests mean identical code

    @property
    def tag(self) -> str:
        """What a node records once installed; a different tag means reinstall."""
        return f"{self.version}+{self.digest}"


def package_files(root: Path | None = None) -> list[tuple[str, Path]]:
    """(path inside the wheel, file) for every file of the package, sorted."""
    root = root or Path(styx.__file__).resolve().parent
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            if name.endswith(SKIP_SUFFIXES):
                continue
            path = Path(dirpath) / name
            out.append(("styx/" + path.relative_to(root).as_posix(), path))
    return out


def files_digest(files: list[tuple[str, Path]]) -> str:
    h = hashlib.sha256()
    for arc, path in files:
        h.update(arc.encode() + b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:16]


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest},{len(data)}"


def build_wheel(dest: Path, files: list[tuple[str, Path]], version: str) -> Path:
    """Write ``styx-<version>-py3-none-any.whl`` into ``dest`` (atomically)."""
    dist_info = f"styx-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: styx\nVersion: {version}\n".encode()
    wheel_meta = (
        b"Wheel-Version: 1.0\nGenerator: styx.runtime\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"styx-{version}-py3-none-any.whl"
    tmp = path.with_suffix(".tmp")
    records = []
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for arc, file in files:
            data = file.read_bytes()
            zf.writestr(arc, data)
            records.append(f"{arc},{_record_hash(data)}")
        for name, data in (("METADATA", metadata), ("WHEEL", wheel_meta)):
            zf.writestr(f"{dist_info}/{name}", data)
            records.append(f"{dist_info}/{name},{_record_hash(data)}")
        records.append(f"{dist_info}/RECORD,,")
        zf.writestr(f"{dist_info}/RECORD", "\n".join(records) + "\n")
    os.replace(tmp, path)
    return path


def ensure_wheel() -> RuntimeWheel:
    """The cached wheel for the running code, built on first use under styx_home()/runtime/."""
    files = package_files()
    digest = files_digest(files)
    version = styx.__version__
    folder = styx_home() / "runtime" / f"{version}-{digest}"
    path = folder / f"styx-{version}-py3-none-any.whl"
    if not path.exists():
        build_wheel(folder, files, version)
    return RuntimeWheel(path, version, digest)
