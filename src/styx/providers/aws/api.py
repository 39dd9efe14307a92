"""One way to call AWS: cached clients, a call counter, bounded jittered retries, translation.

botocore's own retries are switched off so that this loop is the only one: its count is what
the provider reports, and a throttled call is never retried 5 x 5 times.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from styx.errors import ProviderError
from styx.providers.aws.errors import translate
from styx.providers.aws.settings import AWSSettings
from styx.providers.sync import run_sync
from styx.retry import RetryPolicy, retry_transient

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
        """Call ``op`` (a boto3 method name) in ``region``; transient errors are retried here
        (see :mod:`styx.retry`), with the same arguments and so the same ClientToken."""

        async def once() -> dict[str, Any]:
            try:
                return await run_sync(self._invoke, service, region, op, kwargs)
            except Exception as exc:
                raise translate(exc, region=region, zone=zone, op=op) from exc

        return await retry_transient(
            once, self.retry_policy, on_retry=self._count_retry, what=f"aws {region} {op}"
        )

    @property
    def retry_policy(self) -> RetryPolicy:
        s = self.settings
        return RetryPolicy(s.retry_attempts, s.retry_base_delay_s, s.retry_max_delay_s)

    def _count_retry(self, _err: ProviderError, _delay: float) -> None:
        self.stats.retries += 1

    def _invoke(self, service: str, region: str, op: str, kwargs: dict[str, Any]) -> Any:
        return getattr(self.client(service, region), op)(**kwargs)

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
