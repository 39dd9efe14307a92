"""Talk to the API server over HTTP (stdlib only: the client needs no extra package).

A long request is submitted, then its output streamed; Ctrl-C detaches (the request keeps
running on the server) and says how to reattach or cancel.
"""

from __future__ import annotations

import http.client
import json
import ssl
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from styx.client.settings import ApiSettings
from styx.core.printer import Printer
from styx.errors import StyxError

TIMEOUT_S = 30.0
# How long a stream cut short is resumed for (its server replica stopped, a proxy dropped it):
# any replica serves it from the database, from the last line received.
STREAM_RESUME_S = 60.0
STREAM_RETRY_PAUSE_S = 1.0
# Answers of a proxy or a stopping replica while another takes over: worth another try.
_TRANSIENT_HTTP = (502, 503, 504)


class ApiError(StyxError):
    """The API server refused a request or could not be reached."""


class ApiUnreachable(ApiError):
    """No answer from the API server (refused, reset, a proxy's 502/503/504): may pass."""


class Detached(KeyboardInterrupt):
    """Ctrl-C while following a request: the client stops, the request keeps running."""

    def __init__(self, request_id: str) -> None:
        super().__init__(request_id)
        self.request_id = request_id


class RemoteClient:
    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self.context = (
            ssl.create_default_context() if settings.endpoint.startswith("https") else None
        )

    def _open(
        self,
        method: str,
        path: str,
        body: Any = None,
        timeout: float | None = TIMEOUT_S,
        raw: tuple[Any, int, str] | None = None,
    ):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.settings.endpoint + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if raw is not None:  # (file, its size, its type): streamed, not read into memory
            req.data = raw[0]
            req.add_header("Content-Length", str(raw[1]))
            req.add_header("Content-Type", raw[2])
        if self.settings.token:
            req.add_header("Authorization", f"Bearer {self.settings.token}")
        try:
            return urllib.request.urlopen(req, timeout=timeout, context=self.context)
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read() or b"{}").get("error") or exc.reason
            except ValueError:
                message = exc.reason
            if exc.code == 401:
                message = (
                    f"{message} (log in with: styx api login {self.settings.endpoint} --token ...)"
                )
            kind = ApiUnreachable if exc.code in _TRANSIENT_HTTP else ApiError
            raise kind(f"API server {self.settings.endpoint}: {message}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ApiUnreachable(
                f"API server {self.settings.endpoint}: cannot connect: {reason}"
            ) from None

    def call(self, method: str, path: str, body: Any = None) -> Any:
        with self._open(method, path, body) as resp:
            return json.loads(resp.read() or b"null")

    def upload(self, archive: Path) -> str:
        """Send a tar of a task's files; the upload id a request then names."""
        with archive.open("rb") as f:
            raw = (f, archive.stat().st_size, "application/x-tar")
            with self._open("POST", "/api/uploads", raw=raw, timeout=None) as resp:
                return str(json.loads(resp.read())["upload_id"])

    def submit(self, verb: str, args: dict[str, Any]) -> str:
        return str(self.call("POST", "/api/requests", {"verb": verb, "args": args})["request_id"])

    def cancel(self, request_id: str) -> dict[str, Any]:
        return dict(self.call("POST", f"/api/requests/{request_id}/cancel"))

    def request(self, request_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/api/requests/{request_id}"))

    def stream(self, request_id: str, printer: Printer, offset: int = 0) -> dict[str, Any]:
        """Print the request's output from ``offset`` until it finishes; return its record.

        A stream cut short resumes after the last line printed (no line twice, none lost),
        through whichever replica answers, for up to STREAM_RESUME_S without progress."""
        deadline: float | None = None
        while True:
            try:
                with self._open(
                    "GET", f"/api/requests/{request_id}/stream?offset={offset}", timeout=None
                ) as resp:
                    for raw in resp:
                        line = json.loads(raw)
                        if line.get("done"):
                            return dict(line["request"])
                        out = printer.output if line["stream"] == "output" else printer.progress
                        out(line["text"])
                        offset, deadline = line["seq"] + 1, None
            except ApiUnreachable:
                pass
            except (OSError, http.client.HTTPException, ValueError):
                pass  # cut mid-stream (reset, incomplete chunk, half a line)
            now = time.monotonic()
            deadline = deadline or now + STREAM_RESUME_S
            if now >= deadline:
                raise ApiError(
                    f"API server {self.settings.endpoint}: the stream of {request_id} ended "
                    f"early and could not be resumed (reattach: styx api logs {request_id})"
                )
            time.sleep(STREAM_RETRY_PAUSE_S)

    def run(self, verb: str, args: dict[str, Any], printer: Printer | None = None) -> Any:
        """Submit and follow one request; its result, or its error raised as a StyxError."""
        printer = printer or Printer()
        request_id = self.submit(verb, args)
        try:
            record = self.stream(request_id, printer)
        except KeyboardInterrupt:
            sys.stderr.write(
                f"styx: detached; request {request_id} keeps running on the server "
                f"(reattach: styx api logs {request_id}; cancel: styx api cancel {request_id})\n"
            )
            raise Detached(request_id) from None
        return result_of(record)


def result_of(record: dict[str, Any]) -> Any:
    if record["status"] == "SUCCEEDED":
        return record.get("result")
    if record["status"] == "CANCELLED":
        raise StyxError(f"request {record['id']} was cancelled")
    error = StyxError(record.get("error") or f"request {record['id']} failed")
    failure = record.get("result")
    code = failure.get("exit_code") if isinstance(failure, dict) else None
    if isinstance(code, int) and 0 < code < 256:
        error.exit_code = code  # the in-process exit code (a failed job's own)
    raise error


def client() -> RemoteClient | None:
    """A client for the configured API server, or None (run in-process)."""
    from styx.client.settings import configured

    settings = configured()
    return RemoteClient(settings) if settings else None
