"""``SSHCommandRunner``: one reused SSH connection per node, a channel per command."""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from styx.errors import ClusterError
from styx.execution.runner import CommandRunner, OutputCallback, forward_lines
from styx.execution.ssh import master
from styx.execution.ssh.target import HostKeys, SSHTarget, connect

if TYPE_CHECKING:
    import asyncssh


def remote_path(path: str) -> str:
    """``~/x`` -> ``x``: SSH commands and SFTP both start in the login folder (the home)."""
    if path == "~":
        return "."
    if path.startswith("~/"):
        return path[2:] or "."
    return path


def wrap_command(cmd: str, env: dict[str, str] | None, cwd: str | None) -> str:
    """A command line for the remote login shell: bash without rc files, env exported.

    Environment goes into the script (sshd drops most client-sent variables unless AcceptEnv).
    """
    parts = [f"export {k}={shlex.quote(v)}" for k, v in (env or {}).items()]
    if cwd:
        parts.append(f"cd {shlex.quote(remote_path(cwd))}")
    parts.append(cmd)
    script = "\n".join(parts)
    return f"exec bash --noprofile --norc -c {shlex.quote(script)}"


class SSHCommandRunner(CommandRunner):
    def __init__(
        self, target: SSHTarget, host_keys: HostKeys | None = None, label: str | None = None
    ) -> None:
        self.target = target
        self.host_keys = host_keys
        self.label = label or target.label
        self._conn: asyncssh.SSHClientConnection | None = None
        self._lock = asyncio.Lock()
        self._remote_rsync: bool | None = None
        self._master_start: asyncio.Task[object] | None = None
        self.via_master = 0  # commands that went through the OpenSSH master (tests, benches)

    async def connection(self) -> asyncssh.SSHClientConnection:
        """The node's connection, opened on first use (retrying while the node boots).

        Once connected (the host key pinned), the node's OpenSSH master is started alongside,
        for the next Styx process to use.
        """
        async with self._lock:
            if self._conn is None:
                self._conn = await connect(self.target, self.host_keys)
                if self._master_start is None and self._pinned() and master.enabled(self.target):
                    self._master_start = asyncio.ensure_future(self._start_master())
            return self._conn

    def _pinned(self) -> str | None:
        if self.host_keys is None or not self.target.instance_id:
            return None
        return self.host_keys.get(self.target.instance_id)

    async def _start_master(self) -> object:
        pinned = self._pinned()
        if not pinned:
            return None
        assert self.target.instance_id is not None
        known = master.known_hosts(self.target.instance_id, pinned)
        return await master.start(self.target, known, pinned)

    async def _run_via_master(
        self,
        cmd: str,
        env: dict[str, str] | None,
        cwd: str | None,
        on_output: OutputCallback | None,
        stdin: bytes | None,
    ) -> int | None:
        """The command's exit code through a live master; None when there is none to use."""
        if not master.enabled(self.target):
            return None
        pinned = self._pinned()  # never before the key is pinned: OpenSSH must check it
        if not pinned:
            return None
        path = master.control_path(self.target, pinned)
        if not master.alive(path):
            return None
        assert self.target.instance_id is not None
        known = master.known_hosts(self.target.instance_id, pinned)
        code = await master.run(
            self.target, known, path, wrap_command(cmd, env, cwd), on_output, stdin
        )
        if code is not None:
            self.via_master += 1
        return code

    async def run(
        self,
        cmd: str,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        on_output: OutputCallback | None = None,
        stdin: bytes | None = None,
    ) -> int:
        if self._conn is None:
            code = await self._run_via_master(cmd, env, cwd, on_output, stdin)
            if code is not None:
                return code
        # No master (or it never started the command): asyncssh, imported only now.
        import asyncssh

        conn = await self.connection()
        try:
            proc = await conn.create_process(
                wrap_command(cmd, env, cwd), stderr=asyncssh.STDOUT, encoding=None
            )
            if stdin:
                proc.stdin.write(stdin)
            proc.stdin.write_eof()
            await forward_lines(proc.stdout, on_output)
            result = await proc.wait()
        except (asyncssh.Error, OSError) as exc:
            raise ClusterError(
                f"{self.target.describe()}: SSH connection failed while running "
                f"'{cmd[:60]}': {exc}",
                node=self.label,
            ) from exc
        if result.exit_status is not None and result.exit_status >= 0:
            return int(result.exit_status)
        return 255  # killed by a signal or the channel closed without a status, as ssh reports

    async def has_remote_rsync(self) -> bool:
        if self._remote_rsync is None:
            self._remote_rsync = await self.run("command -v rsync >/dev/null 2>&1") == 0
        return self._remote_rsync

    async def put(self, local: Path, remote: str, excludes: Sequence[str] = ()) -> None:
        from styx.execution.ssh.filesync import sync_path

        await sync_path(self, local, remote, list(excludes))

    async def close(self) -> None:
        task, self._master_start = self._master_start, None
        if task is not None:
            try:
                await asyncio.wait_for(task, 70)
            except Exception:  # noqa: BLE001 - a master is an optimisation, never an error
                pass
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
            try:
                await asyncio.wait_for(conn.wait_closed(), 5)
            except (TimeoutError, OSError):
                pass
