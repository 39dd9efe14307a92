"""Where the client finds its API server and token.

The endpoint: ``STYX_API_SERVER``, else ``api_server.endpoint`` in ``$STYX_HOME/config.yaml``.
The token: ``STYX_API_TOKEN``, else the private file ``$STYX_HOME/api_credentials.yaml``
(0600, endpoint -> token), written by ``styx api login``. No endpoint: everything in-process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from styx.config import load_config, styx_home
from styx.errors import StyxError

ENDPOINT_ENV = "STYX_API_SERVER"
TOKEN_ENV = "STYX_API_TOKEN"
CREDENTIALS_FILE = "api_credentials.yaml"


@dataclass(frozen=True)
class ApiSettings:
    endpoint: str
    token: str | None


def normalize_endpoint(endpoint: str) -> str:
    url = urlparse(endpoint.strip())
    if url.scheme not in ("http", "https") or not url.netloc:
        raise StyxError(f"endpoint '{endpoint[:200]}': expected http(s)://HOST[:PORT]")
    return f"{url.scheme}://{url.netloc}"


def _credentials_path() -> Path:
    return styx_home() / CREDENTIALS_FILE


def _read_credentials() -> dict[str, str]:
    import yaml

    path = _credentials_path()
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def configured() -> ApiSettings | None:
    """The API server to use, or None to run in-process."""
    endpoint = os.environ.get(ENDPOINT_ENV, "").strip()
    if not endpoint:
        section = load_config().get("api_server") or {}
        endpoint = str(section.get("endpoint") or "") if isinstance(section, dict) else ""
    if not endpoint:
        return None
    endpoint = normalize_endpoint(endpoint)
    token = os.environ.get(TOKEN_ENV, "").strip() or _read_credentials().get(endpoint)
    return ApiSettings(endpoint, token)


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (0600) through a temporary file: never half-written."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def save_login(endpoint: str, token: str) -> None:
    """Remember the endpoint in config.yaml (other keys kept) and its token privately."""
    import yaml

    endpoint = normalize_endpoint(endpoint)
    credentials = _read_credentials()
    credentials[endpoint] = token
    _write_private(_credentials_path(), yaml.safe_dump(credentials))
    config = dict(load_config())
    section = config.get("api_server")
    config["api_server"] = {**(section if isinstance(section, dict) else {}), "endpoint": endpoint}
    _write_private(styx_home() / "config.yaml", yaml.safe_dump(config, sort_keys=False))


def forget_login() -> None:
    import yaml

    config = dict(load_config())
    if config.pop("api_server", None) is not None:
        _write_private(styx_home() / "config.yaml", yaml.safe_dump(config, sort_keys=False))
