"""Session-wide object-store emulators; each test points the SDKs at them through the stores'
standard variables (AWS_ENDPOINT_URL_S3, STORAGE_EMULATOR_HOST, AZURE_STORAGE_CONNECTION_STRING)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.storage.servers import AZURITE, Emulators, start_emulators

needs_rclone = pytest.mark.skipif(
    not shutil.which("rclone") or not shutil.which("fusermount3"),
    reason="needs rclone and fuse3 (scripts/test.sh installs them)",
)


@pytest.fixture(scope="session")
def emulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulators]:
    if not AZURITE.exists():
        pytest.skip("needs Azurite (scripts/test.sh installs it with npm)")
    servers = start_emulators(tmp_path_factory.mktemp("stores"))
    yield servers
    servers.stop()


@pytest.fixture
def store_env(emulators: Emulators, monkeypatch: pytest.MonkeyPatch) -> Emulators:
    for key, value in emulators.env().items():
        monkeypatch.setenv(key, value)
    return emulators
