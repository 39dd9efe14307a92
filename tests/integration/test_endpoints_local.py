"""`styx status --endpoints` on a local cluster: the URL it prints is where the job's server
answers."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

from tests.fakes.sshd.nodes import free_port
from tests.integration.test_local_cli import styx


def _get(url: str, deadline_s: float = 60.0) -> str:
    end = time.monotonic() + deadline_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return resp.read().decode()
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.2)


def test_endpoints_print_the_url_a_server_in_the_job_answers_at(styx_home: Path) -> None:
    port = free_port()
    serve = (
        f"echo served-by-styx > index.html && exec python3 -m http.server {port} --bind 127.0.0.1"
    )
    launched = styx(
        styx_home,
        "launch",
        "-y",
        "-d",
        "-c",
        "web",
        "--infra",
        "local",
        "--ports",
        str(port),
        serve,
    )
    assert launched.returncode == 0, launched.stderr
    try:
        one = styx(styx_home, "status", "--endpoints", "web", str(port))
        assert one.returncode == 0, one.stderr
        assert one.stdout.strip() == f"http://127.0.0.1:{port}"
        every = styx(styx_home, "status", "--endpoints", "web")
        assert every.stdout.strip() == f"{port}: http://127.0.0.1:{port}"
        assert "served-by-styx" in _get(one.stdout.strip() + "/index.html")
        wrong = styx(styx_home, "status", "--endpoints", "web", "1")
        assert wrong.returncode != 0
        assert f"does not open port 1; it opens {port}" in wrong.stderr
        assert len(wrong.stderr.strip().splitlines()) == 1 and "Traceback" not in wrong.stderr
        missing = styx(styx_home, "status", "--endpoints")
        assert missing.returncode != 0 and "cluster name" in missing.stderr
    finally:
        assert styx(styx_home, "down", "-y", "web").returncode == 0
