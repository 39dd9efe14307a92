"""Azure through azure-mgmt-compute/network/resource (see settings.py for the config keys).

Layout in Azure: one resource group per cluster and region (``styx-<cluster>-<region>``, tagged
styx-cluster/styx-owner) holding the cluster's VNet, and per VM an NSG, a public IP, a NIC, the
VM and its OS disk, all named after the Styx id (``styx-<id>``) and tagged with the Styx tags.

``stop`` deallocates: the VM keeps its disk and IP, and compute billing stops (a plain
"powerOff" would keep billing). ``terminate`` deletes the VM and every resource made for it,
then the group once no VM is left in it.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Any

from styx.config import owner_id
from styx.errors import CredentialsError, InstanceNotFoundError, ProviderError
from styx.providers.abilities import (
    InstanceFamilies,
    NodeIdentity,
    QuotaInfo,
    QuotaLookup,
    StopStart,
)
from styx.providers.azure import inventory, names, network
from styx.providers.azure.clients import AzureClients, as_json, as_json_list, make_credential
from styx.providers.azure.settings import AzureSettings, load_settings
from styx.providers.azure.states import map_state
from styx.providers.azure.vmspec import vm_body
from styx.providers.base import Capabilities, CloudProvider, ProvisionRequest
from styx.providers.instance import (
    TAG_CLUSTER,
    TAG_INSTANCE_ID,
    TAG_NODE_RANK,
    TAG_OWNER,
    Instance,
    InstanceId,
    InstanceState,
    InstanceType,
    ProviderType,
)
from styx.providers.sync import run_sync

__all__ = ["AzureProvider", "QuotaInfo"]

NO_SUBSCRIPTION = (
    "no subscription id; fix: set azure.subscription_id in $STYX_HOME/config.yaml "
    "or export AZURE_SUBSCRIPTION_ID"
)


class AzureProvider(StopStart, QuotaLookup, InstanceFamilies, NodeIdentity, CloudProvider):
    provider_type = ProviderType.AZURE
    capabilities = Capabilities(stop_start=True, spot=True, multi_node=True, open_ports=True)

    def __init__(self, **config: Any) -> None:
        self.settings: AzureSettings = load_settings(config)
        self._az: AzureClients | None = None
        self._credential_source = ""
        self._group_of: dict[str, str] = {}  # Styx id -> resource group, learned as we go
        self._owner = owner_id()

    def head_config(self, region: str | None) -> dict[str, Any]:
        # The head authenticates with its VM's managed identity; never the client's token.
        s = self.settings
        out: dict[str, Any] = {"subscription_id": s.subscription_id, "base_url": s.base_url}
        if s.ca_bundle:
            out["ca_bundle"] = s.ca_bundle  # a path: the head must have the same CA file there
        return {k: v for k, v in out.items() if v}

    # ---- clients -------------------------------------------------------------------------------

    @property
    def az(self) -> AzureClients:
        if not self.settings.subscription_id:
            raise CredentialsError(NO_SUBSCRIPTION, provider="azure", native_code="NoSubscription")
        if self._az is None:
            credential, self._credential_source = make_credential(self.settings)
            self._az = AzureClients(self.settings, credential)
        return self._az

    async def close(self) -> None:
        if self._az is not None:
            self._az.close()
            with contextlib.suppress(Exception):
                self._az.credential.close()
            self._az = None

    # ---- credentials ---------------------------------------------------------------------------

    async def _probe(self) -> tuple[bool, str]:
        """(usable, one-line explanation). Never raises for missing or bad credentials."""
        s = self.settings
        if not s.subscription_id:
            return False, f"azure: disabled: {NO_SUBSCRIPTION}"
        try:
            az = self.az
            await asyncio.wait_for(
                run_sync(az.credential.get_token, s.scope), timeout=s.credential_timeout_s
            )
            sub = await az.call(
                az.get_json, f"/subscriptions/{s.subscription_id}", az.SUBSCRIPTIONS_API
            )
        except TimeoutError:
            return False, (
                f"azure: disabled: no token within {s.credential_timeout_s:g}s from "
                f"{self._credential_source}; fix: run 'az login' or set "
                "azure.access_token"
            )
        except ProviderError as err:
            return False, f"azure: disabled: subscription {s.subscription_id}: {err.message}"
        except Exception as exc:  # noqa: BLE001 - any credential failure means "not available"
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return False, (
                f"azure: disabled: {self._credential_source} failed ({first}); fix: "
                "run 'az login', set AZURE_CLIENT_ID/AZURE_CLIENT_SECRET/"
                "AZURE_TENANT_ID, or set azure.access_token"
            )
        name = sub.get("displayName") or "?"
        return True, (
            f"azure: subscription {s.subscription_id} ({name}) via "
            f"{self._credential_source} at {s.base_url}"
        )

    async def is_available(self) -> bool:
        ok, _ = await self._probe()
        return ok

    async def check(self) -> str:
        _, line = await self._probe()
        return line

    # ---- provisioning --------------------------------------------------------------------------

    def _tags(self, request: ProvisionRequest) -> dict[str, str]:
        return {
            **request.tags,
            TAG_INSTANCE_ID: request.instance_id,
            TAG_CLUSTER: request.cluster_name,
            TAG_OWNER: self._owner,
            TAG_NODE_RANK: str(request.node_rank),
        }

    async def provision(self, request: ProvisionRequest) -> Instance:
        az = self.az
        region = request.region or self.settings.region
        zone = request.zone
        rg = names.group_name(request.cluster_name, region)
        vm = names.vm_name(request.instance_id)
        existing = await self._get_vm(rg, vm, region)
        if existing is not None and _provisioning(existing) != "failed":
            self._group_of[request.instance_id] = rg
            return await self._instance(rg, existing)  # idempotent retry: the same VM
        tags = self._tags(request)
        group_tags = {TAG_CLUSTER: request.cluster_name, TAG_OWNER: self._owner}
        try:
            await network.ensure_group(az, rg, region, group_tags)
            self._group_of[request.instance_id] = rg
            subnet_id = await network.ensure_vnet(az, rg, region, group_tags)
            nic_id = await network.create_nic(
                az, rg, vm, region, zone, subnet_id, request.ports, tags
            )
            body = vm_body(
                request,
                region,
                nic_id,
                tags,
                ssh_user=self.settings.ssh_user,
                public_key=request.ssh_public_key or _styx_public_key(),
                image=self.settings.image,
                eviction_policy=self.settings.spot_eviction_policy,
            )
            create = az.compute.virtual_machines.begin_create_or_update
            await az.call(lambda: create(rg, vm, body).result(), region=region, zone=zone)
        except ProviderError:
            # Nothing may be left behind for a create that failed (immediately or in its LRO).
            with contextlib.suppress(ProviderError):
                await self._delete_everything(rg, vm, region)
            self._group_of.pop(request.instance_id, None)
            raise
        made = await self._get_vm(rg, vm, region)
        if made is None:
            raise InstanceNotFoundError(
                f"VM {vm} vanished right after creation", provider="azure", region=region
            )
        return await self._instance(rg, made)

    async def _get_vm(self, rg: str, vm: str, region: str | None) -> dict[str, Any] | None:
        az = self.az
        try:
            return as_json(
                await az.call(
                    az.compute.virtual_machines.get, rg, vm, expand="instanceView", region=region
                )
            )
        except InstanceNotFoundError:
            return None

    # ---- reading instances ---------------------------------------------------------------------

    async def _styx_groups(self) -> list[dict[str, Any]]:
        """Resource groups Styx made (tagged styx-cluster), in any region."""
        rgs = self.az.resources.resource_groups
        flt = f"tagName eq '{TAG_CLUSTER}'"
        return await self.az.call(lambda: as_json_list(rgs.list(filter=flt)))

    async def _find(self, instance_id: str) -> tuple[str, dict[str, Any]] | None:
        vm = names.vm_name(instance_id)
        cached = self._group_of.get(instance_id)
        if cached:
            found = await self._get_vm(cached, vm, None)
            if found is not None:
                return cached, found
        groups = [g["name"] for g in await self._styx_groups() if g["name"] != cached]
        results = await asyncio.gather(*(self._get_vm(rg, vm, None) for rg in groups))
        for rg, found in zip(groups, results, strict=True):
            if found is not None:
                self._group_of[instance_id] = rg
                return rg, found
        return None

    async def _get_sub(self, begin_get: Any, rg: str, name: str) -> dict[str, Any] | None:
        try:
            return as_json(await self.az.call(begin_get, rg, name))
        except InstanceNotFoundError:
            return None

    async def _instance(self, rg: str, vm: dict[str, Any]) -> Instance:
        net = self.az.network
        nic, ip = await asyncio.gather(
            self._get_sub(net.network_interfaces.get, rg, names.nic_name(vm["name"])),
            self._get_sub(net.public_ip_addresses.get, rg, names.ip_name(vm["name"])),
        )
        return self._to_instance(vm, nic, ip)

    def _to_instance(
        self, vm: dict[str, Any], nic: dict[str, Any] | None, ip: dict[str, Any] | None
    ) -> Instance:
        props = vm.get("properties") or {}
        tags = dict(vm.get("tags") or {})
        codes = [s["code"] for s in (props.get("instanceView") or {}).get("statuses") or []]
        if not any(c.startswith("ProvisioningState/") for c in codes):
            codes.append(f"ProvisioningState/{props.get('provisioningState', 'unknown')}")
        state, native = map_state(codes)
        configs = ((nic or {}).get("properties") or {}).get("ipConfigurations") or [{}]
        private_ip = (configs[0].get("properties") or {}).get("privateIPAddress")
        created = props.get("timeCreated")
        return Instance(
            id=InstanceId(tags.get(TAG_INSTANCE_ID) or names.instance_id_of(vm["name"]) or ""),
            provider=ProviderType.AZURE,
            cluster_name=tags.get(TAG_CLUSTER, ""),
            instance_type=props.get("hardwareProfile", {}).get("vmSize", ""),
            state=state,
            native_id=vm.get("id"),
            region=vm.get("location"),
            zone=(vm.get("zones") or [None])[0],
            public_ip=((ip or {}).get("properties") or {}).get("ipAddress"),
            private_ip=private_ip,
            use_spot=props.get("priority") == "Spot",
            node_rank=int(tags.get(TAG_NODE_RANK, "0") or 0),
            tags=tags,
            launched_at=datetime.fromisoformat(created) if created else None,
            native_state=native,
            state_reason=native if state is InstanceState.ERROR else None,
            ssh_user=self.settings.ssh_user,
        )

    async def get_instance(self, instance_id: InstanceId) -> Instance | None:
        found = await self._find(instance_id)
        return None if found is None else await self._instance(*found)

    async def list_instances(self) -> list[Instance]:
        groups = await self._styx_groups()
        per_group = await asyncio.gather(*(self._list_group(g["name"]) for g in groups))
        return [inst for group in per_group for inst in group]

    async def _list_group(self, rg: str) -> list[Instance]:
        az = self.az
        try:
            vms, nics, ips = await asyncio.gather(
                az.call(lambda: as_json_list(az.compute.virtual_machines.list(rg))),
                az.call(lambda: as_json_list(az.network.network_interfaces.list(rg))),
                az.call(lambda: as_json_list(az.network.public_ip_addresses.list(rg))),
            )
        except InstanceNotFoundError:
            return []  # the group was deleted while we listed
        vms = [v for v in vms if TAG_INSTANCE_ID in (v.get("tags") or {})]
        views = await asyncio.gather(
            *(self._get_sub(az.compute.virtual_machines.instance_view, rg, v["name"]) for v in vms)
        )
        nic_by_name = {n["name"]: n for n in nics}
        ip_by_name = {i["name"]: i for i in ips}
        out = []
        for vm, view in zip(vms, views, strict=True):
            if view is not None:
                vm.setdefault("properties", {})["instanceView"] = view
            out.append(
                self._to_instance(
                    vm,
                    nic_by_name.get(names.nic_name(vm["name"])),
                    ip_by_name.get(names.ip_name(vm["name"])),
                )
            )
            self._group_of[out[-1].id] = rg
        return out

    # ---- lifecycle -----------------------------------------------------------------------------

    async def _delete_everything(self, rg: str, vm: str, region: str | None) -> None:
        """The VM, then its NIC, IP, NSG and disk, then the group if no VM is left in it."""
        az = self.az
        try:
            await az.call(
                lambda: az.compute.virtual_machines.begin_delete(rg, vm).result(), region=region
            )
        except InstanceNotFoundError:
            pass
        await network.delete_vm_resources(az, rg, vm, region)
        await network.delete_group_if_empty(az, rg, region)

    async def terminate(self, instance_id: InstanceId) -> None:
        found = await self._find(instance_id)
        vm = names.vm_name(instance_id)
        if found is not None:
            rg, vm_json = found
            await self._delete_everything(rg, vm, vm_json.get("location"))
        else:
            # No VM (evicted with policy Delete, or a crash mid-create): sweep what is tagged.
            await self._sweep(instance_id)
        self._group_of.pop(instance_id, None)

    async def _sweep(self, instance_id: str) -> None:
        az = self.az
        flt = f"tagName eq '{TAG_INSTANCE_ID}' and tagValue eq '{instance_id}'"
        for group in await self._styx_groups():
            rg = group["name"]
            try:
                tagged = await az.call(
                    lambda rg=rg: list(
                        az.resources.resources.list_by_resource_group(rg, filter=flt)
                    )
                )
            except InstanceNotFoundError:
                continue
            if tagged:
                await self._delete_everything(rg, names.vm_name(instance_id), group["location"])

    async def _power(self, instance_id: InstanceId, action: str) -> None:
        found = await self._find(instance_id)
        if found is None:
            raise InstanceNotFoundError(
                f"no Azure VM for Styx instance {instance_id}",
                provider="azure",
                native_code="ResourceNotFound",
            )
        rg, vm = found
        begin = getattr(self.az.compute.virtual_machines, action)
        await self.az.call(lambda: begin(rg, vm["name"]).result(), region=vm.get("location"))

    async def stop(self, instance_id: InstanceId) -> None:
        """Deallocate: disk and IP stay, compute billing stops (powerOff alone keeps billing)."""
        await self._power(instance_id, "begin_deallocate")

    async def start(self, instance_id: InstanceId) -> None:
        await self._power(instance_id, "begin_start")

    # ---- catalog -------------------------------------------------------------------------------

    async def list_instance_types(self, region: str | None = None) -> list[InstanceType]:
        """Sizes in ``region`` (the configured default region when None). No prices: the
        catalog supplies those."""
        return await inventory.instance_types(self.az, region or self.settings.region)

    async def list_regions(self) -> list[str]:
        return await inventory.regions(self.az)

    def instance_family(self, instance_type: str) -> str:
        """'Standard_NC24ads_A100_v4' -> 'NC': the capitals of the size's series name."""
        series = instance_type.removeprefix("Standard_").split("_")[0]
        return "".join(c for c in series if c.isalpha() and c.isupper()) or instance_type

    async def quota(self, region: str, instance_type: str, use_spot: bool = False) -> QuotaInfo:
        """The vCPU quota that would limit ``instance_type`` in ``region`` (see QuotaInfo)."""
        return await inventory.quota(self.az, region, instance_type, use_spot)


def _provisioning(vm: dict[str, Any]) -> str:
    return str((vm.get("properties") or {}).get("provisioningState", "")).lower()


def _styx_public_key() -> str:
    from styx.keys import ensure_ssh_key

    return ensure_ssh_key()[1]
