"""Run commands in a pod and copy files into it, through the exec API (websocket).

The exec stream speaks the channel protocol (v4.channel.k8s.io): stdin 0, stdout 1, stderr 2,
and channel 3 carries a Status whose causes hold the exit code. v4 cannot half-close stdin, so
``put`` tells the remote side how many bytes to read (``head -c N | tar -x``) instead of
relying on EOF.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import shlex
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from styx.errors import InstanceNotFoundError, JobError, TransientError
from styx.providers.kubernetes.errors import PROVIDER, translate
from styx.providers.kubernetes.manifests import CONTAINER

STDOUT, STDERR, ERROR = 1, 2, 3
CHUNK = 64 * 1024


class _Lines:
    """Turns stream chunks into whole lines for ``on_output``; flush() emits the tail."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self.emit = emit
        self.buf = ""

    def feed(self, text: str) -> None:
        self.buf += text
        *lines, self.buf = self.buf.split("\n")
        for line in lines:
            self.emit(line)

    def flush(self) -> None:
        if self.buf:
            self.emit(self.buf)
            self.buf = ""


def remote_path(path: str) -> str:
    """Shell-quote a remote path, keeping a leading ``~/`` meaning the pod's $HOME."""
    if path == "~":
        return '"$HOME"'
    if path.startswith("~/"):
        return '"$HOME"/' + shlex.quote(path[2:])
    return shlex.quote(path)


def exit_status(raw: str) -> tuple[int, str]:
    """(exit code, message) from the Status JSON on the error channel."""
    if not raw.strip():
        raise TransientError(
            "exec stream ended without an exit status",
            provider=PROVIDER,
            native_code="NoExitStatus",
        )
    status = json.loads(raw)
    if status.get("status") == "Success":
        return 0, ""
    causes = (status.get("details") or {}).get("causes") or []
    for cause in causes:
        if cause.get("reason") == "ExitCode":
            return int(cause.get("message", 1)), str(status.get("message", ""))
    # A failure without an exit code: the command could not even start (not found, ...).
    return 127, str(status.get("message", "exec failed"))


class KubernetesCommandRunner:
    """Commands and file copies into one pod's container.

    ``api_client`` must be dedicated to this runner: ``kubernetes.stream`` swaps the client's
    transport for the duration of an exec call, so sharing it would break concurrent calls.
    """

    def __init__(
        self,
        api_client: Any,
        namespace: str,
        pod: str,
        container: str = CONTAINER,
        region: str | None = None,
    ) -> None:
        from kubernetes import client

        self.core = client.CoreV1Api(api_client)
        self.namespace = namespace
        self.pod = pod
        self.container = container
        self.region = region
        self._lock = asyncio.Lock()  # one exec at a time per runner (one client, see above)

    def _open(self, argv: list[str], stdin: bool) -> Any:
        from kubernetes.stream import stream

        return stream(
            self.core.connect_get_namespaced_pod_exec,
            self.pod,
            self.namespace,
            container=self.container,
            command=argv,
            stdin=stdin,
            stdout=True,
            stderr=True,
            tty=False,
            _preload_content=False,
        )

    def _exec_blocking(
        self, script: str, data: bytes | None, on_chunk: Callable[[int, str], None]
    ) -> tuple[int, str]:
        try:
            resp = self._open(["/bin/sh", "-c", script], stdin=data is not None)
        except Exception as exc:
            error = translate(exc, self.region, f"exec in pod {self.namespace}/{self.pod}")
            if "404" in str(exc):
                raise InstanceNotFoundError(
                    f"pod {self.namespace}/{self.pod} not found",
                    provider=PROVIDER,
                    region=self.region,
                    native_code="404 NotFound",
                ) from exc
            raise error from exc
        try:
            if data is not None:
                for start in range(0, len(data), CHUNK):
                    resp.write_stdin(data[start : start + CHUNK])
                resp.close_channel(0)  # v5 only; with v4 the script reads exactly len(data)
            while resp.is_open():
                resp.update(timeout=0.5)
                for channel in (STDOUT, STDERR):
                    if resp.peek_channel(channel):
                        on_chunk(channel, resp.read_channel(channel))
            for channel in (STDOUT, STDERR):
                if resp.peek_channel(channel):
                    on_chunk(channel, resp.read_channel(channel))
            return exit_status(resp.read_channel(ERROR))
        finally:
            resp.close()

    async def close(self) -> None:
        """Nothing to release: every exec opens and closes its own websocket."""

    async def _exec(
        self, script: str, data: bytes | None, on_chunk: Callable[[int, str], None]
    ) -> tuple[int, str]:
        loop = asyncio.get_running_loop()

        def threadsafe(channel: int, text: str) -> None:
            loop.call_soon_threadsafe(on_chunk, channel, text)

        async with self._lock:
            result = await asyncio.to_thread(self._exec_blocking, script, data, threadsafe)
        await asyncio.sleep(0)  # let the callbacks queued by the thread run first
        return result

    async def run(
        self,
        cmd: str,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        on_output: Callable[[str], None] | None = None,
        stdin: bytes | None = None,
    ) -> int:
        """Run ``cmd`` with ``/bin/sh -c``; stdout and stderr lines go to ``on_output`` as they
        arrive (without their newline). ``stdin`` is fed to the command, which sees EOF after
        it. Returns the command's exit code."""
        parts = [f"export {k}={shlex.quote(v)}" for k, v in (env or {}).items()]
        if cwd:
            parts.append(f"cd {remote_path(cwd)}")
        script = " && ".join([*parts, f"{{ {cmd}\n}}"]) if parts else cmd
        if stdin is not None:
            # v4 cannot half-close stdin: the command reads exactly len(stdin) bytes, then EOF.
            script = f"head -c {len(stdin)} | {{ {script}\n}}"
        lines = _Lines(on_output or (lambda _line: None))
        code, message = await self._exec(script, stdin, lambda _ch, text: lines.feed(text))
        lines.flush()
        if code == 127 and message and on_output:
            on_output(message)
        return code

    async def check_output(self, cmd: str) -> str:
        """stdout of ``cmd``; raises JobError (with stderr) when it exits non-zero."""
        out: list[str] = []
        err: list[str] = []

        def collect(channel: int, text: str) -> None:
            (out if channel == STDOUT else err).append(text)

        code, message = await self._exec(cmd, None, collect)
        if code != 0:
            detail = ("".join(err).strip() or message)[-500:]
            raise JobError(
                f"command failed with exit code {code} in pod {self.namespace}/{self.pod}: "
                f"{cmd}: {detail}",
                node=self.pod,
                returncode=code,
            )
        return "".join(out)

    async def put(self, local_path: str | os.PathLike[str], remote: str) -> None:
        """Copy a file (to exactly ``remote``) or a directory's contents (into ``remote``)."""
        src = Path(local_path)
        if not src.exists():
            raise FileNotFoundError(f"{src} does not exist")
        data = await asyncio.to_thread(_tar, src, None if src.is_dir() else Path(remote).name)
        target = remote if src.is_dir() else (os.path.dirname(remote.rstrip("/")) or ".")
        dest = remote_path(target)
        script = f"mkdir -p {dest} && head -c {len(data)} | tar -xf - -C {dest}"
        err: list[str] = []
        code, message = await self._exec(
            script, data, lambda ch, text: err.append(text) if ch == STDERR else None
        )
        if code != 0:
            raise JobError(
                f"copying {src} to {self.namespace}/{self.pod}:{remote} failed "
                f"(exit {code}): {''.join(err).strip() or message}",
                node=self.pod,
                returncode=code,
            )


def _tar(src: Path, file_name: str | None) -> bytes:
    """A tar of ``src``: a directory's contents at the top level, or one file as ``file_name``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        if file_name is None:
            for child in sorted(src.iterdir()):
                tar.add(child, arcname=child.name)
        else:
            tar.add(src, arcname=file_name)
    return buf.getvalue()
