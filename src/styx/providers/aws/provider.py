"""AWS EC2 through boto3.

Regions searched by list_instances/get_instance ("regions in use"): the ``regions`` listed in
the aws section of config.yaml, plus the default region (AWS_DEFAULT_REGION or the profile's),
plus every region Styx has launched in from this $STYX_HOME (recorded in aws/regions.json).
That is one DescribeInstances per region, run concurrently, and no scan of all 30+ regions.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from typing import Any

import boto3

from styx.config import owner_id, styx_home
from styx.errors import CapacityError, CredentialsError, InstanceNotFoundError, ProviderError
from styx.keys import ensure_ssh_key
from styx.providers.abilities import (
    InstanceFamilies,
    NodeIdentity,
    QuotaInfo,
    QuotaLookup,
    StopStart,
)
from styx.providers.aws.api import Api, ApiStats
from styx.providers.aws.catalog import Catalog
from styx.providers.aws.errors import CREDENTIALS_FIX, translate
from styx.providers.aws.identity import NodeProfile, ensure_node_profile, profile_not_yet_known
from styx.providers.aws.images import Images
from styx.providers.aws.network import Network
from styx.providers.aws.quota import check_quota
from styx.providers.aws.settings import AWSSettings
from styx.providers.aws.states import LIVE_NATIVE_STATES, tag_values_for, to_instance
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

log = logging.getLogger(__name__)


class AWSProvider(StopStart, QuotaLookup, InstanceFamilies, NodeIdentity, CloudProvider):
    provider_type = ProviderType.AWS
    capabilities = Capabilities(
        stop_start=True, spot=True, multi_node=True, open_ports=True, volumes=True
    )

    def __init__(self, session: boto3.Session | None = None, **config: Any) -> None:
        self.settings = AWSSettings.load(**config)
        self.api = Api(self.settings, session)
        self.images = Images(self.api)
        self.network = Network(self.api, self.settings)
        self.catalog = Catalog(self.api)
        self._region_of: dict[str, str] = {}  # Styx id -> region, learned from calls
        self._unused_groups: dict[str, set[str]] = {}  # cluster -> regions of kept groups
        self._node_profile: NodeProfile | bool | None = False  # False: not looked up yet

    def head_config(self, region: str | None) -> dict[str, Any]:
        # The head finds its instances in the cluster's region; credentials come from the
        # instance profile (boto3's chain), never from here.
        return {"regions": [region]} if region else {}

    async def node_profile(self) -> NodeProfile | None:
        """The instance profile given to every node: config's, else Styx's own (made once)."""
        if self.settings.instance_profile:
            return NodeProfile(self.settings.instance_profile, fresh=False)
        if self._node_profile is False:
            self._node_profile = await ensure_node_profile(self.api)
        return self._node_profile if isinstance(self._node_profile, NodeProfile) else None

    @property
    def stats(self) -> ApiStats:
        """API calls by operation and transient retries made (for tests and benchmarks)."""
        return self.api.stats

    # ---- regions in use ------------------------------------------------------------------

    def _launched_regions(self) -> list[str]:
        try:
            return list(json.loads((styx_home() / "aws" / "regions.json").read_text()))
        except (OSError, ValueError):
            return []

    def _remember_region(self, region: str) -> None:
        known = self._launched_regions()
        if region in known:
            return
        path = styx_home() / "aws" / "regions.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(sorted({*known, region})))
        os.replace(tmp, path)

    def regions_in_use(self) -> list[str]:
        ordered = [
            *(self.settings.regions or ()),
            self.api.default_region,
            *self._launched_regions(),
        ]
        return list(dict.fromkeys(ordered))

    # ---- provisioning --------------------------------------------------------------------

    async def provision(self, request: ProvisionRequest) -> Instance:
        return (await self._launch(request, 1))[0]

    async def provision_many(self, request: ProvisionRequest, count: int) -> list[Instance]:
        """One RunInstances with MinCount=MaxCount=count: EC2 makes all of them or none."""
        return await self._launch(request, count)

    async def _launch(self, request: ProvisionRequest, count: int) -> list[Instance]:
        region = request.region or self.api.default_region
        zone = request.zone
        # Idempotency, first line: a retry finds what the first call made, by tag.
        existing = await self._find(region, [request.instance_id], whole_gang=True)
        if existing:
            return sorted(existing, key=lambda i: i.node_rank)
        itype_gpu = request.num_gpus > 0 or _is_gpu_type(request.instance_type)
        owner = owner_id()
        public_key = request.ssh_public_key or ensure_ssh_key()[1]
        image, subnet = await asyncio.gather(
            self.images.resolve(region, request.image_id, itype_gpu, bool(request.disk_size_gb)),
            self.network.subnet(region, zone),
        )
        group_id, key_name = await asyncio.gather(
            self.network.security_group(
                region, subnet.vpc_id, request.cluster_name, owner, request.ports
            ),
            self.network.key_pair(region, public_key, owner),
        )
        tags = [
            {"Key": k, "Value": v}
            for k, v in {
                **request.tags,
                TAG_INSTANCE_ID: request.instance_id,
                TAG_CLUSTER: request.cluster_name,
                TAG_OWNER: owner,
                TAG_NODE_RANK: str(request.node_rank),
                "Name": f"styx-{request.cluster_name}",
            }.items()
        ]
        params: dict[str, Any] = {
            "ImageId": image.image_id,
            "InstanceType": request.instance_type,
            "MinCount": count,
            "MaxCount": count,
            "KeyName": key_name,
            "SubnetId": subnet.subnet_id,
            "SecurityGroupIds": [group_id],
            # Idempotency, second line: EC2 returns the first reservation for a reused token.
            "ClientToken": f"styx-{request.instance_id}-{count}"[:64],
            "TagSpecifications": [
                {"ResourceType": "instance", "Tags": tags},
                {"ResourceType": "volume", "Tags": tags},
            ],
        }
        if request.disk_size_gb:
            params["BlockDeviceMappings"] = [
                {
                    "DeviceName": image.root_device_name,
                    "Ebs": {
                        "VolumeSize": int(request.disk_size_gb),
                        "VolumeType": "gp3",
                        "DeleteOnTermination": True,
                    },
                }
            ]
        if request.use_spot:
            params["InstanceMarketOptions"] = {
                "MarketType": "spot",
                "SpotOptions": {
                    "SpotInstanceType": "one-time",
                    "InstanceInterruptionBehavior": "terminate",
                },
            }
        profile = await self.node_profile()
        if profile:
            key = "Arn" if profile.name.startswith("arn:") else "Name"
            params["IamInstanceProfile"] = {key: profile.name}
        self._remember_region(region)
        for rank in range(count):  # a later get/terminate of these ids asks this region only
            self._region_of[request.for_rank(request.node_rank + rank).instance_id] = region
        try:
            answer = await self._run_instances(region, subnet.zone, params, profile)
        except CapacityError:
            # The next try is most likely another zone of this region: keep the group for it;
            # release_unused() deletes it if the cluster ends up elsewhere.
            self._unused_groups.setdefault(request.cluster_name, set()).add(region)
            raise
        except ProviderError:
            await self._cleanup_after_failed_launch(region, request.cluster_name)
            raise
        made = [
            to_instance(raw, region, self.settings.ssh_user)
            for raw in answer.get("Instances") or []
        ]
        instances = sorted((i for i in made if i is not None), key=lambda i: i.node_rank)
        for inst in instances:
            self._region_of[inst.id] = region
        return instances

    async def _run_instances(
        self, region: str, zone: str | None, params: dict[str, Any], profile: NodeProfile | None
    ) -> dict[str, Any]:
        """RunInstances; right after Styx made its profile, EC2 may not know it for seconds."""
        tries = 6 if profile is not None and profile.fresh else 1
        for attempt in range(1, tries + 1):
            try:
                return await self.api.call("ec2", region, "run_instances", zone=zone, **params)
            except ProviderError as err:
                if attempt == tries or not profile_not_yet_known(err):
                    raise
                await asyncio.sleep(self.settings.profile_wait_s)
        raise AssertionError("unreachable")

    async def release_unused(self, cluster_name: str) -> None:
        for region in sorted(self._unused_groups.pop(cluster_name, set())):
            await self._cleanup_after_failed_launch(region, cluster_name)

    async def _cleanup_after_failed_launch(self, region: str, cluster: str) -> None:
        """A launch that failed leaves no group behind if the cluster has nothing else here."""
        try:
            if not await self._cluster_alive(region, cluster):
                await self.network.delete_security_group(region, cluster)
        except ProviderError as err:
            log.info("aws %s: cleanup after failed launch of %s: %s", region, cluster, err)

    # ---- queries -------------------------------------------------------------------------

    async def _find(self, region: str, ids: list[str], whole_gang: bool = False) -> list[Instance]:
        """Styx instances in ``region`` whose id (derived from tag + launch index) is in ids.

        ``whole_gang``: also every member launched under one of ``ids``, alive ones only (how
        a retried launch finds what its first try made).
        """
        values = sorted({v for i in ids for v in tag_values_for(i)})
        filters = [{"Name": f"tag:{TAG_INSTANCE_ID}", "Values": values}]
        if whole_gang:
            filters.append({"Name": "instance-state-name", "Values": list(LIVE_NATIVE_STATES)})
        raws = await self.api.reservations(region, Filters=filters)
        found = [to_instance(r, region, self.settings.ssh_user) for r in raws]
        return [
            i
            for i in found
            if i is not None and (i.id in ids or (whole_gang and i.tags[TAG_INSTANCE_ID] in ids))
        ]

    async def list_instances(self) -> list[Instance]:
        regions = self.regions_in_use()
        results = await asyncio.gather(
            *(self._list_region(r) for r in regions), return_exceptions=True
        )
        instances: list[Instance] = []
        for region, result in zip(regions, results, strict=True):
            if isinstance(result, BaseException):
                # A region we cannot read is an error, not an empty list: callers use this
                # to find leaks and rebuild state, and a silent gap would mislead them.
                raise translate(result, region=region)
            instances.extend(result)
        return instances

    async def _list_region(self, region: str) -> list[Instance]:
        raws = await self.api.reservations(
            region, Filters=[{"Name": "tag-key", "Values": [TAG_INSTANCE_ID]}]
        )
        found = [to_instance(r, region, self.settings.ssh_user) for r in raws]
        for inst in found:
            if inst is not None:
                self._region_of[inst.id] = region
        return [i for i in found if i is not None]

    async def get_instance(self, instance_id: InstanceId) -> Instance | None:
        known = self._region_of.get(instance_id)
        regions = [known] if known else self.regions_in_use()
        results = await asyncio.gather(*(self._find(r, [instance_id]) for r in regions))
        matches = [i for found in results for i in found]
        if not matches:  # the known region is where it was launched: instances never move
            return None
        # A live one wins over a terminated one that reused the id (cannot happen via Styx).
        best = max(matches, key=lambda i: (i.state.is_alive, i.launched_at or 0))
        self._region_of[instance_id] = best.region or ""
        return best

    async def _require(self, instance_id: InstanceId) -> Instance:
        inst = await self.get_instance(instance_id)
        if inst is None or inst.state is InstanceState.TERMINATED:
            raise InstanceNotFoundError(
                f"no AWS instance with Styx id {instance_id}",
                provider="aws",
                region=inst.region if inst else None,
                native_code="InvalidInstanceID.NotFound",
            )
        return inst

    async def _cluster_alive(self, region: str, cluster: str) -> list[dict[str, Any]]:
        return await self.api.reservations(
            region,
            Filters=[
                {"Name": f"tag:{TAG_CLUSTER}", "Values": [cluster]},
                {"Name": "tag-key", "Values": [TAG_INSTANCE_ID]},
                {"Name": "instance-state-name", "Values": [*LIVE_NATIVE_STATES, "shutting-down"]},
            ],
        )

    # ---- lifecycle -----------------------------------------------------------------------

    async def terminate(self, instance_id: InstanceId) -> None:
        inst = await self.get_instance(instance_id)
        if inst is None or inst.native_state == "terminated" or not inst.native_id:
            return
        region = inst.region or self.api.default_region
        try:
            await self.api.call(
                "ec2", region, "terminate_instances", zone=inst.zone, InstanceIds=[inst.native_id]
            )
        except InstanceNotFoundError:
            return
        await self._delete_group_if_last(region, inst.cluster_name)
        try:  # best effort, as for the group: a key pair left over never fails terminate
            await self.network.delete_unused_key_pairs(region, owner_id())
        except ProviderError as err:
            log.info("aws %s: key pairs not cleaned up: %s", region, err)

    async def _delete_group_if_last(self, region: str, cluster: str) -> None:
        """Best effort: once the cluster's last instance is gone, delete its security group.

        EC2 refuses (DependencyViolation) while an instance is still shutting down, so wait
        for those, bounded by ``sg_cleanup_wait_s``. A failure here never fails terminate.
        """
        deadline = time.monotonic() + self.settings.sg_cleanup_wait_s
        try:
            while True:
                remaining = await self._cluster_alive(region, cluster)
                if any(r["State"]["Name"] != "shutting-down" for r in remaining):
                    return  # other nodes still use the group
                if not remaining and await self.network.delete_security_group(region, cluster):
                    return
                if time.monotonic() > deadline:
                    log.info("aws %s: gave up deleting the security group of %s", region, cluster)
                    return
                await asyncio.sleep(5.0)
        except ProviderError as err:
            log.info("aws %s: security group of %s not deleted: %s", region, cluster, err)

    async def stop(self, instance_id: InstanceId) -> None:
        inst = await self._require(instance_id)
        if inst.native_state in ("stopping", "stopped"):
            return
        await self.api.call(
            "ec2",
            inst.region or self.api.default_region,
            "stop_instances",
            zone=inst.zone,
            InstanceIds=[inst.native_id],
        )

    async def start(self, instance_id: InstanceId) -> None:
        inst = await self._require(instance_id)
        if inst.native_state in ("pending", "running"):
            return
        await self.api.call(
            "ec2",
            inst.region or self.api.default_region,
            "start_instances",
            zone=inst.zone,
            InstanceIds=[inst.native_id],
        )

    # ---- credentials, catalog, quota -----------------------------------------------------

    async def _identity(self) -> dict[str, Any]:
        return await self.api.call("sts", self.api.default_region, "get_caller_identity")

    async def is_available(self) -> bool:
        try:
            await self._identity()
        except ProviderError:
            return False
        return True

    async def check(self) -> str:
        try:
            who = await self._identity()
        except CredentialsError as err:
            return f"disabled: {err}"
        except ProviderError as err:
            return f"disabled: cannot reach AWS STS ({err}); {CREDENTIALS_FIX}"
        return (
            f"enabled: account {who.get('Account')} as {who.get('Arn')} "
            f"(region {self.api.default_region})"
        )

    async def list_instance_types(self, region: str | None = None) -> list[InstanceType]:
        return await self.catalog.instance_types(region or self.api.default_region)

    async def list_regions(self) -> list[str]:
        """Every enabled region; the regions in use come first (the likeliest to be wanted)."""
        regions = await self.catalog.regions()
        preferred = [r for r in self.regions_in_use() if r in regions]
        return preferred + [r for r in regions if r not in preferred]

    async def quota(self, region: str, instance_type: str, use_spot: bool = False) -> QuotaInfo:
        """The vCPU quota that governs ``instance_type`` in ``region`` (unknown if no data)."""
        return await check_quota(self.api, self.catalog, region, instance_type, use_spot)

    def instance_family(self, instance_type: str) -> str:
        """'p4d.24xlarge' -> 'p4d' (EC2 names are '<family>.<size>')."""
        return instance_type.split(".", 1)[0]


def _is_gpu_type(name: str) -> bool:
    """GPU families get the Deep Learning AMI by default (drivers included)."""
    family = name.split(".", 1)[0].lower()
    return family.startswith(("g", "p"))  # g4dn..g7e, gr6, p3dn..p6: all NVIDIA
