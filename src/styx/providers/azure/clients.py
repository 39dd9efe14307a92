"""Credentials and SDK clients (compute, network, resources) for one ARM endpoint."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

from styx.providers.azure.settings import AzureSettings


class StaticTokenCredential:
    """A TokenCredential over a pre-fetched bearer token (``az account get-access-token``).

    It never talks to Entra ID; when the token expires ARM answers 401, which Styx reports as a
    CredentialsError telling the user to fetch a new one.
    """

    def __init__(self, token: str, lifetime_s: int = 3600) -> None:
        self._token = token
        self._lifetime_s = lifetime_s

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, int(time.time()) + self._lifetime_s)

    def close(self) -> None:
        """Nothing to release."""


def make_credential(settings: AzureSettings) -> tuple[Any, str]:
    """The credential to use and a short description of where it comes from."""
    if settings.access_token:
        return StaticTokenCredential(settings.access_token), "a static access token"
    from azure.identity import DefaultAzureCredential

    # DefaultAzureCredential tries, in order: env service principal (AZURE_CLIENT_ID/SECRET/
    # TENANT_ID), workload identity, managed identity, then the Azure CLI login.
    return DefaultAzureCredential(), "DefaultAzureCredential"


@dataclass
class AzureClients:
    """Lazily built SDK clients sharing one credential and pipeline settings."""

    settings: AzureSettings
    credential: Any
    # Microsoft.Resources/subscriptions (a subscription, its locations), for get_json: a stable
    # version in azure-rest-api-specs (Microsoft.Resources/stable/2022-12-01/subscriptions.json).
    SUBSCRIPTIONS_API: ClassVar[str] = "2022-12-01"

    def _kwargs(self) -> dict[str, Any]:
        s = self.settings
        kw: dict[str, Any] = {
            "base_url": s.base_url,
            "credential_scopes": [s.scope],
            # Styx retries throttling and 5xx itself (styx.retry, one layer): azure-core's own
            # loop is off, or every throttled call would be retried twice over.
            "retry_total": 0,
            "polling_interval": s.polling_interval_s,
            "connection_timeout": 10,
            "read_timeout": 60,
        }
        if s.ca_bundle:
            kw["connection_verify"] = s.ca_bundle
        return kw

    @cached_property
    def compute(self) -> Any:
        from azure.mgmt.compute import ComputeManagementClient

        return ComputeManagementClient(self.credential, self._sub(), **self._kwargs())

    @cached_property
    def network(self) -> Any:
        from azure.mgmt.network import NetworkManagementClient

        return NetworkManagementClient(self.credential, self._sub(), **self._kwargs())

    @cached_property
    def resources(self) -> Any:
        from azure.mgmt.resource.resources import ResourceManagementClient

        return ResourceManagementClient(self.credential, self._sub(), **self._kwargs())

    def _sub(self) -> str:
        assert self.settings.subscription_id, "callers check the subscription first"
        return self.settings.subscription_id

    def get_json(self, path: str, api_version: str) -> Any:
        """GET an ARM path the installed SDKs have no operation for (subscription, locations)."""
        from azure.core.exceptions import HttpResponseError
        from azure.core.rest import HttpRequest

        url = f"{self.settings.base_url.rstrip('/')}{path}?api-version={api_version}"
        response = self.resources.send_request(HttpRequest("GET", url))
        if response.status_code >= 400:
            raise HttpResponseError(response=response)
        return response.json()

    def close(self) -> None:
        for name in ("compute", "network", "resources"):
            client = self.__dict__.pop(name, None)
            if client is not None:
                client.close()

    async def call(
        self,
        func: Any,
        *args: Any,
        region: str | None = None,
        zone: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run one blocking SDK call through the error table and the transient retry."""
        from styx.providers.azure.errors import call

        s = self.settings
        return await call(
            func,
            *args,
            region=region,
            zone=zone,
            attempts=s.retry_attempts,
            base_s=s.retry_base_s,
            **kwargs,
        )


def as_json(model: Any) -> dict[str, Any]:
    """An SDK model as ARM's own JSON (REST names), so parsing does not depend on SDK versions."""
    if model is None:
        return {}
    if isinstance(model, dict):
        return model
    return dict(model.as_dict())


def as_json_list(models: Any) -> list[dict[str, Any]]:
    return [as_json(m) for m in models]
