"""EC2 request rules moto does not enforce, added to the in-process moto server.

Probed with plain boto3 against moto (see tests/aws/test_moto_strict.py): moto accepts a
ClientToken over 64 characters, tag keys over 127 and values over 256 characters, ``aws:`` keys,
duplicate tag keys, unknown or repeated TagSpecification resource types, security group names
starting ``sg-`` or over 255 characters, and key pair names over 255 characters. Real EC2
refuses each with ``InvalidParameterValue``. Like faults.py this wraps moto's *response* layer
(what any client reaches over HTTP), never Styx code.

Sources: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RunInstances.html
(ClientToken: at most 64 ASCII characters), API_Tag.html (key: at most 127 characters, not
``aws:``; value: at most 256), API_TagSpecification.html (ResourceType values),
API_CreateSecurityGroup.html (GroupName: up to 255 characters, cannot start with ``sg-``),
API_ImportKeyPair.html (KeyName: up to 255 ASCII characters).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.responses import EC2Response

# The TagSpecification resource types of the calls Styx makes (API_TagSpecification.html).
TAGGABLE = {
    "RunInstances": {"instance", "volume", "network-interface", "spot-instances-request"},
    "CreateSecurityGroup": {"security-group"},
    "ImportKeyPair": {"key-pair"},
    "CreateKeyPair": {"key-pair"},
}
_SPEC = re.compile(r"^TagSpecification\.(\d+)\.ResourceType$")
_SPEC_TAG = re.compile(r"^TagSpecification\.(\d+)\.Tag\.(\d+)\.(Key|Value)$")
_TAG = re.compile(r"^Tag\.(\d+)\.(Key|Value)$")


def invalid(message: str) -> EC2ClientError:
    return EC2ClientError("InvalidParameterValue", message)


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def check_tags(tags: list[tuple[str, str]]) -> None:
    seen: set[str] = set()
    for key, value in tags:
        if len(key) > 127:
            raise invalid(f"Tag key exceeds the maximum length of 127 characters: {key[:40]}...")
        if len(value) > 256:
            raise invalid(f"Tag value exceeds the maximum length of 256 characters for {key}")
        if key.lower().startswith("aws:"):
            raise invalid(f"Tag keys starting with 'aws:' are reserved for internal use: {key}")
        if key in seen:
            raise invalid(f"Duplicate tag key '{key}' specified.")
        seen.add(key)


def check_tag_specifications(action: str, query: dict[str, list[str]]) -> None:
    types: dict[str, str] = {}
    tags: dict[str, dict[str, dict[str, str]]] = {}
    for name, values in query.items():
        if m := _SPEC.match(name):
            types[m[1]] = values[0]
        elif m := _SPEC_TAG.match(name):
            tags.setdefault(m[1], {}).setdefault(m[2], {})[m[3]] = values[0]
    allowed = TAGGABLE.get(action, set())
    if len(set(types.values())) != len(types):
        raise invalid(
            "The same resource type may not be specified more than once in tag specifications"
        )
    for index, rtype in types.items():
        if rtype not in allowed:
            raise invalid(f"'{rtype}' is not a valid taggable resource type for this operation.")
        pairs = tags.get(index, {})
        check_tags([(t.get("Key", ""), t.get("Value", "")) for _, t in sorted(pairs.items())])


def check_request(action: str, query: dict[str, list[str]]) -> None:
    """Raise EC2's InvalidParameterValue for what moto would otherwise accept."""
    if action in TAGGABLE:
        check_tag_specifications(action, query)
    if action == "RunInstances":
        token = _one(query, "ClientToken")
        if token is not None and (len(token) > 64 or not token.isascii()):
            raise invalid(
                f"Value ({token}) for parameter clientToken is invalid. "
                "Length exceeds maximum of 64 characters."
            )
    elif action == "CreateTags":
        pairs: dict[str, dict[str, str]] = {}
        for name, values in query.items():
            if m := _TAG.match(name):
                pairs.setdefault(m[1], {})[m[2]] = values[0]
        check_tags([(t.get("Key", ""), t.get("Value", "")) for _, t in sorted(pairs.items())])
    elif action == "CreateSecurityGroup":
        name = _one(query, "GroupName") or ""
        if len(name) > 255:
            raise invalid("Group name exceeds the maximum length of 255 characters.")
        if name.lower().startswith("sg-"):
            raise invalid("Group names may not be in the format sg-*.")
    elif action in ("ImportKeyPair", "CreateKeyPair"):
        name = _one(query, "KeyName") or ""
        if len(name) > 255 or not name.isascii():
            raise invalid(f"Value ({name[:40]}...) for parameter keyName is invalid.")


_METHODS = {
    "RunInstances": "run_instances",
    "CreateTags": "create_tags",
    "CreateSecurityGroup": "create_security_group",
    "ImportKeyPair": "import_key_pair",
    "CreateKeyPair": "create_key_pair",
}


def install() -> None:
    """Wrap moto's EC2 handlers for the calls above (idempotent, process-wide)."""
    for action, attr in _METHODS.items():
        original: Callable[..., Any] = getattr(EC2Response, attr)
        if getattr(original, "_styx_strict", False):
            continue

        def make(action: str, original: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(original)
            def strict(self: EC2Response) -> Any:
                check_request(action, self.querystring)
                return original(self)

            strict._styx_strict = True  # type: ignore[attr-defined]
            return strict

        setattr(EC2Response, attr, make(action, original))
