"""styx.retry: the one retry policy (bounded tries, full-jitter exponential backoff)."""

from __future__ import annotations

import asyncio

import pytest

from styx.errors import CapacityError, TransientError
from styx.retry import RetryPolicy, backoff_delay, retry_transient

FAST = RetryPolicy(attempts=4, base_s=0.001, cap_s=0.004)


def failing(errors: list[Exception]):  # type: ignore[no-untyped-def]
    calls: list[int] = []

    async def call() -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return "ok"

    return call, calls


def test_transient_errors_are_retried_until_the_call_works() -> None:
    call, calls = failing([TransientError("slow down"), TransientError("slow down")])
    seen: list[float] = []
    result = asyncio.run(retry_transient(call, FAST, on_retry=lambda _e, d: seen.append(d)))
    assert result == "ok" and len(calls) == 3 and len(seen) == 2
    assert all(0 <= d <= FAST.cap_s for d in seen)


def test_the_last_transient_error_is_raised_when_the_tries_run_out() -> None:
    call, calls = failing([TransientError(f"try {i}") for i in range(10)])
    with pytest.raises(TransientError, match="try 3"):
        asyncio.run(retry_transient(call, FAST))
    assert len(calls) == FAST.attempts


def test_other_errors_are_not_retried() -> None:
    call, calls = failing([CapacityError("none left")])
    with pytest.raises(CapacityError):
        asyncio.run(retry_transient(call, FAST))
    assert len(calls) == 1


def test_the_clouds_retry_after_hint_is_a_floor() -> None:
    call, _calls = failing([TransientError("429")])
    seen: list[float] = []
    asyncio.run(
        retry_transient(call, FAST, hint_s=lambda _e: 0.02, on_retry=lambda _e, d: seen.append(d))
    )
    assert seen == [0.02]


def test_backoff_is_full_jitter_below_a_growing_capped_ceiling() -> None:
    for failures, ceiling in ((1, 0.5), (2, 1.0), (3, 2.0), (6, 8.0), (30, 8.0)):
        delays = [backoff_delay(failures, 0.5, 8.0) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2  # spread over the range, not a fixed wait
