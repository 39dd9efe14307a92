"""EC2 rules moto does not check by itself, enforced by tests/fakes/aws/strict.py.

Plain boto3 against the moto server, one malformed call per rule, each expecting EC2's
InvalidParameterValue. Sources: the EC2 API reference pages named in strict.py (RunInstances
ClientToken, Tag, TagSpecification, CreateSecurityGroup, ImportKeyPair).
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.aws.conftest import IMAGE, INSTANCE_TYPE

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl t"


def run_instances(ec2: Any, **kwargs: Any) -> Any:
    return ec2.run_instances(
        ImageId=IMAGE, InstanceType=INSTANCE_TYPE, MinCount=1, MaxCount=1, **kwargs
    )


def spec(*tags: tuple[str, str], rtype: str = "instance") -> dict[str, Any]:
    return {"ResourceType": rtype, "Tags": [{"Key": k, "Value": v} for k, v in tags]}


def rejected(call: Any) -> str:
    with pytest.raises(ClientError) as info:
        call()
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"
    return str(info.value.response["Error"]["Message"])


def test_well_formed_calls_pass(ec2: Any) -> None:
    made = run_instances(
        ec2, ClientToken="t" * 64, TagSpecifications=[spec(("k" * 127, "v" * 256))]
    )
    assert made["Instances"]
    ec2.create_security_group(GroupName="styx-ok", Description="d")
    ec2.import_key_pair(KeyName="styx-ok", PublicKeyMaterial=KEY.encode())


def test_client_token_over_64_characters(ec2: Any) -> None:
    assert "clientToken" in rejected(lambda: run_instances(ec2, ClientToken="t" * 65))


@pytest.mark.parametrize(
    "tags",
    [
        [("k" * 128, "v")],
        [("k", "v" * 257)],
        [("aws:reserved", "v")],
        [("dup", "a"), ("dup", "b")],
    ],
)
def test_tag_syntax(ec2: Any, tags: list[tuple[str, str]]) -> None:
    rejected(lambda: run_instances(ec2, TagSpecifications=[spec(*tags)]))
    instance = run_instances(ec2)["Instances"][0]["InstanceId"]
    rejected(
        lambda: ec2.create_tags(
            Resources=[instance], Tags=[{"Key": k, "Value": v} for k, v in tags]
        )
    )


def test_tag_specification_resource_types(ec2: Any) -> None:
    rejected(lambda: run_instances(ec2, TagSpecifications=[spec(("k", "v"), rtype="instancez")]))
    rejected(lambda: run_instances(ec2, TagSpecifications=[spec(("k", "v")), spec(("j", "v"))]))
    rejected(
        lambda: ec2.create_security_group(
            GroupName="g", Description="d", TagSpecifications=[spec(("k", "v"))]
        )
    )


def test_security_group_and_key_pair_names(ec2: Any) -> None:
    rejected(lambda: ec2.create_security_group(GroupName="sg-looks-like-an-id", Description="d"))
    rejected(lambda: ec2.create_security_group(GroupName="g" * 256, Description="d"))
    rejected(lambda: ec2.import_key_pair(KeyName="k" * 256, PublicKeyMaterial=KEY.encode()))
