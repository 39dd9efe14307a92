"""Unauthenticated probes for load balancers and orchestrators (Kubernetes, Docker).

  GET /api/health   the process answers: {"ok": true, "version"} (liveness)
  GET /api/ready    this replica can serve: the database answers and its schema is at the
                    version this Styx expects, and the replica is not shutting down.
                    200 {"ready": true, "schema_version": N}, else 503 {"ready": false,
                    "reason": ...} with a fixed reason (never a driver message: those can name
                    hosts and users).

Both say nothing about users, tokens, clusters or the database's address.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from styx.db.engine import MIGRATIONS, ApiDatabase

PUBLIC_PATHS = frozenset({"/api/health", "/api/ready"})
READY_DB_TIMEOUT_S = 5.0

DRAINING_KEY = web.AppKey("draining", bool)
log = logging.getLogger("styx.server")


async def health(_request: web.Request) -> web.Response:
    from importlib.metadata import version

    return web.json_response({"ok": True, "version": version("styx")})


def _not_ready(reason: str) -> web.Response:
    return web.json_response({"ready": False, "reason": reason}, status=503)


def add_probe_routes(app: web.Application, db: ApiDatabase) -> None:
    """Register /api/health and /api/ready (the auth middleware lets PUBLIC_PATHS through)."""
    app[DRAINING_KEY] = False

    async def ready(request: web.Request) -> web.Response:
        if request.app[DRAINING_KEY]:
            return _not_ready("shutting down")
        try:
            version = await asyncio.wait_for(asyncio.to_thread(db.version), READY_DB_TIMEOUT_S)
        except TimeoutError:
            return _not_ready("database did not answer in time")
        except Exception as exc:  # noqa: BLE001 - any driver failure means "not ready"
            log.warning("readiness: database unreachable (%s)", type(exc).__name__)
            return _not_ready("database unreachable")
        if version != len(MIGRATIONS):
            return _not_ready(f"schema at version {version}, expected {len(MIGRATIONS)}")
        return web.json_response({"ready": True, "schema_version": version})

    app.router.add_get("/api/health", health)
    app.router.add_get("/api/ready", ready)
