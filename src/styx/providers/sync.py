"""Run blocking SDK calls off the event loop."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


async def run_sync(func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Call a blocking SDK function (boto3, google-cloud-compute, ...) in a worker thread."""
    return await asyncio.to_thread(functools.partial(func, *args, **kwargs))
