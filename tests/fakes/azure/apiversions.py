"""``api-version`` as ARM checks it: required on every call, and one of the versions the
resource provider publishes for the resource type.

Sources: the REST API reference (https://learn.microsoft.com/en-us/rest/api/azure/: "api-version
... required for all requests"), the versions published in azure-rest-api-specs
(specification/<rp>/resource-manager/<Namespace>/stable/<version>/), and ARM's error codes
(https://learn.microsoft.com/en-us/azure/azure-resource-manager/troubleshooting/
error-register-resource-provider for NoRegisteredProviderFound). The tables hold the stable
versions of the types Styx calls, up to the ones the installed SDKs send.
"""

from __future__ import annotations

import re

from tests.fakes.azure.state import ArmError

_RESOURCES_SUBSCRIPTIONS = (
    "2016-06-01", "2018-06-01", "2019-06-01", "2019-11-01", "2020-01-01", "2021-01-01",
    "2022-12-01",
)  # fmt: skip
_RESOURCES = (
    "2016-09-01", "2017-05-10", "2018-05-01", "2019-05-01", "2019-07-01", "2019-10-01",
    "2020-06-01", "2020-10-01", "2021-01-01", "2021-04-01", "2022-09-01", "2023-07-01",
    "2024-03-01", "2024-07-01", "2024-11-01", "2025-03-01", "2025-04-01",
)  # fmt: skip
_COMPUTE = (
    "2017-03-30", "2017-12-01", "2018-04-01", "2018-06-01", "2018-10-01", "2019-03-01",
    "2019-07-01", "2019-12-01", "2020-06-01", "2020-12-01", "2021-03-01", "2021-04-01",
    "2021-07-01", "2021-11-01", "2022-03-01", "2022-08-01", "2022-11-01", "2023-03-01",
    "2023-07-01", "2023-09-01", "2024-03-01", "2024-07-01", "2024-11-01", "2025-04-01",
    "2026-04-01",
)  # fmt: skip
_DISKS = (
    "2018-06-01", "2019-03-01", "2019-07-01", "2019-11-01", "2020-05-01", "2020-06-30",
    "2020-09-30", "2020-12-01", "2021-04-01", "2021-08-01", "2021-12-01", "2022-03-02",
    "2022-07-02", "2023-01-02", "2023-04-02", "2023-10-02", "2024-03-02", "2025-01-02",
    "2026-03-02",
)  # fmt: skip
_SKUS = ("2017-03-30", "2017-09-01", "2019-04-01", "2021-07-01")
_NETWORK = (
    "2018-08-01", "2019-02-01", "2019-04-01", "2019-06-01", "2019-08-01", "2019-09-01",
    "2019-11-01", "2019-12-01", "2020-03-01", "2020-04-01", "2020-05-01", "2020-06-01",
    "2020-07-01", "2020-08-01", "2020-11-01", "2021-02-01", "2021-03-01", "2021-05-01",
    "2021-08-01", "2022-01-01", "2022-05-01", "2022-07-01", "2022-09-01", "2022-11-01",
    "2023-02-01", "2023-04-01", "2023-05-01", "2023-06-01", "2023-09-01", "2023-11-01",
    "2024-01-01", "2024-03-01", "2024-05-01", "2024-07-01", "2024-10-01", "2025-01-01",
    "2025-03-01", "2025-05-01", "2026-03-01",
)  # fmt: skip

# "<namespace>/<type>" (lower case) -> the versions that type answers to.
SUPPORTED: dict[str, tuple[str, ...]] = {
    "microsoft.resources/subscriptions": _RESOURCES_SUBSCRIPTIONS,  # subscription, locations
    "microsoft.resources/resourcegroups": _RESOURCES,
    "microsoft.compute/virtualmachines": _COMPUTE,
    "microsoft.compute/locations": _COMPUTE,  # vmSizes, usages, operations
    "microsoft.compute/disks": _DISKS,
    "microsoft.compute/skus": _SKUS,
    **{
        f"microsoft.network/{t}": _NETWORK
        for t in (
            "virtualnetworks",
            "networksecuritygroups",
            "publicipaddresses",
            "networkinterfaces",
        )
    },
}
WELL_FORMED = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview|-beta|-alpha)?$")
_PROVIDER = re.compile(r"/providers/(?P<ns>[^/]+)/(?P<type>[^/]+)", re.IGNORECASE)
_GROUPS = re.compile(r"^/subscriptions/[^/]+/resourcegroups(/|$)", re.IGNORECASE)


def resource_type(path: str) -> tuple[str, str]:
    """(``namespace/type`` key, type name as ARM spells it in messages) for a request path."""
    m = _PROVIDER.search(path)
    if m:
        return f"{m['ns']}/{m['type']}".lower(), m["type"]
    if _GROUPS.match(path):
        return "microsoft.resources/resourcegroups", "resourceGroups"
    return "microsoft.resources/subscriptions", "subscriptions"


def check(path: str, version: str | None, location: str = "eastus") -> None:
    """Raise ARM's 400 for a missing, malformed or unsupported api-version on ``path``."""
    if not version:
        raise ArmError(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    key, type_name = resource_type(path)
    supported = SUPPORTED.get(key)
    if supported is None:
        namespace = key.partition("/")[0]
        raise ArmError(
            400,
            "InvalidResourceType",
            f"The resource type '{type_name}' could not be found in the namespace "
            f"'{namespace}' for api version '{version}'.",
        )
    if version in supported:
        return
    listed = ", ".join(reversed(supported))
    if not WELL_FORMED.match(version) or key.startswith("microsoft.resources/"):
        raise ArmError(
            400,
            "InvalidApiVersionParameter",
            f"The api-version '{version}' is invalid. The supported versions are '{listed}'.",
        )
    raise ArmError(
        400,
        "NoRegisteredProviderFound",
        f"No registered resource provider found for location '{location}' and API version "
        f"'{version}' for type '{type_name}'. The supported api-versions are '{listed}'. The "
        f"supported locations are '{location}'.",
    )
