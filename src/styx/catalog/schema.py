"""The catalog file format: one CSV per cloud, its first line a ``# {json}`` provenance header.

One row is one machine shape in one region. Columns, in order:

    instance_type, vcpus, memory_gib, accelerator_name, accelerator_count,
    accelerator_memory_gib, price, spot_price, region, zones

``price`` and ``spot_price`` are USD per hour per node (Linux); an empty ``spot_price`` means
no spot market. ``zones`` is ``;``-separated, in the order to try. For GCP rows whose
instance type is an N1 host with attached GPUs, the accelerator columns say what to attach and
``price`` includes the GPUs. The header keeps provenance in the same file as the prices so a
refresh replaces both in one atomic rename.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from styx.errors import StyxError
from styx.providers.registry import provider_names

SCHEMA_VERSION = 1
COLUMNS = (
    "instance_type",
    "vcpus",
    "memory_gib",
    "accelerator_name",
    "accelerator_count",
    "accelerator_memory_gib",
    "price",
    "spot_price",
    "region",
    "zones",
)
CATALOG_CLOUDS = provider_names(catalog=True)  # the clouds whose registry entry ships a catalog


class CatalogError(StyxError):
    """A catalog file is missing, unreadable or not in the expected format."""


class RefreshError(StyxError):
    """A catalog refresh could not fetch or parse the cloud's price list."""


@dataclass(frozen=True, slots=True)
class CatalogRow:
    cloud: str
    instance_type: str
    vcpus: float
    memory_gib: float
    accelerator_name: str | None
    accelerator_count: int
    accelerator_memory_gib: float | None
    price: float
    spot_price: float | None
    region: str
    zones: tuple[str, ...]


@dataclass(frozen=True)
class Provenance:
    schema_version: int
    cloud: str
    as_of: str  # YYYY-MM-DD; compared as a string
    source: str
    notes: str = ""

    def header(self) -> str:
        data = {
            "schema_version": self.schema_version,
            "cloud": self.cloud,
            "as_of": self.as_of,
            "source": self.source,
            "notes": self.notes,
        }
        return "# " + json.dumps(data, sort_keys=True)

    @classmethod
    def parse_header(cls, line: str, where: str) -> Provenance:
        if not line.startswith("# "):
            raise CatalogError(f"{where}: first line is not a '# {{...}}' provenance header")
        try:
            data = json.loads(line[2:])
            prov = cls(
                int(data["schema_version"]),
                str(data["cloud"]),
                str(data["as_of"]),
                str(data["source"]),
                str(data.get("notes", "")),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise CatalogError(f"{where}: bad provenance header ({exc})") from None
        if prov.schema_version != SCHEMA_VERSION:
            raise CatalogError(
                f"{where}: schema version {prov.schema_version}, expected {SCHEMA_VERSION}"
            )
        return prov


def row_to_csv(row: CatalogRow) -> list[str]:
    return [
        row.instance_type,
        f"{row.vcpus:g}",
        f"{row.memory_gib:g}",
        row.accelerator_name or "",
        str(row.accelerator_count or ""),
        f"{row.accelerator_memory_gib:g}" if row.accelerator_memory_gib else "",
        f"{row.price:.10g}",
        f"{row.spot_price:.10g}" if row.spot_price is not None else "",
        row.region,
        ";".join(row.zones),
    ]


def row_from_csv(cloud: str, values: list[str], where: str) -> CatalogRow:
    if len(values) != len(COLUMNS):
        raise CatalogError(f"{where}: expected {len(COLUMNS)} columns, got {len(values)}")
    try:
        (itype, vcpus, mem, acc, acc_n, acc_mem, price, spot, region, zones) = values
        return CatalogRow(
            cloud,
            itype,
            float(vcpus),
            float(mem),
            acc or None,
            int(acc_n) if acc_n else 0,
            float(acc_mem) if acc_mem else None,
            float(price),
            float(spot) if spot else None,
            region,
            tuple(z for z in zones.split(";") if z),
        )
    except ValueError as exc:
        raise CatalogError(f"{where}: {exc}") from None
