"""The ``resources:`` section of a task: what a node needs and where it may run.

Accepts SkyPilot's spelling unchanged. Values are parsed into typed fields once, here; the
optimizer and providers never see raw YAML.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields, replace
from typing import Any

from styx.errors import TaskSpecError
from styx.providers.registry import ALIASES, PROVIDERS
from styx.spec import (
    MAX_ACCELERATORS,
    MAX_AUTOSTOP_MINUTES,
    MAX_CPUS,
    MAX_DISK_GB,
    MAX_EXIT_CODE,
    MAX_HOURLY_COST,
    MAX_MEMORY_GB,
    MAX_MEMORY_PER_CPU_GB,
    MAX_PRIORITY,
    MAX_RESTARTS,
    MAX_TOTAL_COST,
    as_bool,
    as_number,
    as_positive_int,
    as_str,
    as_str_dict,
    check_keys,
    clip,
    did_you_mean,
    fail,
)

CLOUDS = tuple(PROVIDERS)
CLOUD_ALIASES = ALIASES

RESOURCE_FIELDS = (
    "infra",
    "cloud",
    "region",
    "zone",
    "cpus",
    "memory",
    "instance_type",
    "accelerators",
    "accelerator_args",
    "use_spot",
    "job_recovery",
    "disk_size",
    "disk_tier",
    "network_tier",
    "ports",
    "labels",
    "image_id",
    "autostop",
    "max_hourly_cost",
    "max_total_cost",
    "priority",
    "any_of",
    "ordered",
)

_QUANTITY_RE = re.compile(r"^\s*(\d{1,12}(?:\.\d{1,20})?(?:[eE][-+]?\d{1,3})?)\s*(\+|x)?\s*$")
_DURATION_RE = re.compile(r"^\s*(\d{1,12})\s*([smhd]?)\s*$")


@dataclass(frozen=True)
class Quantity:
    """``4`` (exactly 4), ``4+`` (at least 4); for memory also ``4x`` (4 GiB per vCPU)."""

    value: float
    at_least: bool = False
    per_cpu: bool = False

    def __str__(self) -> str:
        suffix = "x" if self.per_cpu else "+" if self.at_least else ""
        # repr() is the shortest text that parses back to the same float ('4', '0.5', '1e-05').
        number = str(int(self.value)) if self.value.is_integer() else repr(self.value)
        return f"{number}{suffix}"

    def admits(self, offered: float, vcpus: float = 0.0) -> bool:
        wanted = self.value * vcpus if self.per_cpu else self.value
        if self.at_least or self.per_cpu:
            return offered + 1e-9 >= wanted
        return abs(offered - wanted) < 1e-6


@dataclass(frozen=True)
class Autostop:
    idle_minutes: int
    down: bool = False


@dataclass(frozen=True)
class JobRecovery:
    strategy: str = "FAILOVER"
    max_restarts_on_errors: int = 0
    recover_on_exit_codes: tuple[int, ...] = ()


@dataclass(frozen=True)
class Resources:
    cloud: str | None = None
    region: str | None = None
    zone: str | None = None
    cpus: Quantity | None = None
    memory: Quantity | None = None
    instance_type: str | None = None
    # Candidate accelerators, in the user's order: (("A100", 8),) or (("V100", 1), ("T4", 1)).
    accelerators: tuple[tuple[str, int], ...] = ()
    # Fractional requests as written ((("K80", 0.5),)): the node gets a whole device (above),
    # and the fraction is kept so the file round-trips and jobs can later share the device.
    accelerator_shares: tuple[tuple[str, float], ...] = ()
    accelerator_args: dict[str, Any] = field(default_factory=dict)
    use_spot: bool = False
    job_recovery: JobRecovery | None = None
    disk_size: int | None = None
    disk_tier: str | None = None
    network_tier: str | None = None
    ports: tuple[int, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    image_id: str | dict[str, str] | None = None
    autostop: Autostop | None = None
    max_hourly_cost: float | None = None
    max_total_cost: float | None = None  # spending cap: the head stops the cluster at this
    priority: int | None = None
    any_of: tuple[Resources, ...] = ()
    ordered: tuple[Resources, ...] = ()
    # One line per any_of/ordered branch left out because it names a cloud Styx does not run
    # (SkyPilot's 'lambda', 'runpod', ...); shown as notes, never written back.
    skipped_branches: tuple[str, ...] = field(default=(), compare=False)

    @property
    def accelerator(self) -> tuple[str, int] | None:
        """The single accelerator asked for, when there is exactly one candidate."""
        return self.accelerators[0] if len(self.accelerators) == 1 else None

    def candidates(self) -> list[Resources]:
        """Flatten any_of/ordered and accelerator lists into single-choice Resources.

        For ``ordered`` the list order is the user's preference; for the rest, order is only a
        tie-breaker and the optimizer ranks by price.
        """
        branches = self.ordered or self.any_of
        if branches:
            out: list[Resources] = []
            for branch in branches:
                out.extend(branch.candidates())
            return out
        if len(self.accelerators) > 1:
            return [replace(self, accelerators=(acc,)) for acc in self.accelerators]
        return [self]

    def image_for(self, region: str | None) -> str | None:
        if isinstance(self.image_id, dict):
            return self.image_id.get(region or "") if region else None
        return self.image_id

    @property
    def container_image(self) -> bool:
        """Whether ``image_id`` names a container image (``docker:<image>``, SkyPilot's syntax)
        rather than a machine image (an AMI, a GCE image, an Azure URN)."""
        images = self.image_id.values() if isinstance(self.image_id, dict) else [self.image_id]
        return any(isinstance(i, str) and i.startswith("docker:") for i in images)

    @classmethod
    def from_yaml(cls, data: Any, where: str = "resources") -> Resources:
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise fail(where, data, "a mapping")
        check_keys(data, RESOURCE_FIELDS, where)
        return _parse(data, where, cls())

    def to_yaml(self, parent: Resources | None = None) -> dict[str, Any]:
        """A SkyPilot-compatible dict (round-trips through from_yaml).

        For an ``any_of``/``ordered`` branch, ``parent`` is the top level it inherits from:
        only what differs is written, including a ``use_spot: false`` or a location that
        overrides the parent's.
        """
        location = ("cloud", "region", "zone")
        moved = parent is not None and any(getattr(self, k) != getattr(parent, k) for k in location)
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name in ("accelerator_shares", "skipped_branches"):
                continue  # written with 'accelerators' / never written
            value = getattr(self, f.name)
            if parent is not None and f.name not in ("any_of", "ordered"):
                if f.name in location and moved:
                    pass  # all three, so that the branch's location replaces the parent's
                elif value == getattr(parent, f.name):
                    continue  # inherited
            # Only defaults are left out (compared by type too: priority 0 is not "unset").
            elif (
                value is None or value is False or (isinstance(value, (tuple, dict)) and not value)
            ):
                continue
            if value is None:
                out[f.name] = None
                continue
            if f.name == "accelerators" and not value:
                continue  # only a branch built in Python can drop its parent's accelerators
            if isinstance(value, Quantity):
                value = str(value)
            elif f.name == "accelerators":
                shares = dict(self.accelerator_shares)
                texts = [f"{n}:{shares.get(n, c)}" for n, c in value]
                value = texts if len(texts) > 1 else texts[0]
            elif f.name == "ports":
                value = list(value)
            elif isinstance(value, Autostop):
                value = {"idle_minutes": value.idle_minutes, "down": value.down}
            elif isinstance(value, dict):
                value = dict(value)
            elif isinstance(value, JobRecovery):
                value = {
                    "strategy": value.strategy,
                    "max_restarts_on_errors": value.max_restarts_on_errors,
                    "recover_on_exit_codes": list(value.recover_on_exit_codes),
                }
            elif f.name in ("any_of", "ordered"):
                top = replace(self, any_of=(), ordered=())
                value = [r.to_yaml(parent=top) for r in value]
            out[f.name] = value
        return out


def _parse(data: dict[str, Any], where: str, base: Resources) -> Resources:
    values: dict[str, Any] = {}
    if "infra" in data and any(k in data for k in ("cloud", "region", "zone")):
        raise TaskSpecError(
            f"{where}.infra: use either 'infra' or 'cloud/region/zone', not both",
            field=f"{where}.infra",
        )
    if data.get("infra") is not None:
        values.update(parse_infra(data["infra"], f"{where}.infra"))
    if data.get("cloud") is not None:
        values["cloud"] = parse_cloud(as_str(f"{where}.cloud", data["cloud"]), f"{where}.cloud")
    for key in ("region", "zone", "instance_type", "disk_tier", "network_tier"):
        if data.get(key) is not None:
            values[key] = as_str(f"{where}.{key}", data[key])
    if data.get("cpus") is not None:
        values["cpus"] = parse_quantity(data["cpus"], f"{where}.cpus", allow_per_cpu=False)
    if data.get("memory") is not None:
        values["memory"] = parse_quantity(data["memory"], f"{where}.memory", allow_per_cpu=True)
    if data.get("accelerators") is not None:
        requests = parse_accelerator_requests(data["accelerators"], f"{where}.accelerators")
        values["accelerators"] = tuple((n, whole_count(c)) for n, c in requests)
        values["accelerator_shares"] = tuple((n, c) for n, c in requests if c < 1)
    if data.get("accelerator_args") is not None:
        values["accelerator_args"] = _parse_accelerator_args(
            data["accelerator_args"], f"{where}.accelerator_args"
        )
    if data.get("use_spot") is not None:
        values["use_spot"] = as_bool(f"{where}.use_spot", data["use_spot"])
    if data.get("job_recovery") is not None:
        values["job_recovery"] = parse_job_recovery(data["job_recovery"], f"{where}.job_recovery")
    if data.get("disk_size") is not None:
        values["disk_size"] = parse_disk_size(data["disk_size"], f"{where}.disk_size")
    if data.get("ports") is not None:
        values["ports"] = parse_ports(data["ports"], f"{where}.ports")
    if data.get("labels") is not None:
        values["labels"] = {
            k: v or "" for k, v in as_str_dict(f"{where}.labels", data["labels"]).items()
        }
    if data.get("image_id") is not None:
        image = data["image_id"]
        if isinstance(image, dict):
            values["image_id"] = {  # an empty mapping is no image (saved as unset)
                as_str(f"{where}.image_id", k): as_str(f"{where}.image_id.{clip(k, 60)}", v)
                for k, v in image.items()
            }
            values["image_id"] = values["image_id"] or None
        else:
            values["image_id"] = as_str(f"{where}.image_id", image)
        _check_container_images(values["image_id"], f"{where}.image_id")
    if data.get("autostop") is not None:
        values["autostop"] = parse_autostop(data["autostop"], f"{where}.autostop")
    if data.get("max_hourly_cost") is not None:
        values["max_hourly_cost"] = as_number(
            f"{where}.max_hourly_cost", data["max_hourly_cost"], maximum=MAX_HOURLY_COST
        )
    if data.get("max_total_cost") is not None:
        cap = as_number(f"{where}.max_total_cost", data["max_total_cost"], maximum=MAX_TOTAL_COST)
        if cap <= 0:
            raise fail(f"{where}.max_total_cost", data["max_total_cost"],
                       f"dollars above 0, up to {MAX_TOTAL_COST:g}")  # fmt: skip
        values["max_total_cost"] = cap
    if data.get("priority") is not None:
        values["priority"] = as_positive_int(
            f"{where}.priority", data["priority"], allow_zero=True, maximum=MAX_PRIORITY
        )
    merged = replace(base, **values)
    for key in ("any_of", "ordered"):
        if data.get(key) is None:
            continue
        items = data[key]
        if not isinstance(items, list) or not items:
            raise fail(f"{where}.{key}", items, "a non-empty list of resource mappings")
        branches = []
        skipped = list(merged.skipped_branches)
        foreign_names: list[str] = []
        for i, item in enumerate(items):
            path = f"{where}.{key}[{i}]"
            if not isinstance(item, dict):
                raise fail(path, item, "a mapping")
            check_keys(item, [f for f in RESOURCE_FIELDS if f not in ("any_of", "ordered")], path)
            foreign = _foreign_cloud(item)
            if foreign:
                foreign_names.append(foreign)
                skipped.append(
                    f"{path}: cloud '{foreign}' is not supported by Styx; branch skipped"
                )
                continue
            # A branch's fields override the top-level ones, like SkyPilot.
            branch_base = replace(merged, any_of=(), ordered=())
            if "infra" in item or "cloud" in item:
                branch_base = replace(branch_base, cloud=None, region=None, zone=None)
            branches.append(_parse(item, path, branch_base))
        if not branches:
            raise TaskSpecError(
                f"{where}.{key}: every branch names a cloud Styx does not support "
                f"({', '.join(dict.fromkeys(foreign_names))}); "
                f"expected at least one of {', '.join(CLOUDS)}",
                field=f"{where}.{key}",
            )
        merged = replace(merged, **{key: tuple(branches)}, skipped_branches=tuple(skipped))
    if merged.any_of and merged.ordered:
        raise TaskSpecError(f"{where}: use either 'any_of' or 'ordered', not both", field=where)
    return merged


# Clouds SkyPilot runs on that Styx does not (yet). A branch naming one is skipped with a note,
# so that a file written for SkyPilot still plans on the clouds Styx has; any other unknown
# name stays an error (most likely a typo).
SKYPILOT_ONLY_CLOUDS = (
    "lambda",
    "runpod",
    "nebius",
    "vast",
    "fluidstack",
    "paperspace",
    "cudo",
    "do",
    "oci",
    "ibm",
    "scp",
    "vsphere",
    "hyperbolic",
    "seeweb",
    "primeintellect",
    "shadeform",
    "coreweave",
    "slurm",
)


def _foreign_cloud(item: dict[str, Any]) -> str | None:
    """The SkyPilot-only cloud a branch names (in ``infra`` or ``cloud``), else None."""
    text = item.get("infra") if item.get("infra") is not None else item.get("cloud")
    if not isinstance(text, str):
        return None
    name = text.strip().split("/")[0].lower()
    return name if name in SKYPILOT_ONLY_CLOUDS else None


def _parse_accelerator_args(value: Any, where: str) -> dict[str, Any]:
    """SkyPilot's accelerator_args (runtime_version, tpu_vm, ...): names to plain values."""
    if not isinstance(value, dict):
        raise fail(where, value, "a mapping of names to values")
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = as_str(where, key)
        if isinstance(item, float) and not math.isfinite(item):
            raise fail(f"{where}.{clip(name, 60)}", item, "a finite number")
        if isinstance(item, int) and not isinstance(item, bool) and abs(item) > 2**63:
            raise fail(f"{where}.{clip(name, 60)}", item, "a number that fits 64 bits")
        if item is not None and not isinstance(item, (str, int, float, bool)):
            raise fail(f"{where}.{clip(name, 60)}", item, "a string, number or true/false")
        out[name] = as_str(f"{where}.{clip(name, 60)}", item) if isinstance(item, str) else item
    return out


def parse_cloud(value: str, where: str) -> str:
    cloud = CLOUD_ALIASES.get(value.lower(), value.lower())
    if cloud not in CLOUDS:
        raise TaskSpecError(
            f"{where}: unknown cloud '{clip(value, 60)}'"
            f"{did_you_mean(value, (*CLOUDS, *ALIASES))}; "
            f"expected one of {', '.join(CLOUDS)}",
            field=where,
        )
    return cloud


def parse_infra(value: Any, where: str = "infra") -> dict[str, str | None]:
    """``aws``, ``aws/us-east-1``, ``aws/us-east-1/us-east-1a``, ``k8s/<ctx>``, ``ssh/<pool>``,
    ``local``, ``*`` or ``*/us-east-1`` (any cloud)."""
    text = as_str(where, value).strip()
    parts = text.split("/")
    entry = PROVIDERS.get(ALIASES.get(parts[0].lower(), parts[0].lower()))
    if entry and entry.region_has_slash and len(parts) > 2:
        parts = [parts[0], "/".join(parts[1:])]  # contexts/pools may contain '/' (EKS ARNs)
    if not text or len(parts) > 3 or any(not p for p in parts):
        raise fail(where, value, "'cloud[/region[/zone]]', e.g. 'aws/us-east-1'")
    cloud = None if parts[0] == "*" else parse_cloud(parts[0], where)
    region = parts[1] if len(parts) > 1 and parts[1] != "*" else None
    zone = parts[2] if len(parts) > 2 and parts[2] != "*" else None
    if cloud and not PROVIDERS[cloud].regions and len(parts) > 1:
        raise fail(where, value, f"just '{cloud}' (it has no regions)")
    return {"cloud": cloud, "region": region, "zone": zone}


def parse_quantity(value: Any, where: str, *, allow_per_cpu: bool) -> Quantity:
    maximum = MAX_MEMORY_GB if allow_per_cpu else MAX_CPUS
    expected = f"a number above 0 and at most {maximum:g}, such as 4 or '4+'" + (
        f", or '4x' (GiB per vCPU, at most {MAX_MEMORY_PER_CPU_GB:g})" if allow_per_cpu else ""
    )
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise fail(where, value, expected)
    if isinstance(value, (int, float)):
        if not 0 < value <= maximum:  # nan fails both comparisons; a huge int is not converted
            raise fail(where, value, expected)
        return Quantity(float(value))
    match = _QUANTITY_RE.match(value)
    if not match:
        raise fail(where, value, expected)
    number, suffix = float(match.group(1)), match.group(2)
    limit = MAX_MEMORY_PER_CPU_GB if suffix == "x" else maximum
    if not 0 < number <= limit or (suffix == "x" and not allow_per_cpu):
        raise fail(where, value, expected)
    return Quantity(number, at_least=suffix == "+", per_cpu=suffix == "x")


# Catalog names ('A100-80GB', 'tpu-v5e-8', 'RTX 4090'): no ':' (it separates the count), no
# control characters, at most 64 characters.
_ACCELERATOR_NAME_RE = re.compile(r"^[^\s:][^:\x00-\x1f\x7f]{0,63}$")


def _parse_one_accelerator(text: Any, where: str, count: Any = None) -> tuple[str, float]:
    """``'A100'``, ``'A100:8'``, ``'K80:0.5'``, or a name with its ``count`` (``{A100: 8}``).

    A count is a whole number from 1 to MAX_ACCELERATORS or, as SkyPilot allows, a fraction
    between 0 and 1 (the node still gets one whole accelerator; jobs may share it).
    """
    expected = (
        f"'NAME' or 'NAME:COUNT' with a COUNT from 1 to {MAX_ACCELERATORS} "
        "or a fraction between 0 and 1"
    )
    if not isinstance(text, str):
        raise fail(where, text, expected)
    name = text
    if count is None:
        name, _, count_text = text.partition(":")
        count = count_text.strip() or 1
    name = name.strip()
    if not _ACCELERATOR_NAME_RE.match(name):
        raise fail(where, text, expected + ", e.g. 'A100:8'")
    number: Any = count
    if isinstance(count, str):
        try:
            number = float(count) if len(count) <= 20 else None
        except ValueError:
            number = None
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        raise fail(where, count, expected)
    # nan and infinity fail both range tests, so int() only ever sees a small finite number.
    if 0 < number < 1:
        return name, float(number)
    if not 1 <= number <= MAX_ACCELERATORS or number != int(number):
        raise fail(where, count, expected)
    return name, int(number)


def parse_accelerators(value: Any, where: str) -> tuple[tuple[str, int], ...]:
    """Candidates in the user's order, each with the whole number of accelerators a node gets.

    A mapping with several keys is a set of alternatives, like a list (SkyPilot's reading):
    ``{L4: 8, A100: 4}``, ``{L4, A10g}`` (count 1 each) and ``{L4:8, A100:4}``, which YAML
    reads as keys ``'L4:8'`` and ``'A100:4'`` without values.
    """
    return tuple(
        (name, whole_count(count)) for name, count in parse_accelerator_requests(value, where)
    )


def whole_count(count: float) -> int:
    """Accelerators a node must have for ``count``: a fraction needs one whole device."""
    return max(1, math.ceil(count))


def parse_accelerator_requests(value: Any, where: str) -> tuple[tuple[str, float], ...]:
    """Like :func:`parse_accelerators`, with the counts as written (fractions kept)."""
    items: list[tuple[str, float]]
    if isinstance(value, str):
        items = [_parse_one_accelerator(value, where)]
    elif isinstance(value, dict):
        items = []
        for name, count in value.items():
            if not isinstance(name, str):
                raise fail(where, name, "accelerator names such as 'A100'")
            path = f"{where}.{clip(name, 64)}"
            if ":" in name:
                if count is not None:  # {'A100:8': 2}: which count is meant?
                    raise fail(path, count, "no value after 'NAME:COUNT' (the count is given)")
                items.append(_parse_one_accelerator(name, path))
            else:
                items.append(_parse_one_accelerator(name, path, 1 if count is None else count))
    elif isinstance(value, list):
        items = [_parse_one_accelerator(v, f"{where}[{i}]") for i, v in enumerate(value)]
    else:
        raise fail(where, value, "'NAME:COUNT', {NAME: COUNT} or a list of candidates")
    if not items:
        raise fail(where, value, "at least one accelerator")
    if len(items) > 1 and len({name for name, _ in items}) != len(items):
        raise fail(where, value, "each accelerator named once")
    return tuple(items)


_DISK_SIZE_RE = re.compile(r"^\s*(\d{1,12}(?:\.\d{1,12})?)\s*([kmgtp]i?b?)?\s*$", re.IGNORECASE)
# GiB per unit, as SkyPilot reads disk sizes ('1TB' is 1024 GB; a bare number is GB).
_DISK_UNITS_GB = {"k": 1 / 1024**2, "m": 1 / 1024, "g": 1.0, "t": 1024.0, "p": 1024.0**2}


def parse_disk_size(value: Any, where: str) -> int:
    """GB as a whole number: ``256``, ``'256'``, ``'256GB'``, ``'1TB'``, ``'1 tb'``."""
    expected = (
        f"a whole number of GB from 1 to {MAX_DISK_GB}, or a size with a unit such as "
        "'1024GB' or '1TB'"
    )
    if isinstance(value, str) and not value.strip().isdigit():
        match = _DISK_SIZE_RE.match(value)
        if not match:
            raise fail(where, value, expected)
        unit = (match.group(2) or "g")[0].lower()
        size = float(match.group(1)) * _DISK_UNITS_GB[unit]
        if not 1 <= size <= MAX_DISK_GB or not math.isclose(size, round(size)):
            raise fail(where, value, expected)
        return round(size)
    return as_positive_int(where, value, maximum=MAX_DISK_GB)


def parse_ports(value: Any, where: str) -> tuple[int, ...]:
    items = value if isinstance(value, list) else [value]
    ports: list[int] = []
    for item in items:
        if isinstance(item, float) and item.is_integer() and 1 <= item <= 65535:
            item = int(item)  # 8080.0: JSON and YAML writers sometimes say it that way
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise fail(where, item, "a port (8080), a range ('8000-8010') or a list")
        text = str(item).strip() if isinstance(item, str) else str(min(max(item, -1), 65536))
        low, sep, high = text.partition("-")
        if len(text) > 11 or not low.strip().isdigit() or (sep and not high.strip().isdigit()):
            raise fail(where, item, "a port (8080), a range ('8000-8010') or a list")
        start, end = int(low), int(high) if sep else int(low)
        if not (1 <= start <= end <= 65535):
            raise fail(where, item, "ports between 1 and 65535, low-high")
        ports.extend(range(start, end + 1))
    return tuple(sorted(set(ports)))


def parse_duration_minutes(value: Any, where: str) -> int:
    expected = (
        f"minutes from 0 to {MAX_AUTOSTOP_MINUTES} (10) or a duration ('30s', '10m', '1h', '1d')"
    )
    if isinstance(value, bool):
        raise fail(where, value, expected)
    if isinstance(value, float) and value.is_integer() and 0 <= value <= MAX_AUTOSTOP_MINUTES:
        value = int(value)
    if isinstance(value, int):
        if not 0 <= value <= MAX_AUTOSTOP_MINUTES:
            raise fail(where, value, expected)
        return value
    if not isinstance(value, str):
        raise fail(where, value, expected)
    match = _DURATION_RE.match(value)
    if not match:
        raise fail(where, value, expected)
    number, unit = int(match.group(1)), match.group(2) or "m"
    seconds = number * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    minutes = max(1, seconds // 60) if seconds else 0
    if minutes > MAX_AUTOSTOP_MINUTES:
        raise fail(where, value, expected)
    return minutes


def parse_autostop(value: Any, where: str) -> Autostop | None:
    if isinstance(value, bool):
        return Autostop(idle_minutes=5) if value else None
    if isinstance(value, dict):
        check_keys(value, ("idle_minutes", "down", "wait_for"), where)
        minutes = parse_duration_minutes(value.get("idle_minutes", 5), f"{where}.idle_minutes")
        down = as_bool(f"{where}.down", value.get("down", False))
        return Autostop(idle_minutes=minutes, down=down)
    return Autostop(idle_minutes=parse_duration_minutes(value, where))


def parse_job_recovery(value: Any, where: str) -> JobRecovery:
    strategies = ("FAILOVER", "EAGER_NEXT_REGION")
    if isinstance(value, str):
        value = {"strategy": value}
    if not isinstance(value, dict):
        raise fail(where, value, "a strategy name or {strategy, max_restarts_on_errors}")
    check_keys(value, ("strategy", "max_restarts_on_errors", "recover_on_exit_codes"), where)
    raw_strategy = value.get("strategy") or "FAILOVER"
    strategy = raw_strategy.upper() if isinstance(raw_strategy, str) else ""
    if strategy not in strategies:
        raise fail(f"{where}.strategy", value.get("strategy"), f"one of {', '.join(strategies)}")
    restarts = as_positive_int(
        f"{where}.max_restarts_on_errors",
        value.get("max_restarts_on_errors", 0),
        allow_zero=True,
        maximum=MAX_RESTARTS,
    )
    codes = value.get("recover_on_exit_codes")
    if codes is None:
        codes = []
    if not isinstance(codes, list):
        codes = [codes]
    return JobRecovery(
        strategy,
        restarts,
        tuple(
            as_positive_int(
                f"{where}.recover_on_exit_codes", c, allow_zero=True, maximum=MAX_EXIT_CODE
            )
            for c in codes
        ),
    )


def _check_container_images(image_id: str | dict[str, str] | None, where: str) -> None:
    from styx.container.image import DOCKER_PREFIX, check_container_ref

    images = image_id.items() if isinstance(image_id, dict) else [("", image_id)]
    for region, image in images:
        if image and image.startswith(DOCKER_PREFIX):
            check_container_ref(f"{where}.{clip(region, 60)}" if region else where, image)
