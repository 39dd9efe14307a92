"""One way to call AWS: cached clients, a call counter, bounded jittered retries, translation.

botocore's own retries are switched off so that this loop is the only one: its count is what
the provider reports, and a throttled call is never retried 5 x 5 times.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from styx.errors import TransientError
from styx.providers.aws.errors import translate
from styx.providers.aws.settings import AWSSettings
from styx.providers.sync import run_sync

log = logging.getLogger(__name__)

_CLIENT_CONFIG = Config(
    retries={"total_max_attempts": 1, "mode": "standard"},
    connect_timeout=10,
    read_timeout=60,
    max_pool_connections=32,
)


@dataclass
class ApiStats:
    """What the provider asked of AWS: every HTTP call by operation, and every retry."""

    calls: Counter[str] = field(default_factory=Counter)
    retries: int = 0

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def reset(self) -> None:
        self.calls.clear()
        self.retries = 0


class Api:
    def __init__(self, settings: AWSSettings, session: boto3.Session | None = None) -> None:
        self.settings = settings
        self.session = session or boto3.Session()
        self.stats = ApiStats()
        self._clients: dict[tuple[str, str], Any] = {}
        # boto3 sessions are not thread-safe for client creation; calls on a client are.
        self._lock = threading.Lock()

    @property
    def default_region(self) -> str:
        """AWS_DEFAULT_REGION / the profile's region, else the first configured, else us-east-1."""
        if self.session.region_name:
            return self.session.region_name
        return self.settings.regions[0] if self.settings.regions else "us-east-1"

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        with self._lock:
            if key not in self._clients:
                c = self.session.client(service, region_name=region, config=_CLIENT_CONFIG)
                c.meta.events.register("before-call", self._count)
                self._clients[key] = c
            return self._clients[key]

    def _count(self, model: Any = None, **_: Any) -> None:
        if model is not None:
            self.stats.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    async def call(
        self, service: str, region: str, op: str, *, zone: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Call ``op`` (a boto3 method name) in ``region``, retrying transient errors."""
        attempts = self.settings.retry_attempts
        for attempt in range(1, attempts + 1):
            try:
                return await run_sync(self._invoke, service, region, op, kwargs)
            except Exception as exc:
                err = translate(exc, region=region, zone=zone, op=op)
                if not isinstance(err, TransientError) or attempt == attempts:
                    raise err from exc
                self.stats.retries += 1
                delay = self._backoff(attempt)
                log.info("aws %s %s: %s; retry %d in %.2fs", region, op, err, attempt, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _invoke(self, service: str, region: str, op: str, kwargs: dict[str, Any]) -> Any:
        return getattr(self.client(service, region), op)(**kwargs)

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))]."""
        s = self.settings
        return random.uniform(
            0, min(s.retry_max_delay_s, s.retry_base_delay_s * 2 ** (attempt - 1))
        )

    async def pages(
        self, service: str, region: str, op: str, key: str, **kwargs: Any
    ) -> list[dict[str, Any]]:
        """Every item under ``key`` across NextToken pages (each page retried on its own)."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            args = dict(kwargs, NextToken=token) if token else kwargs
            page = await self.call(service, region, op, **args)
            items.extend(page.get(key) or [])
            token = page.get("NextToken")
            if not token:
                return items

    async def reservations(self, region: str, **kwargs: Any) -> list[dict[str, Any]]:
        """Flattened instances of DescribeInstances (all pages)."""
        reservations = await self.pages(
            "ec2", region, "describe_instances", "Reservations", **kwargs
        )
        return [i for r in reservations for i in r.get("Instances") or []]
