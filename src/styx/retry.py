"""The one retry policy, and the one rule for who retries what.

Who retries what:

* A :class:`~styx.errors.TransientError` (throttling, 5xx, a timeout) is retried by the provider,
  around the single cloud call that failed, with the same arguments (so the same idempotency
  key: EC2 ClientToken, GCE requestId, the Azure/Kubernetes resource name), through
  :func:`retry_transient`. That is the only layer that retries it.
* The scheduler never retries a TransientError that leaves a provider (the provider already
  spent its tries): it records the failure and moves on to the next zone, without blocking
  anything. Every other class is classified by the scheduler (block, next zone/region/cloud).
* ``--retry-until-up`` repeats a whole launch on purpose, after every offer failed; it is not a
  transient retry (its wait between rounds should use :func:`backoff_delay` as well).

The delay is "full jitter" exponential backoff: uniform in ``[0, min(cap, base * 2**(n-1)))``
after the n-th failed try, so many clients throttled together do not come back together.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from styx.errors import TransientError

T = TypeVar("T")
log = logging.getLogger(__name__)


def backoff_delay(failures: int, base_s: float, cap_s: float) -> float:
    """Seconds to wait after the ``failures``-th failed try (1-based), full jitter."""
    return random.uniform(0.0, min(cap_s, base_s * 2 ** max(0, failures - 1)))


@dataclass(frozen=True)
class RetryPolicy:
    """How often one cloud call is tried on a TransientError, and how long between tries."""

    attempts: int = 4  # total tries, the first included
    base_s: float = 0.5
    cap_s: float = 8.0

    def delay(self, failures: int) -> float:
        return backoff_delay(failures, self.base_s, self.cap_s)


async def retry_transient(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    hint_s: Callable[[TransientError], float | None] | None = None,
    on_retry: Callable[[TransientError, float], None] | None = None,
    what: str = "",
) -> T:
    """Await ``call()`` until it does not raise TransientError, at most ``policy.attempts`` times.

    ``call`` must raise translated Styx errors. ``hint_s`` may return the cloud's own
    Retry-After for an error (the wait is then at least that long); ``on_retry`` is told of each
    retry (for call counters). The last TransientError is re-raised when the tries run out.
    """
    tries = max(1, policy.attempts)
    for attempt in range(1, tries + 1):
        try:
            return await call()
        except TransientError as err:
            if attempt == tries:
                raise
            delay = policy.delay(attempt)
            hint = hint_s(err) if hint_s is not None else None
            if hint is not None:
                delay = max(delay, hint)
            if on_retry is not None:
                on_retry(err, delay)
            log.info("%s: %s; retry %d of %d in %.2fs", what or "call", err, attempt, tries, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
