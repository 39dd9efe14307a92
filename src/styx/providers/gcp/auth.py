"""Credentials and project: ``gcp.credentials_file`` (a service-account key) or else ADC."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from styx.errors import CredentialsError
from styx.providers.gcp.settings import GCPSettings

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
LOGIN_FIX = "run: gcloud auth application-default login (or set GOOGLE_APPLICATION_CREDENTIALS)"


@dataclass(frozen=True)
class ResolvedAuth:
    credentials: Any  # google.auth.credentials.Credentials
    project: str
    account: str


def resolve(settings: GCPSettings) -> ResolvedAuth:
    """Blocking (ADC may read files or ask the metadata server). Raises CredentialsError."""
    if settings.credentials_file:
        return _from_key_file(settings)
    if not _adc_source_exists():
        # Nothing google.auth.default() could find except the metadata server, and this is not
        # a GCE machine: answer now instead of letting it probe (seconds of retries offline).
        raise CredentialsError(f"no Google credentials found; {LOGIN_FIX}", provider="gcp")
    import google.auth
    from google.auth import exceptions as auth_exc

    try:
        creds, adc_project = google.auth.default(scopes=list(SCOPES))
    except auth_exc.GoogleAuthError as exc:
        raise CredentialsError(
            f"no Google credentials found ({_first_line(exc)}); {LOGIN_FIX}", provider="gcp"
        ) from exc
    project = settings.project_id or adc_project
    if not project:
        raise _no_project()
    return ResolvedAuth(creds, project, _account(creds))


def _from_key_file(settings: GCPSettings) -> ResolvedAuth:
    """The service-account key named by ``gcp.credentials_file`` (its project is the default)."""
    import os

    from google.oauth2 import service_account

    path = os.path.expanduser(str(settings.credentials_file))
    try:
        creds = service_account.Credentials.from_service_account_file(path, scopes=list(SCOPES))
    except (OSError, ValueError, KeyError) as exc:
        raise CredentialsError(
            f"gcp.credentials_file {path}: {_first_line(exc)}; fix: point it at a "
            "service-account key (JSON) or remove it to use Application Default Credentials",
            provider="gcp",
        ) from exc
    project = settings.project_id or creds.project_id
    if not project:
        raise _no_project()
    return ResolvedAuth(creds, project, _account(creds))


def _adc_source_exists() -> bool:
    """Whether Application Default Credentials have anywhere to come from."""
    import os
    from pathlib import Path

    if os.environ.get("GOOGLE_APPLICATION_CREDENTIALS") or os.environ.get("GCE_METADATA_HOST"):
        return True
    config_dir = os.environ.get("CLOUDSDK_CONFIG") or str(Path.home() / ".config" / "gcloud")
    if Path(config_dir, "application_default_credentials.json").exists():
        return True
    try:  # how google-auth itself recognises a GCE VM on Linux
        product = Path("/sys/class/dmi/id/product_name").read_text()
    except OSError:
        return False
    return "Google" in product


def _no_project() -> CredentialsError:
    return CredentialsError(
        "no GCP project set; set gcp.project_id in ~/.styx/config.yaml or GOOGLE_CLOUD_PROJECT",
        provider="gcp",
    )


def _account(creds: Any) -> str:
    for attr in ("service_account_email", "signer_email", "account"):
        value = getattr(creds, attr, None)
        if isinstance(value, str) and value and value != "default":
            return value
    return type(creds).__name__


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
