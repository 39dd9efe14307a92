"""A task: what to run (setup, run), where its files come from, and the resources it needs."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from styx.errors import TaskSpecError
from styx.resources import Resources
from styx.spec import as_positive_int, as_str, as_str_dict, check_keys, fail

CORE_FIELDS = (
    "name",
    "workdir",
    "num_nodes",
    "resources",
    "envs",
    "secrets",
    "file_mounts",
    "setup",
    "run",
)
# SkyPilot fields we accept so existing files load, but do not act on yet (a warning says so).
UNSUPPORTED_FIELDS = (
    "event_callback",
    "service",
    "pool",
    "managed_secrets",
    "inputs",
    "outputs",
    "config",
    "volumes",
    "volume_mounts",
)


@dataclass(frozen=True)
class GitWorkdir:
    url: str
    ref: str | None = None


@dataclass(frozen=True)
class Task:
    name: str | None = None
    run: str | None = None
    setup: str | None = None
    workdir: str | GitWorkdir | None = None
    num_nodes: int = 1
    resources: Resources = field(default_factory=Resources)
    envs: dict[str, str] = field(default_factory=dict)
    # Secrets reach the job's environment only: never logs, never the state store in clear.
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    file_mounts: dict[str, str] = field(default_factory=dict)
    unsupported_fields: tuple[str, ...] = ()
    base_dir: str | None = None  # the task file's folder: relative paths are resolved from it

    @classmethod
    def from_yaml_file(cls, path: str | os.PathLike[str]) -> Task:
        import yaml

        p = Path(path)
        if not p.is_file():
            raise TaskSpecError(f"task file {str(path)!r} not found", field="task")
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or "cannot parse"
            raise TaskSpecError(f"{path}: invalid YAML{where}: {problem}", field="task") from None
        except UnicodeDecodeError:
            raise TaskSpecError(f"{path}: not a UTF-8 text file", field="task") from None
        return cls.from_yaml(data, base_dir=str(p.resolve().parent))

    @classmethod
    def from_yaml(cls, data: Any, base_dir: str | None = None) -> Task:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise fail("task", data, "a mapping of task fields")
        check_keys(data, CORE_FIELDS + UNSUPPORTED_FIELDS, "")
        values: dict[str, Any] = {"base_dir": base_dir}
        for key in ("name", "run", "setup"):
            if data.get(key) is not None:
                values[key] = as_str(key, data[key])
        if data.get("num_nodes") is not None:
            values["num_nodes"] = as_positive_int("num_nodes", data["num_nodes"])
        values["resources"] = Resources.from_yaml(data.get("resources"))
        values["envs"] = {k: v or "" for k, v in as_str_dict("envs", data.get("envs")).items()}
        secrets = as_str_dict("secrets", data.get("secrets"), allow_none_values=True)
        values["secrets"] = {k: v or "" for k, v in secrets.items()}
        if data.get("workdir") is not None:
            values["workdir"] = _parse_workdir(data["workdir"])
        if data.get("file_mounts") is not None:
            values["file_mounts"] = _parse_file_mounts(data["file_mounts"])
        values["unsupported_fields"] = tuple(k for k in UNSUPPORTED_FIELDS if k in data)
        return cls(**values)

    def with_overrides(
        self,
        envs: dict[str, str] | None = None,
        resources: Resources | None = None,
        num_nodes: int | None = None,
        workdir: str | None = None,
        secrets: dict[str, str] | None = None,
    ) -> Task:
        changes: dict[str, Any] = {}
        if envs:
            changes["envs"] = {**self.envs, **envs}
        if secrets:
            changes["secrets"] = {**self.secrets, **secrets}
        if resources is not None:
            changes["resources"] = resources
        if num_nodes is not None:
            changes["num_nodes"] = num_nodes
        if workdir is not None:
            changes["workdir"] = workdir
        return replace(self, **changes)

    def resolve_path(self, path: str) -> Path:
        p = Path(path).expanduser()
        if not p.is_absolute():
            p = Path(self.base_dir or os.getcwd()) / p
        return p

    def check_local_files(self) -> None:
        """Fail before provisioning if the workdir or a file mount source is missing."""
        if isinstance(self.workdir, str) and not self.resolve_path(self.workdir).is_dir():
            raise TaskSpecError(f"workdir: folder '{self.workdir}' not found", field="workdir")
        for remote, local in self.file_mounts.items():
            if not self.resolve_path(local).exists():
                raise TaskSpecError(
                    f"file_mounts.{remote}: local path '{local}' not found", field="file_mounts"
                )

    def secret_values(self) -> list[str]:
        return [v for v in self.secrets.values() if v]

    def to_yaml(self, *, redact_secrets: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.name:
            out["name"] = self.name
        if self.workdir is not None:
            out["workdir"] = (
                self.workdir
                if isinstance(self.workdir, str)
                else {"url": self.workdir.url, "ref": self.workdir.ref}
            )
        if self.num_nodes != 1:
            out["num_nodes"] = self.num_nodes
        resources = self.resources.to_yaml()
        if resources:
            out["resources"] = resources
        if self.envs:
            out["envs"] = dict(self.envs)
        if self.secrets:
            out["secrets"] = {
                k: ("<redacted>" if redact_secrets else v) for k, v in self.secrets.items()
            }
        if self.file_mounts:
            out["file_mounts"] = dict(self.file_mounts)
        if self.setup:
            out["setup"] = self.setup
        if self.run:
            out["run"] = self.run
        return out


def _parse_workdir(value: Any) -> str | GitWorkdir:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        check_keys(value, ("url", "ref"), "workdir")
        url = value.get("url")
        if not isinstance(url, str) or not url:
            raise fail("workdir.url", url, "a git URL")
        ref = value.get("ref")
        return GitWorkdir(url=url, ref=str(ref) if ref is not None else None)
    raise fail("workdir", value, "a local folder or {url, ref} of a git repository")


def _parse_file_mounts(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise fail("file_mounts", value, "a mapping of remote path to local path")
    mounts: dict[str, str] = {}
    for remote, local in value.items():
        where = f"file_mounts.{remote}"
        if not isinstance(remote, str) or not remote:
            raise fail("file_mounts", remote, "remote paths as strings")
        if isinstance(local, dict) or (isinstance(local, str) and "://" in local):
            raise TaskSpecError(
                f"{where}: cloud storage mounts are not supported yet; expected a local path",
                field=where,
            )
        mounts[remote] = as_str(where, local)
    return mounts


def parse_env_pairs(pairs: list[str] | tuple[str, ...], option: str = "--env") -> dict[str, str]:
    """``K=V`` pairs; a bare ``K`` takes the value from this process's environment."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not key or not key.replace("_", "a").isalnum() or key[0].isdigit():
            raise TaskSpecError(f"{option}: got '{pair}', expected KEY=VALUE", field=option)
        if not sep:
            if key not in os.environ:
                raise TaskSpecError(
                    f"{option}: '{key}' is not set in this environment", field=option
                )
            value = os.environ[key]
        out[key] = value
    return out


def warn_unsupported(task: Task) -> None:
    for key in task.unsupported_fields:
        print(
            f"styx: warning: task field '{key}' is accepted but not supported yet; ignored",
            file=sys.stderr,
        )
