"""Google Compute Engine provider (google-cloud-compute, REST transport).

* Instance name ``styx-<styx id>``; insert requestId is a UUID derived from the Styx id, so a
  retried provision dedupes server-side, and 409 alreadyExists is answered by fetching.
* Instances are found by the ``styx-id`` label through ``aggregated/instances`` (one call
  across zones); the zone is remembered to make later calls direct.
* Instance types follow :mod:`styx.providers.gcp.machines` (``n1-standard-8+nvidia-tesla-t4:1``).
* Endpoint override (``api_endpoint`` / STYX_GCP_API_ENDPOINT) for private endpoints or PSC;
  credentials from ``credentials_file`` (a service-account key) or Application Default
  Credentials.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from styx.config import owner_id
from styx.errors import (
    CredentialsError,
    InstanceNotFoundError,
    InvalidRequestError,
    ProviderError,
)
from styx.providers.abilities import (
    InstanceFamilies,
    NodeIdentity,
    QuotaInfo,
    QuotaLookup,
    StopStart,
)
from styx.providers.base import Capabilities, CloudProvider, ProvisionRequest
from styx.providers.gcp import auth as gauth
from styx.providers.gcp import naming
from styx.providers.gcp.catalog import all_zones_catalog, zones_catalog
from styx.providers.gcp.clients import GCEApi
from styx.providers.gcp.convert import build_instance, to_instance
from styx.providers.gcp.machines import build_instance_types, parse_instance_type
from styx.providers.gcp.network import delete_firewall, ensure_firewall
from styx.providers.gcp.quota import binding, needed_metrics, region_quotas
from styx.providers.gcp.settings import GCPSettings
from styx.providers.instance import (
    TAG_CLUSTER,
    TAG_INSTANCE_ID,
    Instance,
    InstanceId,
    InstanceType,
    ProviderType,
)
from styx.providers.sync import run_sync

__all__ = ["GCPProvider", "QuotaInfo"]


class GCPProvider(StopStart, QuotaLookup, InstanceFamilies, NodeIdentity, CloudProvider):
    provider_type = ProviderType.GCP
    capabilities = Capabilities(stop_start=True, spot=True, multi_node=True, open_ports=True)

    def __init__(self, **config: Any) -> None:
        self.settings = GCPSettings.load(config)
        self._api: GCEApi | None = None
        self._api_lock = asyncio.Lock()
        self._zones_of: dict[str, str] = {}  # styx id -> zone, to skip the aggregated lookup

    def head_config(self, region: str | None) -> dict[str, Any]:
        # The head authenticates as the node's service account (metadata server); it needs the
        # project and a private endpoint if the client uses one, never the client's key file.
        out: dict[str, Any] = {"default_region": region} if region else {}
        for key in ("project_id", "api_endpoint"):
            value = getattr(self.settings, key)
            if value:
                out[key] = value
        if "project_id" not in out and self._api is not None:
            out["project_id"] = self._api.project  # the key file's project, resolved at launch
        return out

    async def api(self) -> GCEApi:
        """The clients, built on first use (credentials resolved then, off the loop)."""
        if self._api is not None:  # fast path: never touch the lock (bound to one loop) again
            return self._api
        async with self._api_lock:
            if self._api is None:
                resolved = await run_sync(gauth.resolve, self.settings)
                self._api = await run_sync(GCEApi, self.settings, resolved)
            return self._api

    # ---- availability --------------------------------------------------------------------

    async def is_available(self) -> bool:
        try:
            await self.api()
        except Exception:  # noqa: BLE001 - the contract: never raise for missing credentials
            return False
        return True

    async def check(self) -> str:
        try:
            api = await self.api()
            probe = api.compute.ListRegionsRequest(project=api.project, max_results=1)
            # One page is enough to prove the credentials work on this project.
            await api.must(
                lambda: api.regions.list(request=probe, retry=None, timeout=api.http_timeout)
            )
        except ProviderError as exc:
            return f"gcp: disabled: {exc.message}" + (
                f" [{exc.native_code}]"
                if exc.native_code and not isinstance(exc, CredentialsError)
                else ""
            )
        except Exception as exc:  # noqa: BLE001 - check() reports, never raises
            return f"gcp: disabled: {exc}"
        return f"gcp: enabled (project {api.project}, account {api.account})"

    async def close(self) -> None:
        if self._api is not None:
            api, self._api = self._api, None
            await run_sync(api.close)

    # ---- placement -----------------------------------------------------------------------

    async def _zones(self, api: GCEApi, region: str | None = None) -> list[str]:
        zones = await api.must(
            lambda: list(api.zones.list(project=api.project, retry=None, timeout=api.http_timeout))
        )
        names = [z.name for z in zones if z.status in ("UP", "")]
        if region is not None:
            names = [z for z in names if z.rsplit("-", 1)[0] == region]
        return sorted(names)

    async def _placement(self, api: GCEApi, request: ProvisionRequest) -> tuple[str, str]:
        if request.zone:
            return request.zone.rsplit("-", 1)[0], request.zone
        region = request.region or self.settings.default_region
        zones = await self._zones(api, region)
        if not zones:
            raise InvalidRequestError(
                f"region '{region}' has no available zones",
                provider="gcp",
                region=region,
                native_code="NO_ZONES",
            )
        return region, zones[0]

    # ---- lifecycle -----------------------------------------------------------------------

    async def provision(self, request: ProvisionRequest) -> Instance:
        api = await self.api()
        spec = parse_instance_type(
            request.instance_type, request.num_gpus, request.accelerator_name
        )
        region, zone = await self._placement(api, request)
        key = request.ssh_public_key or (await run_sync(_styx_public_key))
        body = build_instance(
            api.compute, request, spec, zone, self.settings, owner_id(), key.strip()
        )
        name = body.name
        await ensure_firewall(api, request.cluster_name, request.ports)
        insert = api.compute.InsertInstanceRequest(
            project=api.project,
            zone=zone,
            instance_resource=body,
            request_id=naming.insert_request_id(request.instance_id, zone),
        )
        op = await api.call(
            lambda: api.instances.insert_unary(
                request=insert, retry=None, timeout=api.http_timeout
            ),
            region=region,
            zone=zone,
            creating=True,
            tolerate=(409,),
        )
        if op is not None:  # None: 409 alreadyExists, i.e. an earlier try made it
            try:
                await api.wait_zone_op(op, zone=zone, region=region, creating=True)
            except Exception:
                await self._delete_quietly(api, zone, name)  # "on error nothing is left running"
                raise
        self._zones_of[request.instance_id] = zone
        gi = await self._get_named(api, zone, name)
        if gi is None:
            raise InstanceNotFoundError(
                f"instance {name} vanished right after insert",
                provider="gcp",
                region=region,
                zone=zone,
                native_code="notFound",
            )
        return to_instance(gi, self.settings.ssh_user)

    async def _delete_quietly(self, api: GCEApi, zone: str, name: str) -> None:
        try:
            op = await api.call(
                lambda: api.instances.delete_unary(
                    project=api.project,
                    zone=zone,
                    instance=name,
                    retry=None,
                    timeout=api.http_timeout,
                ),
                zone=zone,
                tolerate=(404,),
            )
            if op is not None:
                await api.wait_zone_op(op, zone=zone, region=None)
        except Exception:  # noqa: BLE001 - cleanup after a failure must not mask it
            pass

    async def _get_named(self, api: GCEApi, zone: str, name: str) -> Any | None:
        return await api.call(
            lambda: api.instances.get(
                project=api.project,
                zone=zone,
                instance=name,
                retry=None,
                timeout=api.http_timeout,
            ),
            zone=zone,
            tolerate=(404,),
        )

    async def _aggregated(self, api: GCEApi, filter_: str) -> list[Any]:
        request = api.compute.AggregatedListInstancesRequest(project=api.project, filter=filter_)

        def fetch() -> list[Any]:
            pager = api.instances.aggregated_list(
                request=request, retry=None, timeout=api.http_timeout
            )
            return [gi for _, scoped in pager for gi in scoped.instances]

        return await api.must(fetch)

    async def _find(self, api: GCEApi, instance_id: InstanceId) -> Any | None:
        zone = self._zones_of.get(instance_id)
        if zone is not None:
            gi = await self._get_named(api, zone, naming.instance_name(instance_id))
            if gi is not None:
                return gi
            self._zones_of.pop(instance_id, None)
        found = await self._aggregated(
            api, f"labels.{TAG_INSTANCE_ID}={naming.label_value(instance_id)}"
        )
        if not found:
            return None
        gi = found[0]
        self._zones_of[instance_id] = naming.last_segment(gi.zone)
        return gi

    async def list_instances(self) -> list[Instance]:
        api = await self.api()
        found = await self._aggregated(api, f"labels.{TAG_INSTANCE_ID}:*")
        return [to_instance(gi, self.settings.ssh_user) for gi in found]

    async def get_instance(self, instance_id: InstanceId) -> Instance | None:
        api = await self.api()
        gi = await self._find(api, instance_id)
        return None if gi is None else to_instance(gi, self.settings.ssh_user)

    async def terminate(self, instance_id: InstanceId) -> None:
        api = await self.api()
        gi = await self._find(api, instance_id)
        if gi is None:
            return
        inst = to_instance(gi, self.settings.ssh_user)
        await self._delete_checked(api, inst)
        self._zones_of.pop(instance_id, None)
        # The last node of a cluster to go takes the cluster's firewall rule with it.
        others = await self._aggregated(
            api, f"labels.{TAG_CLUSTER}={naming.label_value(inst.cluster_name)}"
        )
        if not [o for o in others if o.name != gi.name]:
            await delete_firewall(api, inst.cluster_name)

    async def _delete_checked(self, api: GCEApi, inst: Instance) -> None:
        zone = inst.zone or ""
        op = await api.call(
            lambda: api.instances.delete_unary(
                project=api.project,
                zone=zone,
                instance=inst.native_id,
                retry=None,
                timeout=api.http_timeout,
            ),
            region=inst.region,
            zone=zone,
            tolerate=(404,),
        )
        if op is not None:
            await api.wait_zone_op(op, zone=zone, region=inst.region)

    async def stop(self, instance_id: InstanceId) -> None:
        await self._power(instance_id, "stop", skip_when=("TERMINATED", "SUSPENDED"))

    async def start(self, instance_id: InstanceId) -> None:
        await self._power(instance_id, "start", skip_when=("RUNNING", "PROVISIONING", "STAGING"))

    async def _power(self, instance_id: InstanceId, verb: str, skip_when: tuple[str, ...]) -> None:
        api = await self.api()
        gi = await self._find(api, instance_id)
        if gi is None:
            raise InstanceNotFoundError(
                f"no GCE instance for styx id {instance_id}",
                provider="gcp",
                native_code="notFound",
            )
        if gi.status in skip_when:
            return
        zone = naming.last_segment(gi.zone)
        region = zone.rsplit("-", 1)[0]
        method = getattr(api.instances, f"{verb}_unary")
        op = await api.must(
            lambda: method(
                project=api.project,
                zone=zone,
                instance=gi.name,
                retry=None,
                timeout=api.http_timeout,
            ),
            region=region,
            zone=zone,
        )
        await api.wait_zone_op(op, zone=zone, region=region)

    # ---- catalog -------------------------------------------------------------------------

    async def list_regions(self) -> list[str]:
        api = await self.api()
        regions = await api.must(
            lambda: list(
                api.regions.list(project=api.project, retry=None, timeout=api.http_timeout)
            )
        )
        return sorted(r.name for r in regions if r.status in ("UP", ""))

    async def list_instance_types(self, region: str | None = None) -> list[InstanceType]:
        """Machine types of the region's zones (all regions when None); prices are left None."""
        api = await self.api()
        if region is not None:
            machines, accs = await zones_catalog(api, await self._zones(api, region))
            return build_instance_types(region, machines, accs)
        machines, accs = await all_zones_catalog(api)
        out: list[InstanceType] = []
        for reg in sorted({m.zone.rsplit("-", 1)[0] for m in machines}):
            out.extend(
                build_instance_types(
                    reg,
                    [m for m in machines if m.zone.rsplit("-", 1)[0] == reg],
                    [a for a in accs if a.zone.rsplit("-", 1)[0] == reg],
                )
            )
        return out

    # ---- quota ---------------------------------------------------------------------------

    def instance_family(self, instance_type: str) -> str:
        """'n2-standard-8' -> 'n2', 'a2-highgpu-8g' -> 'a2' (GCE names are '<series>-...')."""
        return instance_type.split("-", 1)[0]

    async def quota(self, region: str, instance_type: str, use_spot: bool = False) -> QuotaInfo:
        """The binding regional quota for one ``instance_type`` (``fits`` says if it fits)."""
        api = await self.api()
        spec = parse_instance_type(instance_type)
        zones = await self._zones(api, region)
        if not zones:
            raise InvalidRequestError(
                f"region '{region}' has no available zones",
                provider="gcp",
                region=region,
                native_code="NO_ZONES",
            )
        mt = await api.must(
            lambda: api.machine_types.get(
                project=api.project,
                zone=zones[0],
                machine_type=spec.machine_type,
                retry=None,
                timeout=api.http_timeout,
            ),
            region=region,
            zone=zones[0],
            creating=True,
        )
        gpu, gpus = spec.accelerator, spec.accelerator_count
        if mt.accelerators:
            bundled = mt.accelerators[0]
            gpu, gpus = bundled.guest_accelerator_type, bundled.guest_accelerator_count
        needs = needed_metrics(spec, mt.guest_cpus, gpu, gpus, use_spot)
        return binding(region, instance_type, await region_quotas(api, region), needs)


_KEY_LOCK = threading.Lock()


def _styx_public_key() -> str:
    """The Styx public key; serialised because a gang's nodes ask for it at the same moment
    and ensure_ssh_key() writes the pair through one fixed temporary file name."""
    from styx.keys import ensure_ssh_key

    with _KEY_LOCK:
        return ensure_ssh_key()[1]
