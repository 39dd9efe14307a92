"""Where instances attach: VPC/subnet per zone, one security group per cluster, the key pair.

Every lookup is cached in the provider instance so that a second launch costs no extra calls.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from dataclasses import dataclass, field

from styx.errors import InvalidRequestError, ProviderError
from styx.providers.aws.api import Api
from styx.providers.aws.settings import AWSSettings
from styx.providers.instance import TAG_CLUSTER, TAG_OWNER

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Subnet:
    subnet_id: str
    vpc_id: str
    zone: str


@dataclass
class SecurityGroup:
    group_id: str
    open_ports: set[int] = field(default_factory=set)


# Instance states in which an instance may still need its key pair (start again after stop).
KEY_USER_STATES = ("pending", "running", "stopping", "stopped")


def security_group_name(cluster: str) -> str:
    return f"styx-{cluster}"


def key_pair_name(public_key: str) -> str:
    """A name derived from the key's fingerprint, so each distinct key is imported once."""
    parts = public_key.split()
    blob = base64.b64decode(parts[1]) if len(parts) > 1 else public_key.encode()
    return f"styx-{hashlib.sha256(blob).hexdigest()[:16]}"


class Network:
    def __init__(self, api: Api, settings: AWSSettings) -> None:
        self.api = api
        self.settings = settings
        self._subnets: dict[str, list[Subnet]] = {}
        self._groups: dict[tuple[str, str, str], SecurityGroup] = {}
        self._keys: dict[tuple[str, str], str] = {}
        self._locks: dict[tuple[str, ...], asyncio.Lock] = {}

    def _lock(self, *key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    # ---- VPC and subnets -------------------------------------------------------------------

    async def subnet(self, region: str, zone: str | None) -> Subnet:
        """A subnet in ``zone`` (any zone when None) of the configured or default VPC."""
        async with self._lock("subnets", region):
            if region not in self._subnets:
                self._subnets[region] = await self._discover(region)
        subnets = self._subnets[region]
        for s in subnets:
            if zone is None or s.zone == zone:
                return s
        zones = ", ".join(sorted({s.zone for s in subnets}))
        raise InvalidRequestError(
            f"no usable subnet in zone {zone}; subnets exist in: {zones}",
            provider="aws",
            region=region,
            zone=zone,
            native_code="InvalidSubnet.NotFound",
        )

    async def _discover(self, region: str) -> list[Subnet]:
        s = self.settings
        vpc_filter = (
            {"Name": "tag:Name", "Values": [s.vpc_name]}
            if s.vpc_name
            else {"Name": "isDefault", "Values": ["true"]}
        )
        vpcs = (await self.api.call("ec2", region, "describe_vpcs", Filters=[vpc_filter]))["Vpcs"]
        if not vpcs:
            what = f"VPC named '{s.vpc_name}'" if s.vpc_name else "default VPC"
            raise InvalidRequestError(
                f"no {what} in {region}; create one or set aws.vpc_name in config.yaml",
                provider="aws",
                region=region,
                native_code="InvalidVpcID.NotFound",
            )
        vpc_id = vpcs[0]["VpcId"]
        filters = [{"Name": "vpc-id", "Values": [vpc_id]}]
        if s.subnet_names:
            filters.append({"Name": "tag:Name", "Values": list(s.subnet_names)})
        raw = await self.api.pages("ec2", region, "describe_subnets", "Subnets", Filters=filters)
        if not s.subnet_names:
            # In the default VPC only the default subnets hand out public IPs on launch.
            raw = [r for r in raw if r.get("DefaultForAz", True)] or raw
        subnets = [Subnet(r["SubnetId"], vpc_id, r["AvailabilityZone"]) for r in raw]
        if not subnets:
            raise InvalidRequestError(
                f"VPC {vpc_id} has no matching subnets in {region}",
                provider="aws",
                region=region,
                native_code="InvalidSubnet.NotFound",
            )
        return sorted(subnets, key=lambda x: x.zone)

    # ---- security groups -------------------------------------------------------------------

    async def security_group(
        self, region: str, vpc_id: str, cluster: str, owner: str, ports: tuple[int, ...]
    ) -> str:
        """The cluster's group, created if needed, opening 22 and ``ports`` (and nothing else)."""
        wanted = {22, *ports}
        key = (region, vpc_id, cluster)
        async with self._lock("sg", *key):
            group = self._groups.get(key) or await self._find_or_create(
                region, vpc_id, cluster, owner
            )
            self._groups[key] = group
            missing = sorted(wanted - group.open_ports)
            if missing:
                await self._authorize(region, group.group_id, missing)
                group.open_ports.update(missing)
            return group.group_id

    async def _find_or_create(
        self, region: str, vpc_id: str, cluster: str, owner: str
    ) -> SecurityGroup:
        existing = await self._describe(region, vpc_id, cluster)
        if existing:
            return _group_of(existing[0])
        name = security_group_name(cluster)
        tags = [
            {"Key": TAG_CLUSTER, "Value": cluster},
            {"Key": TAG_OWNER, "Value": owner},
            {"Key": "Name", "Value": name},
        ]
        made = await self.api.call(
            "ec2",
            region,
            "create_security_group",
            GroupName=name,
            VpcId=vpc_id,
            Description=f"Styx cluster {cluster}: SSH and the task's ports",
            TagSpecifications=[{"ResourceType": "security-group", "Tags": tags}],
        )
        # A new group allows all egress and no ingress: exactly the start we want.
        return SecurityGroup(made["GroupId"])

    async def _describe(self, region: str, vpc_id: str, cluster: str) -> list[dict]:
        filters = [
            {"Name": "group-name", "Values": [security_group_name(cluster)]},
            {"Name": "vpc-id", "Values": [vpc_id]},
        ]
        found = await self.api.call("ec2", region, "describe_security_groups", Filters=filters)
        return found.get("SecurityGroups") or []

    async def _authorize(self, region: str, group_id: str, ports: list[int]) -> None:
        perms = [
            {
                "IpProtocol": "tcp",
                "FromPort": p,
                "ToPort": p,
                "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "styx"}],
            }
            for p in ports
        ]
        try:
            await self.api.call(
                "ec2",
                region,
                "authorize_security_group_ingress",
                GroupId=group_id,
                IpPermissions=perms,
            )
        except ProviderError as err:
            if err.native_code != "InvalidPermission.Duplicate":  # another launch won the race
                raise

    async def delete_security_group(self, region: str, cluster: str) -> bool:
        """Delete the cluster's group(s) in ``region``; True when none is left."""
        filters = [
            {"Name": "group-name", "Values": [security_group_name(cluster)]},
            {"Name": f"tag:{TAG_CLUSTER}", "Values": [cluster]},
        ]
        found = await self.api.call("ec2", region, "describe_security_groups", Filters=filters)
        ok = True
        for g in found.get("SecurityGroups") or []:
            self._groups.pop((region, g["VpcId"], cluster), None)
            try:
                await self.api.call("ec2", region, "delete_security_group", GroupId=g["GroupId"])
            except ProviderError as err:
                if err.native_code != "InvalidGroup.NotFound":
                    log.info("aws %s: security group %s kept: %s", region, g["GroupId"], err)
                    ok = False
        return ok

    # ---- key pairs ---------------------------------------------------------------------------

    async def key_pair(self, region: str, public_key: str, owner: str) -> str:
        """Import the Styx public key into ``region`` once; return the key pair's name."""
        name = key_pair_name(public_key)
        async with self._lock("key", region):
            if (region, name) in self._keys:
                return name
            try:
                await self.api.call(
                    "ec2",
                    region,
                    "import_key_pair",
                    KeyName=name,
                    PublicKeyMaterial=public_key.encode(),
                    TagSpecifications=[
                        {"ResourceType": "key-pair", "Tags": [{"Key": TAG_OWNER, "Value": owner}]}
                    ],
                )
            except ProviderError as err:
                # Same name = same fingerprint = the same key, imported earlier.
                if err.native_code != "InvalidKeyPair.Duplicate":
                    raise
            self._keys[(region, name)] = name
            return name

    async def delete_unused_key_pairs(self, region: str, owner: str) -> None:
        """Delete the key pairs Styx imported for ``owner`` in ``region`` that no instance
        uses any more (pending to stopped: a stopped node may start again). Instances keep
        working without their key pair: EC2 copies the public key into them at first boot."""
        async with self._lock("key", region):
            pairs = await self.api.call(
                "ec2",
                region,
                "describe_key_pairs",
                Filters=[{"Name": f"tag:{TAG_OWNER}", "Values": [owner]}],
            )
            for pair in pairs.get("KeyPairs") or []:
                name = pair["KeyName"]
                if not name.startswith("styx-"):
                    continue
                users = await self.api.reservations(
                    region,
                    Filters=[
                        {"Name": "key-name", "Values": [name]},
                        {"Name": "instance-state-name", "Values": list(KEY_USER_STATES)},
                    ],
                )
                if users:
                    continue
                await self.api.call("ec2", region, "delete_key_pair", KeyName=name)
                self._keys.pop((region, name), None)


def _group_of(raw: dict) -> SecurityGroup:
    ports = {
        int(p["FromPort"])
        for p in raw.get("IpPermissions") or []
        if p.get("IpProtocol") == "tcp"
        and p.get("FromPort") == p.get("ToPort")
        and any(r.get("CidrIp") == "0.0.0.0/0" for r in p.get("IpRanges") or [])
    }
    return SecurityGroup(raw["GroupId"], ports)
