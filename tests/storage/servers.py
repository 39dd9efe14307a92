"""The three object-store emulators on 127.0.0.1, each on a free port: moto's S3 (in a thread),
gcp-storage-emulator (a subprocess) and Azurite (npm, a subprocess), and the environment
variables that point the SDKs (and Styx) at them."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
AZURITE = REPO / ".node" / "node_modules" / ".bin" / "azurite-blob"
# Azurite's well-known development account (published in Microsoft's docs).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@dataclass
class Emulators:
    s3_url: str
    gcs_url: str
    azure_url: str
    procs: list[subprocess.Popen[bytes]]
    moto: object

    def env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_S3": self.s3_url,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_EC2_METADATA_DISABLED": "true",
            "STORAGE_EMULATOR_HOST": self.gcs_url,
            "AZURE_STORAGE_CONNECTION_STRING": (
                f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
                f"AccountKey={AZURITE_KEY};BlobEndpoint={self.azure_url}/{AZURITE_ACCOUNT};"
            ),
        }

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.moto.stop()  # type: ignore[attr-defined]


def start_emulators(tmp: Path) -> Emulators:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request otherwise
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    procs: list[subprocess.Popen[bytes]] = []
    gcs_port = free_port()
    emulator = shutil.which("gcp-storage-emulator", path=os.path.dirname(sys.executable))
    assert emulator, "gcp-storage-emulator is installed by the dev extra"
    procs.append(
        subprocess.Popen(
            [emulator, "start", "--host", "127.0.0.1", "--port", str(gcs_port), "--in-memory"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )
    az_port = free_port()
    assert AZURITE.exists(), "Azurite is installed by scripts/test.sh (npm)"
    (tmp / "azurite").mkdir()
    procs.append(
        subprocess.Popen(
            [str(AZURITE), "--blobHost", "127.0.0.1", "--blobPort", str(az_port),
             "--location", str(tmp / "azurite"), "--skipApiVersionCheck", "--silent",
             "--disableTelemetry"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )  # fmt: skip
    gcs_url = f"http://127.0.0.1:{gcs_port}"
    azure_url = f"http://127.0.0.1:{az_port}"
    wait_http(f"{gcs_url}/storage/v1/b")
    wait_http(f"{azure_url}/{AZURITE_ACCOUNT}?comp=list")
    return Emulators(f"http://{host}:{port}", gcs_url, azure_url, procs, moto)
