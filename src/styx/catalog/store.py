"""Reading and writing catalog files; choosing between the shipped snapshot and a refreshed one.

The shipped snapshot lives in the package (``styx/catalog/data/<cloud>.csv``); ``styx catalog
refresh`` writes ``$STYX_HOME/catalog/<cloud>.csv``. The refreshed file wins only when its
as-of date is newer. A refreshed file that cannot be read produces one warning on stderr and
the shipped snapshot is used, so a bad refresh never breaks launching.
"""

from __future__ import annotations

import csv
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from styx.catalog.schema import (
    CATALOG_CLOUDS,
    COLUMNS,
    CatalogError,
    CatalogRow,
    Provenance,
    row_from_csv,
    row_to_csv,
)

SHIPPED_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Catalog:
    cloud: str
    rows: tuple[CatalogRow, ...]
    provenance: Provenance
    path: Path


_CACHE: dict[str, Catalog] = {}


def user_catalog_path(cloud: str) -> Path:
    from styx.config import styx_home

    return styx_home() / "catalog" / f"{cloud}.csv"


def read_catalog(path: Path, cloud: str) -> Catalog:
    """Parse one catalog file; CatalogError says which file and line is wrong."""
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            prov = Provenance.parse_header(fh.readline().rstrip("\n"), str(path))
            if prov.cloud != cloud:
                raise CatalogError(f"{path}: holds cloud '{prov.cloud}', expected '{cloud}'")
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None or tuple(header) != COLUMNS:
                raise CatalogError(f"{path}: column header is not {','.join(COLUMNS)}")
            rows = tuple(
                row_from_csv(cloud, values, f"{path}:{i}") for i, values in enumerate(reader, 3)
            )
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CatalogError(f"{path}: not a valid CSV file ({exc})") from None
    if not rows:
        raise CatalogError(f"{path}: no rows")
    return Catalog(cloud, rows, prov, path)


def load(cloud: str) -> Catalog:
    """The catalog for ``cloud`` (cached for the process; ``clear_cache`` forgets it)."""
    cached = _CACHE.get(cloud)
    if cached is not None:
        return cached
    if cloud not in CATALOG_CLOUDS:
        raise CatalogError(f"no catalog for cloud '{cloud}'; catalogs: {', '.join(CATALOG_CLOUDS)}")
    shipped = read_catalog(SHIPPED_DIR / f"{cloud}.csv", cloud)
    chosen = shipped
    user_path = user_catalog_path(cloud)
    if user_path.exists():
        try:
            user = read_catalog(user_path, cloud)
        except CatalogError as exc:
            print(
                f"styx: warning: ignoring refreshed catalog: {exc}; using the shipped snapshot "
                f"(as of {shipped.provenance.as_of})",
                file=sys.stderr,
            )
        else:
            if user.provenance.as_of > shipped.provenance.as_of:
                chosen = user
    _CACHE[cloud] = chosen
    return chosen


def load_all(clouds: tuple[str, ...] = CATALOG_CLOUDS) -> list[Catalog]:
    return [load(c) for c in clouds]


def clear_cache() -> None:
    _CACHE.clear()


def write_catalog(path: Path, prov: Provenance, rows: list[CatalogRow]) -> None:
    """Write ``rows`` to ``path`` atomically (temp file in the same folder, then rename), so a
    reader sees the old file or the new one, never half of one."""
    import tempfile  # only refresh writes; keep it off the load path

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            fh.write(prov.header() + "\n")
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(COLUMNS)
            ordered = sorted(
                rows,
                key=lambda r: (
                    r.instance_type,
                    r.accelerator_name or "",
                    r.accelerator_count,
                    r.region,
                ),
            )
            writer.writerows(row_to_csv(r) for r in ordered)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
