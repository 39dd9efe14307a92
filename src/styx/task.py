"""A task: what to run (setup, run), where its files come from, and the resources it needs."""

from __future__ import annotations

import os
import posixpath
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from styx.errors import TaskSpecError
from styx.resources import Resources
from styx.spec import (
    MAX_NUM_NODES,
    as_positive_int,
    as_str,
    as_str_dict,
    check_keys,
    clip,
    fail,
)
from styx.storage.spec import StorageMount, is_bucket_url, parse_storage_mount

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
# resources fields SkyPilot acts on that Styx reads (and validates) but does not act on yet.
UNUSED_RESOURCE_FIELDS = ("disk_tier", "network_tier", "accelerator_args")


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
    # Bucket file mounts (URLs and storage mappings), apart from the local ones above.
    storage_mounts: tuple[StorageMount, ...] = ()
    # Names written with no value (``envs: {HF_TOKEN: }``): SkyPilot's "pass it at launch".
    # --env/--env-file/--secret fill them; launching while one is unfilled is an error.
    required_envs: tuple[str, ...] = ()
    required_secrets: tuple[str, ...] = ()
    # Warnings only: two tasks that differ in what they would warn about are the same task.
    unsupported_fields: tuple[str, ...] = field(default=(), compare=False)
    base_dir: str | None = None  # the task file's folder: relative paths are resolved from it

    def __post_init__(self) -> None:
        # The loader checks this too; here it also covers --num-nodes and tasks made in Python,
        # so that no path reaches the scheduler with a million nodes.
        as_positive_int("num_nodes", self.num_nodes, maximum=MAX_NUM_NODES)

    @classmethod
    def from_yaml_file(cls, path: str | os.PathLike[str]) -> Task:
        text, base_dir, shown_path = read_task_file(path)
        return cls.from_yaml_text(text, base_dir=base_dir, source=shown_path)

    @classmethod
    def from_yaml_text(cls, text: str, base_dir: str | None = None, source: str = "task") -> Task:
        """A task from YAML text, within the limits of :mod:`styx.yamlsafe`."""
        from styx.yamlsafe import load_yaml

        return cls.from_yaml(load_yaml(text, source), base_dir=base_dir)

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
            values["num_nodes"] = as_positive_int(
                "num_nodes", data["num_nodes"], maximum=MAX_NUM_NODES
            )
        values["resources"] = Resources.from_yaml(data.get("resources"))
        envs = as_str_dict("envs", data.get("envs"), allow_none_values=True)
        values["envs"] = {k: v for k, v in envs.items() if v is not None}
        values["required_envs"] = tuple(k for k, v in envs.items() if v is None)
        secrets = as_str_dict("secrets", data.get("secrets"), allow_none_values=True)
        values["secrets"] = {k: v for k, v in secrets.items() if v is not None}
        values["required_secrets"] = tuple(k for k, v in secrets.items() if v is None)
        if data.get("service") is not None:
            from styx.service_spec import check_service

            check_service(data["service"])
        if data.get("workdir") is not None:
            values["workdir"] = _parse_workdir(data["workdir"])
        if data.get("file_mounts") is not None:
            values["file_mounts"], values["storage_mounts"] = _parse_file_mounts(
                data["file_mounts"]
            )
        unused = [k for k in UNSUPPORTED_FIELDS if k in data]
        resources = data.get("resources") if isinstance(data.get("resources"), dict) else {}
        unused += [f"resources.{k}" for k in UNUSED_RESOURCE_FIELDS if resources.get(k) is not None]
        values["unsupported_fields"] = tuple(unused)
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
        return Path(os.path.normpath(p))

    def check_local_files(self) -> None:
        """Fail before provisioning if the workdir or a file mount source is missing."""
        if isinstance(self.workdir, str) and (
            _local_kind(self.resolve_path(self.workdir), "workdir") != "dir"
        ):
            raise TaskSpecError(
                f"workdir: folder '{clip(self.workdir, 120)}' not found", field="workdir"
            )
        for remote, local in self.file_mounts.items():
            where = f"file_mounts.{clip(remote, 120)}"
            if _local_kind(self.resolve_path(local), where) is None:
                raise TaskSpecError(
                    f"{where}: local path '{clip(local, 120)}' not found", field="file_mounts"
                )
        for mount in self.storage_mounts:
            local = mount.local_source
            if local is not None and _local_kind(self.resolve_path(local), mount.where) is None:
                raise TaskSpecError(
                    f"{mount.where}.source: local path '{clip(local, 120)}' not found",
                    field=f"{mount.where}.source",
                )

    def check_mount_targets(self, cloud: str) -> None:
        """Refuse, before provisioning, mount targets that ``cloud``'s nodes cannot hold.

        Targets are already normalised and kept inside the node's home by the loader; a local
        node is a sandbox folder, so there absolute targets (``/etc/x``) have nowhere to go.
        """
        from styx.providers.registry import entry

        if not entry(cloud).home_only_mounts:
            return
        for remote in [*self.file_mounts, *(m.target for m in self.storage_mounts)]:
            if remote.startswith("/"):
                raise TaskSpecError(
                    f"file_mounts.{clip(remote, 120)}: local nodes accept only targets under the "
                    "node's home ('~/data' or a relative path), not absolute paths",
                    field="file_mounts",
                )

    def missing_values(self) -> list[str]:
        """Names declared without a value that nothing filled yet, as ``envs.X``/``secrets.X``."""
        missing = [
            f"envs.{name}"
            for name in self.required_envs
            if name not in self.envs and name not in self.secrets
        ]
        missing += [f"secrets.{name}" for name in self.required_secrets if name not in self.secrets]
        return missing

    def check_required_values(self) -> None:
        """One-line error naming the first value still missing and the flag that passes it."""
        missing = self.missing_values()
        if not missing:
            return
        where = missing[0]
        name = where.split(".", 1)[1]
        flag = (
            f"--secret {name}=VALUE"
            if where.startswith("secrets.")
            else f"--env {name}=VALUE, --env-file FILE or --secret {name}=VALUE"
        )
        more = f" ({len(missing) - 1} more: {', '.join(missing[1:])})" if len(missing) > 1 else ""
        raise TaskSpecError(
            f"{where}: no value given; pass it at launch with {flag}{more}", field=where
        )

    def secret_values(self) -> list[str]:
        return [v for v in self.secrets.values() if v]

    def to_yaml(self, *, redact_secrets: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.name is not None:
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
        envs: dict[str, str | None] = dict(self.envs)
        envs.update({k: None for k in self.required_envs if k not in self.envs})
        if envs:
            out["envs"] = envs
        secrets: dict[str, str | None] = {
            k: ("<redacted>" if redact_secrets else v) for k, v in self.secrets.items()
        }
        secrets.update({k: None for k in self.required_secrets if k not in self.secrets})
        if secrets:
            out["secrets"] = secrets
        if self.file_mounts or self.storage_mounts:
            mounts: dict[str, Any] = dict(self.file_mounts)
            mounts.update({m.target: m.to_yaml() for m in self.storage_mounts})
            out["file_mounts"] = mounts
        if self.setup is not None:
            out["setup"] = self.setup
        if self.run is not None:
            out["run"] = self.run
        return out


def read_task_file(path: str | os.PathLike[str]) -> tuple[str, str, str]:
    """A task file's text, its folder and its name as errors show it; TaskSpecError if the
    file is missing, too large, unreadable or not UTF-8."""
    from styx.yamlsafe import MAX_FILE_BYTES

    p = Path(path)
    shown_path = clip(str(path), 120)
    try:
        if not p.is_file():
            raise TaskSpecError(f"task file '{shown_path}' not found", field="task")
        if p.stat().st_size > MAX_FILE_BYTES:
            raise TaskSpecError(
                f"{shown_path}: over the {MAX_FILE_BYTES} bytes a task file may have",
                field="task",
            )
        text = p.read_text(encoding="utf-8")
        base_dir = str(p.resolve().parent)
    except UnicodeDecodeError:
        raise TaskSpecError(f"{shown_path}: not a UTF-8 text file", field="task") from None
    except (OSError, ValueError) as exc:  # a name too long, a NUL byte, a permission
        reason = getattr(exc, "strerror", None) or str(exc)
        raise TaskSpecError(
            f"task file '{shown_path}' cannot be read: {reason}", field="task"
        ) from None
    return text, base_dir, shown_path


MAX_PATH_CHARS = 4096  # PATH_MAX on Linux
MAX_NAME_CHARS = 255  # one path component (NAME_MAX)
# The agent's own folder on every node: a mount there would replace the runtime.
RESERVED_TARGETS = (".styx_runtime",)


def _local_kind(path: Path, where: str) -> str | None:
    """'dir', 'file' or None (missing); an unusable name is a TaskSpecError, not an OSError."""
    try:
        if path.is_dir():
            return "dir"
        return "file" if path.exists() else None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise TaskSpecError(f"{where}: cannot use '{clip(str(path), 120)}': {reason}") from None


def check_path_text(where: str, value: Any) -> str:
    """A path as text: a string, without NUL, within Linux's length limits."""
    text = as_str(where, value)
    if not text.strip():
        raise fail(where, value, "a path")
    if len(text) > MAX_PATH_CHARS or any(len(p) > MAX_NAME_CHARS for p in text.split("/")):
        raise fail(
            where, value, f"a path of at most {MAX_PATH_CHARS} characters, {MAX_NAME_CHARS} a name"
        )
    return text


def normalize_target(remote: Any, where: str) -> str:
    """A mount target on a node, normalised: ``~/a/b`` (under the home) or ``/abs/path``.

    ``..`` that would leave the home, the home itself (a folder mount mirrors, so it would
    delete everything else there), ``/`` and the agent's folder are refused.
    """
    text = check_path_text(where, remote).strip()
    if text.startswith("/"):
        normal = posixpath.normpath(text)
        if normal in ("/", "//"):
            raise fail(where, remote, "a path below '/', not the root folder itself")
        return "/" + normal.lstrip("/")
    if text == "~" or text.startswith("~/"):
        rest = text[2:]
    elif text.startswith("~"):
        raise fail(where, remote, "'~/path' or a path relative to the node's home ('~user' is not)")
    else:
        rest = text
    normal = posixpath.normpath(rest or ".").lstrip("/")
    if normal == ".." or normal.startswith("../"):
        raise TaskSpecError(
            f"{clip(where, 160)}: target '{clip(text, 120)}' leaves the node's home through '..'; "
            "expected a path under ~",
            field="file_mounts",
        )
    if normal in (".", ""):
        raise fail(where, remote, "a path under the node's home, not the home itself")
    if normal.split("/")[0] in RESERVED_TARGETS:
        raise fail(where, remote, f"a path outside ~/{RESERVED_TARGETS[0]} (Styx's own folder)")
    return f"~/{normal}"


def _parse_workdir(value: Any) -> str | GitWorkdir:
    if isinstance(value, str):
        return check_path_text("workdir", value)
    if isinstance(value, dict):
        check_keys(value, ("url", "ref"), "workdir")
        url = value.get("url")
        if not isinstance(url, str) or not url.strip():
            raise fail("workdir.url", url, "a git URL")
        url = check_path_text("workdir.url", url)
        ref = value.get("ref")
        if ref is not None and (isinstance(ref, bool) or not isinstance(ref, (str, int))):
            raise fail("workdir.ref", ref, "a branch, tag or commit")
        if isinstance(ref, int) and abs(ref) > 10**40:
            raise fail("workdir.ref", ref, "a branch, tag or commit")
        return GitWorkdir(url=url, ref=as_str("workdir.ref", str(ref)) if ref is not None else None)
    raise fail("workdir", value, "a local folder or {url, ref} of a git repository")


def _parse_file_mounts(value: Any) -> tuple[dict[str, str], tuple[StorageMount, ...]]:
    """Local file mounts (target -> local path) and bucket mounts (URLs, storage mappings)."""
    if not isinstance(value, dict):
        raise fail("file_mounts", value, "a mapping of remote path to local path")
    mounts: dict[str, str] = {}
    buckets: list[StorageMount] = []
    for remote, local in value.items():
        where = f"file_mounts.{clip(str(remote), 120)}"
        if not isinstance(remote, str) or not remote:
            raise fail("file_mounts", remote, "remote paths as strings")
        target = normalize_target(remote, where)
        if target in mounts or any(m.target == target for m in buckets):
            raise fail(where, remote, f"a target named once (it is the same as '{target}')")
        if isinstance(local, dict) or is_bucket_url(local):
            buckets.append(parse_storage_mount(target, local, where))
        else:
            mounts[target] = check_path_text(where, local)
    return mounts, tuple(buckets)


def parse_env_pairs(pairs: list[str] | tuple[str, ...], option: str = "--env") -> dict[str, str]:
    """``K=V`` pairs; a bare ``K`` takes the value from this process's environment."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not key or not key.replace("_", "a").isalnum() or key[0].isdigit():
            raise TaskSpecError(
                f"{option}: got '{clip(pair, 120)}', expected KEY=VALUE", field=option
            )
        if not sep:
            if key not in os.environ:
                raise TaskSpecError(
                    f"{option}: '{clip(key, 120)}' is not set in this environment", field=option
                )
            value = os.environ[key]
        if "\x00" in value:
            raise TaskSpecError(f"{option}: the value of '{key}' has a NUL character", field=option)
        out[key] = value
    return out


def warn_unsupported(task: Task) -> None:
    """Warnings for fields read but not acted on, and notes for skipped resource branches."""
    for key in task.unsupported_fields:
        print(
            f"styx: warning: task field '{key}' is accepted but not supported yet; ignored",
            file=sys.stderr,
        )
    for line in task.resources.skipped_branches:
        print(f"styx: note: {line}", file=sys.stderr)
