"""Which pool host runs which instance: one JSON file under $STYX_HOME, changed under a file
lock, so two launches (two processes) can never take the same host."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Claim:
    instance_id: str
    host_id: str
    cluster_name: str
    instance_type: str
    node_rank: int = 0
    tags: dict[str, str] = field(default_factory=dict)
    launched_at: str | None = None


class ClaimStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "claims.json"

    @contextlib.contextmanager
    def locked(self) -> Iterator[dict[str, Claim]]:
        """The claims (by instance id), locked; changes to the dict are saved on exit."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "claims.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            claims = self._read()
            before = {k: asdict(v) for k, v in claims.items()}
            yield claims
            if {k: asdict(v) for k, v in claims.items()} != before:
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(json.dumps({k: asdict(v) for k, v in claims.items()}, indent=1))
                os.replace(tmp, self.path)

    def _read(self) -> dict[str, Claim]:
        try:
            raw = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return {k: Claim(**v) for k, v in raw.items()}

    def all(self) -> dict[str, Claim]:
        return self._read()

    def get(self, instance_id: str) -> Claim | None:
        return self._read().get(instance_id)
