"""Where Styx keeps its files, and the user's config file ($STYX_HOME/config.yaml).

The config file uses SkyPilot's layout: one section per provider (``aws: {ssh_proxy_command:
..., use_internal_ips: ...}``, ``gcp:``, ``azure:``, ``kubernetes:``, ``ssh:``).

Styx's own additions to a cloud section: ``worker_ssh_proxy_command`` (the head reaches workers
through this ProxyCommand, at the client's address for them, instead of their private IP: for
clusters whose nodes cannot reach each other directly).
"""

from __future__ import annotations

import getpass
import os
import socket
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any

from styx.errors import StyxError


def styx_home() -> Path:
    """$STYX_HOME, default ~/.styx. Created on first use, private to the user (0700).

    It holds task files, environment values, job output and keys, so a folder made by an older
    version (0755) is tightened too, when this user owns it.
    """
    home = Path(os.environ.get("STYX_HOME") or Path.home() / ".styx").expanduser()
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    make_private(home)
    return home


def make_private(path: Path) -> None:
    """chmod ``path`` to 0700 (folder) or 0600 (file) if others can reach it and we own it."""
    try:
        st = path.stat()
        if st.st_mode & 0o077 and st.st_uid == os.getuid():
            path.chmod(0o700 if path.is_dir() else 0o600)
    except OSError:
        pass  # a path we cannot stat or change is reported by whoever uses it next


# Set by the API server while it runs a user's request: that user owns what the request makes.
REQUEST_OWNER: ContextVar[str | None] = ContextVar("styx_request_owner", default=None)


def owner_id() -> str:
    """Who launched: put in the styx-owner tag on every cloud resource (the API user when the
    request came through the API server)."""
    if (user := REQUEST_OWNER.get()) is not None:
        return user
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        user = "unknown"
    return f"{user}-{socket.gethostname()}".lower()[:63]


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> dict[str, Any]:
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise StyxError(f"{path}: invalid YAML{where}") from exc
    if not isinstance(data, dict):
        raise StyxError(f"{path}: expected a mapping at the top level")
    return data


def load_config() -> dict[str, Any]:
    """The parsed $STYX_HOME/config.yaml ({} when absent)."""
    path = styx_home() / "config.yaml"
    if not path.exists():
        return {}
    return _load(str(path), path.stat().st_mtime)


def provider_config(provider: str) -> dict[str, Any]:
    """The config section for one provider ({} when absent)."""
    section = load_config().get(provider) or {}
    if not isinstance(section, dict):
        raise StyxError(f"config.yaml: '{provider}' must be a mapping")
    return section


DEFAULT_AUTOSTOP_CHECK_S = 10.0


def autostop_check_interval_s() -> float:
    """``autostop.check_interval_s`` in config.yaml: how often a head's agent looks for
    idleness (seconds, default 10). Sent to the agent when the cluster is set up."""
    section = load_config().get("autostop") or {}
    if not isinstance(section, dict):
        raise StyxError("config.yaml: 'autostop' must be a mapping")
    value = section.get("check_interval_s", DEFAULT_AUTOSTOP_CHECK_S)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 3600:
        raise StyxError(
            f"config.yaml: autostop.check_interval_s: got {value!r}, expected seconds in (0, 3600]"
        )
    return float(value)
