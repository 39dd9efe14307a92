"""Running commands and copying files on a node: the interface, and the local implementation.

Remote runners (SSH, Kubernetes exec) implement the same interface, so cluster set-up, file
sync and job submission are written once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from styx.errors import ClusterError

OutputCallback = Callable[[str], None]


class LineReader(Protocol):
    async def readline(self) -> bytes: ...


async def forward_lines(stream: LineReader, on_output: OutputCallback | None) -> None:
    """Each line of a command's output to ``on_output`` (decoded, undecodable bytes replaced),
    until the stream ends."""
    while True:
        line = await stream.readline()
        if not line:
            return
        if on_output is not None:
            on_output(line.decode("utf-8", errors="replace"))


class CommandRunner(ABC):
    """One node. Commands run with bash in the node's home folder unless ``cwd`` is given."""

    label: str = "node"

    @abstractmethod
    async def run(
        self,
        cmd: str,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        on_output: OutputCallback | None = None,
        stdin: bytes | None = None,
    ) -> int:
        """Run ``cmd``; stream merged stdout/stderr lines to ``on_output``; return the exit code."""

    async def check_output(self, cmd: str, stdin: bytes | None = None) -> str:
        """Run ``cmd`` and return its output; ClusterError naming the node on a non-zero exit."""
        lines: list[str] = []
        code = await self.run(cmd, on_output=lines.append, stdin=stdin)
        output = "".join(lines)
        if code != 0:
            tail = output.strip().splitlines()[-1:] or ["no output"]
            raise ClusterError(
                f"{self.label}: '{cmd[:80]}' exited with {code}: {tail[0]}", node=self.label
            )
        return output

    @abstractmethod
    async def put(self, local: Path, remote: str, excludes: Sequence[str] = ()) -> None:
        """Copy a file or folder to ``remote`` (``~/x`` or relative = under the node's home).

        A folder's contents are mirrored into ``remote`` (created if missing); ``excludes`` are
        gitignore-style patterns relative to the folder.
        """

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


class LocalRunner(CommandRunner):
    """A local-provider node: a sandbox folder on this machine that acts as the node's home."""

    def __init__(self, home: Path, instance_id: str, label: str = "node") -> None:
        self.home = home
        self.instance_id = instance_id
        self.label = label

    def _env(self, env: dict[str, str] | None) -> dict[str, str]:
        from styx.agent.nodes import LOCAL_MARKER

        full = dict(os.environ)
        full.update(env or {})
        full["HOME"] = str(self.home)
        full[LOCAL_MARKER] = self.instance_id  # so stop/terminate find this process
        return full

    def resolve(self, remote: str) -> Path:
        """``~/x`` or ``x`` under this node's home; anything that would land outside it (an
        absolute path, ``..``, a symlink pointing out) is refused. The task loader refuses the
        same paths earlier; this is the last line, so that no caller can write on the host."""
        rest = remote[2:] if remote.startswith("~/") else "" if remote == "~" else remote
        if os.path.isabs(rest) or rest.startswith("~"):
            raise ClusterError(
                f"{self.label}: '{remote[:200]}' is outside the node's home; local nodes accept "
                "paths under ~ (e.g. ~/data) only",
                node=self.label,
            )
        home = Path(os.path.realpath(self.home))
        target = Path(os.path.realpath(home / rest))
        if target != home and home not in target.parents:
            raise ClusterError(
                f"{self.label}: '{remote[:200]}' resolves outside the node's home; local nodes "
                "accept paths under ~ (e.g. ~/data) only",
                node=self.label,
            )
        return target

    async def run(
        self,
        cmd: str,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        on_output: OutputCallback | None = None,
        stdin: bytes | None = None,
    ) -> int:
        proc = await asyncio.create_subprocess_exec(
            "bash",
            "--noprofile",
            "--norc",
            "-c",
            cmd,
            cwd=str(self.resolve(cwd) if cwd else self.home),
            env=self._env(env),
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            if stdin is not None:
                assert proc.stdin is not None
                proc.stdin.write(stdin)
                await proc.stdin.drain()
                proc.stdin.close()
            assert proc.stdout is not None
            await forward_lines(proc.stdout, on_output)
            return await proc.wait()
        except BaseException:
            # Cancelled (e.g. an API client stopped following a log): the command goes too,
            # rather than outliving its caller.
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            raise

    async def put(self, local: Path, remote: str, excludes: Sequence[str] = ()) -> None:
        from styx.execution.sync import copy_tree

        target = self.resolve(remote)
        if target == Path(os.path.realpath(self.home)):
            raise ClusterError(
                f"{self.label}: cannot copy onto the node's home itself ('{remote[:200]}')",
                node=self.label,
            )
        await asyncio.to_thread(copy_tree, local, target, list(excludes))
