"""The nodes' identity: an IAM role and instance profile, made once per account.

The head's agent stops or terminates its own cluster (autostop, spending caps) with the
credentials EC2 gives the instance through this profile. The role may only stop and terminate
instances that carry the Styx instance-id tag, delete security groups that carry the Styx
cluster tag, and describe instances (DescribeInstances cannot be scoped to tags); nothing else.
``aws.instance_profile`` in config.yaml names your own profile instead (a name or an ARN), and
then Styx creates nothing.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from styx.errors import ProviderError
from styx.providers.aws.api import Api
from styx.providers.instance import TAG_CLUSTER, TAG_INSTANCE_ID

log = logging.getLogger(__name__)

NODE_ROLE = "styx-node"
NODE_PROFILE = "styx-node"
IAM_REGION = "us-east-1"  # IAM is global; its endpoint lives in us-east-1

TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}

NODE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "StopOwnCluster",
            "Effect": "Allow",
            "Action": ["ec2:StopInstances", "ec2:TerminateInstances"],
            "Resource": "*",
            "Condition": {"Null": {f"aws:ResourceTag/{TAG_INSTANCE_ID}": "false"}},
        },
        {
            # After an autodown, the cluster's security group (tagged with its name) goes too.
            "Sid": "DeleteOwnClusterGroup",
            "Effect": "Allow",
            "Action": ["ec2:DeleteSecurityGroup", "ec2:DescribeSecurityGroups"],
            "Resource": "*",
            "Condition": {"Null": {f"aws:ResourceTag/{TAG_CLUSTER}": "false"}},
        },
        {
            "Sid": "FindOwnCluster",
            "Effect": "Allow",
            "Action": "ec2:DescribeInstances",
            "Resource": "*",
        },
    ],
}


@dataclass(frozen=True)
class NodeProfile:
    name: str
    fresh: bool  # created just now: EC2 may not know it for a few seconds


async def ensure_node_profile(api: Api) -> NodeProfile | None:
    """Styx's instance profile, created with its role if missing.

    None when it cannot be made (no IAM rights): the cluster then launches without an identity
    and its head says so in `styx status` when it has to act.
    """
    try:
        await api.call("iam", IAM_REGION, "get_instance_profile", InstanceProfileName=NODE_PROFILE)
        return NodeProfile(NODE_PROFILE, fresh=False)
    except ProviderError as err:
        if err.native_code != "NoSuchEntity":
            log.warning("aws: cannot read instance profile %s: %s", NODE_PROFILE, err)
            return None
    try:
        await _create(api)
    except ProviderError as err:
        log.warning("aws: cannot create the node identity (set aws.instance_profile): %s", err)
        return None
    return NodeProfile(NODE_PROFILE, fresh=True)


def profile_not_yet_known(err: ProviderError) -> bool:
    """EC2's answer to a profile IAM has made but not yet propagated."""
    return err.native_code == "InvalidParameterValue" and "iamInstanceProfile" in str(err)


async def _create(api: Api) -> None:
    try:
        await api.call(
            "iam", IAM_REGION, "create_role",
            RoleName=NODE_ROLE,
            AssumeRolePolicyDocument=json.dumps(TRUST_POLICY),
            Description="Styx cluster heads: stop/terminate their own Styx-tagged instances",
        )  # fmt: skip
    except ProviderError as err:
        if err.native_code != "EntityAlreadyExists":
            raise
    await api.call(
        "iam", IAM_REGION, "put_role_policy",
        RoleName=NODE_ROLE, PolicyName="styx-node-autostop",
        PolicyDocument=json.dumps(NODE_POLICY),
    )  # fmt: skip
    try:
        await api.call(
            "iam", IAM_REGION, "create_instance_profile", InstanceProfileName=NODE_PROFILE
        )
        await api.call(
            "iam", IAM_REGION, "add_role_to_instance_profile",
            InstanceProfileName=NODE_PROFILE, RoleName=NODE_ROLE,
        )  # fmt: skip
    except ProviderError as err:
        if err.native_code not in ("EntityAlreadyExists", "LimitExceeded"):
            raise
