"""Credentials (check/is_available), endpoint config, catalog, quota, and the state table."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from styx.errors import CredentialsError
from styx.providers import get_provider
from styx.providers.azure.states import STATE_TABLE, map_state
from styx.providers.base import ProvisionRequest
from styx.providers.instance import InstanceState
from tests.azure.conftest import SUBSCRIPTION, TOKEN, provider_config
from tests.fakes.azure.server import FakeArmServer
from tests.fakes.azure.state import FakeArm


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_available_with_static_token(azure: Any) -> None:
    assert run(azure.is_available()) is True
    line = run(azure.check())
    assert SUBSCRIPTION in line and "static access token" in line and "\n" not in line


def test_missing_subscription_is_unavailable_with_fix(arm_server: FakeArmServer) -> None:
    azure = get_provider("azure", **provider_config(arm_server, subscription_id=None))
    assert run(azure.is_available()) is False
    line = run(azure.check())
    assert "AZURE_SUBSCRIPTION_ID" in line and "config.yaml" in line
    with pytest.raises(CredentialsError):
        run(azure.list_instances())


def test_rejected_token_is_unavailable(arm_server: FakeArmServer) -> None:
    azure = get_provider("azure", **provider_config(arm_server, access_token="expired"))
    assert run(azure.is_available()) is False
    line = run(azure.check())
    assert "invalid" in line and "az login" in line


def test_config_file_and_env(
    arm_server: FakeArmServer, styx_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Endpoint and token from env, CA bundle and ssh_user from $STYX_HOME/config.yaml."""
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", SUBSCRIPTION)
    monkeypatch.setenv("STYX_AZURE_BASE_URL", arm_server.url)
    monkeypatch.setenv("STYX_AZURE_ACCESS_TOKEN", TOKEN)
    config = {
        "azure": {
            "ca_bundle": str(arm_server.ca_path),
            "ssh_user": "styx",
            "polling_interval_s": 0,
            "regions": ["westus2"],
        }
    }
    (styx_home / "config.yaml").write_text(yaml.safe_dump(config))
    azure = get_provider("azure")
    assert run(azure.is_available()) is True
    assert run(azure.list_regions()) == ["westus2"]
    inst = run(azure.provision(ProvisionRequest("cfg", "Standard_B2s", region="westus2")))
    assert inst.ssh_user == "styx"
    run(azure.terminate(inst.id))


def test_default_credential_without_any_login(
    arm_server: FakeArmServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No token configured: DefaultAzureCredential is used; with nothing to log in with it
    fails, quickly and offline, and the provider reports itself unavailable."""
    monkeypatch.setenv("PATH", str(tmp_path))  # no `az`, `pwsh` or `azd` to shell out to
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(tmp_path / "az"))
    # Managed identity goes to a refused loopback port (App Service style) rather than to the
    # IMDS address, which this test must never contact.
    monkeypatch.setenv("IDENTITY_ENDPOINT", "http://127.0.0.1:9/")
    monkeypatch.setenv("IDENTITY_HEADER", "styx-test")
    azure = get_provider(
        "azure", **provider_config(arm_server, access_token=None, credential_timeout_s=15)
    )
    line = run(azure.check())  # the same probe as is_available(), which would answer False
    assert line.startswith("azure: disabled: DefaultAzureCredential failed")
    assert "DefaultAzureCredential" in line and "az login" in line


def test_regions_from_subscription(azure: Any) -> None:
    assert run(azure.list_regions()) == ["eastus", "westeurope", "westus2"]


def test_instance_types_with_gpus(azure: Any) -> None:
    types = {t.name: t for t in run(azure.list_instance_types("eastus"))}
    assert types["Standard_D4s_v3"].vcpus == 4 and types["Standard_D4s_v3"].memory_gib == 16
    v100 = types["Standard_NC6s_v3"]
    assert (v100.accelerator_name, v100.accelerator_count) == ("V100", 1)
    assert types["Standard_NC24ads_A100_v4"].accelerator_name == "A100"
    assert types["Standard_B2s"].zones == ("1", "2", "3")


def test_quota(azure: Any, arm: FakeArm) -> None:
    q = run(azure.quota("eastus", "Standard_D2s_v3"))
    assert (q.metric, q.limit, q.used, q.per_instance, q.fits()) == (
        "standardDSv3Family",
        40,
        0,
        2,
        True,
    )
    inst = run(azure.provision(ProvisionRequest("q", "Standard_D4s_v3", region="eastus")))
    assert run(azure.quota("eastus", "Standard_D2s_v3")).used == 4
    nc = run(azure.quota("eastus", "Standard_NC6s_v3"))
    assert (nc.limit, nc.fits()) == (0, False)
    spot = run(azure.quota("eastus", "Standard_NC6s_v3", use_spot=True))
    assert (spot.metric, spot.limit, spot.used, spot.fits()) == ("lowPriorityCores", 50, 0, True)
    unknown = run(azure.quota("eastus", "Standard_Nope"))
    assert unknown.known is False and unknown.fits() is None
    run(azure.stop(inst.id))  # deallocated VMs free their cores
    assert run(azure.quota("eastus", "Standard_D2s_v3")).used == 0


@pytest.mark.parametrize(
    ("codes", "state", "native"),
    [
        (
            ["ProvisioningState/creating", "PowerState/starting"],
            InstanceState.PENDING,
            "ProvisioningState/creating",
        ),
        (
            ["ProvisioningState/succeeded", "PowerState/running"],
            InstanceState.RUNNING,
            "PowerState/running",
        ),
        (
            ["ProvisioningState/succeeded", "PowerState/deallocated"],
            InstanceState.STOPPED,
            "PowerState/deallocated",
        ),
        (
            ["ProvisioningState/failed/AllocationFailed"],
            InstanceState.ERROR,
            "ProvisioningState/failed",
        ),
        (
            ["ProvisioningState/deleting", "PowerState/running"],
            InstanceState.TERMINATED,
            "ProvisioningState/deleting",
        ),
        (
            ["ProvisioningState/succeeded", "PowerState/hibernated"],
            InstanceState.ERROR,
            "PowerState/hibernated",
        ),
    ],
)
def test_state_table(codes: list[str], state: InstanceState, native: str) -> None:
    assert map_state(codes) == (state, native)
    assert all(k.split("/")[0] in ("PowerState", "ProvisioningState") for k in STATE_TABLE)


def test_package_import_does_not_load_the_sdk() -> None:
    code = (
        "import sys, styx.providers.azure, styx.providers.registry; "
        "print(any(m.startswith('azure.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
