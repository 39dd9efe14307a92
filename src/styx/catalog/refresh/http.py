"""Small JSON-over-HTTPS client on urllib (no extra dependency), failing fast and in one line."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

from styx.catalog.schema import RefreshError

DEFAULT_TIMEOUT_S = 10.0


def timeout_s(timeout: float | None) -> float:
    if timeout is not None:
        return timeout
    try:
        return float(os.environ.get("STYX_REFRESH_TIMEOUT", DEFAULT_TIMEOUT_S))
    except ValueError:
        return DEFAULT_TIMEOUT_S


def get_json(url: str, timeout: float | None = None) -> Any:
    """GET ``url`` and decode JSON; every failure becomes a one-line RefreshError."""
    headers = {"Accept": "application/json", "User-Agent": "styx-catalog-refresh"}
    request = urllib.request.Request(url, headers=headers)
    shown = url.split("?")[0]
    try:
        with urllib.request.urlopen(request, timeout=timeout_s(timeout)) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        raise RefreshError(f"{shown}: HTTP {exc.code} {exc.reason}; catalog unchanged") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RefreshError(
            f"cannot reach {shown} ({reason}); catalog unchanged "
            "(offline? set STYX_*_URL to a mirror)"
        ) from None
    try:
        return json.loads(body)
    except ValueError as exc:
        raise RefreshError(f"{shown}: response is not JSON ({exc}); catalog unchanged") from None


def base_url(env: str, default: str) -> str:
    return (os.environ.get(env) or default).rstrip("/")
