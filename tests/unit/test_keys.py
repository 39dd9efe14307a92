from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncssh

from styx.keys import ensure_ssh_key


def test_key_pair_made_once_even_when_asked_concurrently(styx_home: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: ensure_ssh_key(), range(8)))
    assert len({pub for _, pub in results}) == 1
    private, public = results[0]
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    key = asyncssh.read_private_key(str(private))
    assert key.export_public_key().decode().strip() == public  # the halves belong together
