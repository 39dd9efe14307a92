"""Task files through the API server: pack (client), upload (HTTP, streamed to disk), unpack
(server, checked member by member), for a workdir of many small files and one of a few big
ones. Server on SQLite, on 127.0.0.1.

    PYTHONPATH=src:. .venv/bin/python bench/upload_bench.py [--small 2000] [--big-mb 200]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.api.postgres import free_port

from styx.client.remote import RemoteClient
from styx.client.settings import ApiSettings
from styx.client.uploads import pack
from styx.db import open_database
from styx.db.users import UserStore
from styx.server import uploads
from styx.task import Task

REPO = Path(__file__).resolve().parent.parent


def workdirs(root: Path, small: int, big_mb: int) -> dict[str, Path]:
    many = root / "many-small"
    for i in range(small):
        folder = many / f"d{i % 50}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i}.py").write_bytes(os.urandom(2048))
    few = root / "few-big"
    few.mkdir()
    for i in range(4):
        (few / f"shard{i}.bin").write_bytes(os.urandom(big_mb * 2**20 // 4))
    return {f"{small} files x 2 KiB": many, f"4 files, {big_mb} MiB in all": few}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--big-mb", type=int, default=200)
    a = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="styx-upload-bench-"))
    home = root / "home"
    (home / "server").mkdir(parents=True, mode=0o700)
    env = {**os.environ, "STYX_HOME": str(home)}
    env.pop("STYX_DB_URL", None)
    db = open_database(f"sqlite:///{home / 'server' / 'api.db'}")
    users = UserStore(db)
    users.add("alice")
    token = users.create_token("alice").token
    db.close()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "styx.server", "--port", str(port)],
        env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(endpoint + "/api/health", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        client = RemoteClient(ApiSettings(endpoint, token))
        os.environ["STYX_HOME"] = str(home)  # unpack as the server would, in its home
        for label, folder in workdirs(root / "data", a.small, a.big_mb).items():
            archive = root / "up.tar"
            t0 = time.perf_counter()
            pack(Task(workdir=str(folder)), archive)
            t1 = time.perf_counter()
            upload_id = client.upload(archive)
            t2 = time.perf_counter()
            stored = uploads.archive_path("alice", upload_id)
            unpacked = uploads.unpack(stored, uploads.limits())
            t3 = time.perf_counter()
            size = archive.stat().st_size / 2**20
            print(
                f"{label:28} tar {size:7.1f} MiB  pack {t1 - t0:6.2f}s  "
                f"upload {t2 - t1:6.2f}s ({size / max(t2 - t1, 1e-9):7.1f} MiB/s)  "
                f"unpack {t3 - t2:6.2f}s"
            )
            shutil.rmtree(unpacked)
            uploads.remove(stored)
    finally:
        server.terminate()
        server.wait(timeout=15)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
