"""Benchmark: bucket file mounts against the store's own tools, on moto's S3 (127.0.0.1).

- upload of a local ``source`` (1 GiB in 1,000 files by default): Styx's ``upload_dir`` (boto3,
  16 threads) vs ``aws s3 sync`` vs ``rclone copy``;
- COPY (bucket -> node folder): the script Styx runs on a node (``rclone copy``, 32 transfers)
  vs ``aws s3 sync`` vs boto3 downloads in 16 threads;
- MOUNT and MOUNT_CACHED write throughput: ``dd`` of one large file into the mount until Styx's
  flush says it is in the bucket, vs ``aws s3 cp`` and ``rclone copyto`` of the same file.

    PYTHONPATH=src:. python bench/storage_bench.py [--files 1000] [--file-kib 1024] \
        [--mount-mib 160]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "src"), str(REPO)]


def timed(label: str, mib: float, fn, rows: list[tuple[str, float, float]]) -> None:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    rows.append((label, elapsed, mib / elapsed))
    print(f"{label:58s} {elapsed:7.2f} s {mib / elapsed:8.1f} MiB/s", flush=True)


def run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--file-kib", type=int, default=1024)
    # Under rclone's 200 MiB multipart cutoff: moto answers 400 to rclone's multipart uploads.
    parser.add_argument("--mount-mib", type=int, default=160)
    args = parser.parse_args()

    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    root = Path(tempfile.mkdtemp(prefix="styx-storage-bench-"))
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL_S3=url,
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        STYX_HOME=str(root / "styx-home"),
    )
    cli_env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    from styx.execution.runner import LocalRunner
    from styx.storage.rclone import (
        NODE_DIR,
        NodeMount,
        config_text,
        mount_script,
        write_config_command,
    )
    from styx.storage.spec import StorageMode
    from styx.storage.stores.s3 import S3Store

    s3 = boto3.client("s3", endpoint_url=url)
    store = S3Store()
    src = root / "src"
    src.mkdir()
    for i in range(args.files):
        (src / f"shard-{i:05d}.bin").write_bytes(os.urandom(args.file_kib * 1024))
    total_mib = args.files * args.file_kib / 1024
    rows: list[tuple[str, float, float]] = []
    print(f"{args.files} files of {args.file_kib} KiB ({total_mib:.0f} MiB), moto S3 at {url}")
    for name in ("up-styx", "up-aws", "up-rclone", "mnt", "mntc", "big-aws", "big-rclone"):
        s3.create_bucket(Bucket=name)
    remote = store.rclone_remote("x", True)
    conf = root / "rclone.conf"
    conf.write_text(config_text([NodeMount(0, "~/x", StorageMode.COPY, "", "", remote)]))
    rclone = ["rclone", "--config", str(conf)]
    aws = shutil.which("aws")

    timed("upload: Styx upload_dir (boto3, 16 threads)", total_mib,
          lambda: store.upload_dir("up-styx", "", src), rows)  # fmt: skip
    if aws:
        timed("upload: aws s3 sync", total_mib,
              lambda: run([aws, "s3", "sync", "--endpoint-url", url, "--only-show-errors",
                           str(src), "s3://up-aws"], cli_env), rows)  # fmt: skip
    timed("upload: rclone copy --transfers 32", total_mib,
          lambda: run([*rclone, "copy", str(src), "m0:up-rclone", "--transfers", "32"],
                      cli_env), rows)  # fmt: skip

    def node(name: str) -> LocalRunner:
        home = root / name
        home.mkdir()
        return LocalRunner(home, f"bench-{name}")

    def styx_node(runner: LocalRunner, mounts: list[NodeMount]) -> None:
        async def go() -> None:
            await runner.check_output(write_config_command(), stdin=config_text(mounts).encode())
            await runner.check_output(mount_script(mounts))

        asyncio.run(go())

    copy_node = node("copy-node")
    copy = NodeMount(0, "~/data", StorageMode.COPY, "m0:up-styx", "bench", remote)
    timed("COPY: Styx node script (rclone copy, 32 transfers)", total_mib,
          lambda: styx_node(copy_node, [copy]), rows)  # fmt: skip
    assert len(list((copy_node.home / "data").iterdir())) == args.files
    if aws:
        timed("COPY: aws s3 sync", total_mib,
              lambda: run([aws, "s3", "sync", "--endpoint-url", url, "--only-show-errors",
                           "s3://up-styx", str(root / "aws-down")], cli_env), rows)  # fmt: skip

    def sdk_download() -> None:
        dest = root / "sdk-down"
        dest.mkdir()
        keys = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket="up-styx")
                for o in p.get("Contents", [])]  # fmt: skip
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda k: s3.download_file("up-styx", k, str(dest / k)), keys))

    timed("COPY: boto3 download_file, 16 threads", total_mib, sdk_download, rows)

    big = root / "big.bin"
    with open(big, "wb") as f:
        for _ in range(args.mount_mib):
            f.write(os.urandom(1 << 20))
    for mode, bucket in ((StorageMode.MOUNT, "mnt"), (StorageMode.MOUNT_CACHED, "mntc")):
        runner = node(f"{bucket}-node")
        mount = NodeMount(0, "~/m", mode, f"m0:{bucket}", "bench", remote)
        styx_node(runner, [mount])

        def write_and_flush(runner: LocalRunner = runner) -> None:
            target = runner.home / "m" / "big.bin"
            run(["dd", f"if={big}", f"of={target}", "bs=4M"])
            asyncio.run(runner.check_output(f"bash {NODE_DIR}/flush.sh"))

        timed(f"{mode.value} write: dd {args.mount_mib} MiB + flush", args.mount_mib,
              write_and_flush, rows)  # fmt: skip
        size = s3.head_object(Bucket=bucket, Key="big.bin")["ContentLength"]
        assert size == args.mount_mib << 20, size
        asyncio.run(runner.check_output(f"bash {NODE_DIR}/unmount.sh"))
    if aws:
        timed(f"upload one file: aws s3 cp {args.mount_mib} MiB", args.mount_mib,
              lambda: run([aws, "s3", "cp", "--endpoint-url", url, "--only-show-errors",
                           str(big), "s3://big-aws/big.bin"], cli_env), rows)  # fmt: skip
    timed(f"upload one file: rclone copyto {args.mount_mib} MiB", args.mount_mib,
          lambda: run([*rclone, "copyto", str(big), "m0:big-rclone/big.bin"], cli_env),
          rows)  # fmt: skip
    server.stop()
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
