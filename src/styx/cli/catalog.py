"""``styx gpus``/``styx show-gpus``, ``styx catalog list|info|refresh`` and the dry-run plan view.

The core CLI registers these objects. rich is imported inside functions only, so loading this
module (for ``styx --help``) stays cheap.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from styx.providers.registry import provider_names

if TYPE_CHECKING:
    from styx.optimizer import Offer
    from styx.resources import Resources

CLOUD_CHOICE = click.Choice(provider_names(catalog=True), case_sensitive=False)
PLAN_FIELDS = (
    "cloud",
    "region",
    "zone",
    "instance_type",
    "use_spot",
    "accelerators",
    "vcpus",
    "memory_gib",
    "hourly_price",
    "num_nodes",
    "total_hourly_price",
    "disk_size",
    "ports",
    "image_id",
    "image_kind",
)


def _render_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    import io

    from rich.console import Console

    from styx.cli.output import build_table

    buffer = io.StringIO()
    Console(file=buffer, width=200, soft_wrap=True, color_system=None).print(
        build_table(title, columns, rows)
    )
    return buffer.getvalue()


def _money(value: float | None) -> str | None:
    return None if value is None else f"${value:,.4g}" if value < 1 else f"${value:,.2f}"


def _catalog_errors(fn):  # type: ignore[no-untyped-def]
    """Turn StyxError (a bad catalog file, a failed refresh) into a one-line click error."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from styx.errors import StyxError

        try:
            return fn(*args, **kwargs)
        except StyxError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


# ---- gpus / show-gpus ------------------------------------------------------------------------


def _gpus(name: str | None, cloud: str | None, as_json: bool) -> None:
    from dataclasses import asdict

    from styx.catalog.explain import suggest
    from styx.catalog.query import accelerator_names, gpu_offers

    offers = gpu_offers(name, cloud)
    if name and not offers:
        known = accelerator_names(cloud)
        where = cloud or "the catalog"
        raise click.ClickException(
            f"no accelerator named '{name}' in {where}{suggest(name, known)}; "
            f"known: {', '.join(known)}"
        )
    if as_json:
        click.echo(json.dumps([asdict(o) for o in offers], indent=2))
        return
    if name:
        rows = [
            (
                o.accelerator,
                o.count,
                o.cloud,
                ", ".join(o.instance_types[:3]),
                _money(o.min_price),
                _money(o.max_price),
                _money(o.min_spot_price),
                o.regions,
            )
            for o in offers
        ]
        cols = (
            "GPU",
            "QTY",
            "CLOUD",
            "INSTANCE TYPES",
            "MIN $/H",
            "MAX $/H",
            "SPOT FROM",
            "REGIONS",
        )
        click.echo(_render_table(None, cols, rows), nl=False)
        return
    summary: dict[str, dict[str, Any]] = {}
    for o in offers:
        fresh = {"mem": o.memory_gib, "counts": set(), "clouds": set(), "from": o.min_price}
        entry = summary.setdefault(o.accelerator, fresh)
        entry["counts"].add(o.count)
        entry["clouds"].add(o.cloud)
        entry["from"] = min(entry["from"], o.min_price / o.count)
    rows = [
        (
            acc,
            f"{e['mem']:g} GiB" if e["mem"] else None,
            ", ".join(str(c) for c in sorted(e["counts"])),
            ", ".join(sorted(e["clouds"])),
            _money(e["from"]),
        )
        for acc, e in summary.items()
    ]
    cols = ("GPU", "MEMORY", "COUNTS", "CLOUDS", "FROM $/GPU/H")
    click.echo(_render_table(None, cols, rows), nl=False)
    click.echo("Use 'styx gpus list NAME' for instance types and prices of one accelerator.")


_gpu_options = [
    click.argument("name", required=False),
    click.option("--cloud", type=CLOUD_CHOICE, help="Only this cloud."),
    click.option("--json", "as_json", is_flag=True, help="Print JSON."),
]


def _with_options(fn):  # type: ignore[no-untyped-def]
    for option in reversed(_gpu_options):
        fn = option(fn)
    return fn


@click.group(name="gpus")
def gpus() -> None:
    """Accelerators in the catalog: counts, instance types and prices per cloud."""


@gpus.command(name="list")
@_with_options
@_catalog_errors
def gpus_list(name: str | None, cloud: str | None, as_json: bool) -> None:
    """List accelerators, or the offers for accelerator NAME (e.g. A100)."""
    _gpus(name, cloud, as_json)


@click.command(name="show-gpus")
@_with_options
@_catalog_errors
def show_gpus(name: str | None, cloud: str | None, as_json: bool) -> None:
    """Alias of 'styx gpus list'."""
    _gpus(name, cloud, as_json)


# ---- catalog ---------------------------------------------------------------------------------


@click.group(name="catalog", invoke_without_command=True)
@click.pass_context
def catalog(ctx: click.Context) -> None:
    """The offline catalog of instance types and prices (AWS, GCP, Azure).

    Without a subcommand: ``styx catalog info`` (each snapshot's date and age)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(catalog_info, as_json=False)


def _parse_gpu(value: str | None) -> tuple[str, int | None] | None:
    if not value:
        return None
    name, _, count = value.partition(":")
    if count and not count.isdigit():
        raise click.BadParameter(f"got '{value}', expected NAME or NAME:COUNT", param_hint="--gpu")
    return name, int(count) if count else None


def _parse_quantity(value: str | None, option: str, per_cpu: bool) -> Any:
    if value is None:
        return None
    from styx.errors import TaskSpecError
    from styx.resources import parse_quantity

    try:
        return parse_quantity(value, option, allow_per_cpu=per_cpu)
    except TaskSpecError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


@catalog.command(name="list")
@click.option("--cloud", type=CLOUD_CHOICE, help="Only this cloud.")
@click.option("--region", help="Only this region.")
@click.option("--gpu", help="Only this accelerator: NAME or NAME:COUNT.")
@click.option("--cpus", help="vCPUs: 4 (exactly) or 4+ (at least).")
@click.option("--memory", help="Memory GiB: 16, 16+ or 4x (per vCPU).")
@click.option("--limit", type=int, default=50, show_default=True, help="Rows shown (0 = all).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_catalog_errors
def catalog_list(
    cloud: str | None,
    region: str | None,
    gpu: str | None,
    cpus: str | None,
    memory: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List instance types and prices, cheapest first."""
    from dataclasses import asdict

    from styx.catalog.query import list_rows

    rows = list_rows(
        cloud,
        region,
        _parse_gpu(gpu),
        _parse_quantity(cpus, "--cpus", False),
        _parse_quantity(memory, "--memory", True),
    )
    shown = rows[:limit] if limit > 0 else rows
    if as_json:
        click.echo(json.dumps([asdict(r) for r in shown], indent=2))
        return
    table = [
        (
            r.cloud,
            r.region,
            r.instance_type,
            f"{r.vcpus:g}",
            f"{r.memory_gib:g}",
            f"{r.accelerator_name}:{r.accelerator_count}" if r.accelerator_name else None,
            _money(r.price),
            _money(r.spot_price),
            len(r.zones),
        )
        for r in shown
    ]
    cols = (
        "CLOUD",
        "REGION",
        "INSTANCE TYPE",
        "VCPUS",
        "MEM GIB",
        "GPUS",
        "$/H",
        "SPOT $/H",
        "ZONES",
    )
    click.echo(_render_table(None, cols, table), nl=False)
    if len(shown) < len(rows):
        click.echo(f"({len(rows) - len(shown)} more; use --limit 0 to show all)")


@catalog.command(name="info")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_catalog_errors
def catalog_info(as_json: bool) -> None:
    """Where each cloud's catalog comes from, and how old it is."""
    from styx.catalog import CATALOG_CLOUDS, load
    from styx.catalog.age import age_days, max_age_days

    data = []
    limit = max_age_days()
    for cloud in CATALOG_CLOUDS:
        cat = load(cloud)
        p = cat.provenance
        days = age_days(p.as_of)
        data.append(
            {
                "cloud": cloud,
                "as_of": p.as_of,
                "age_days": days,
                "stale": bool(limit and days is not None and days > limit),
                "rows": len(cat.rows),
                "source": p.source,
                "notes": p.notes,
                "path": str(cat.path),
            }
        )
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    rows = [
        (
            d["cloud"],
            d["as_of"],
            f"{d['age_days']}d{' (old)' if d['stale'] else ''}",
            d["rows"],
            d["source"],
            d["path"],
        )
        for d in data
    ]
    cols = ("CLOUD", "SNAPSHOT DATE", "AGE", "ROWS", "SOURCE", "FILE")
    click.echo(_render_table(None, cols, rows), nl=False)
    if any(d["stale"] for d in data):
        click.echo(f"Older than {limit} days (catalog.max_age_days): run `styx catalog refresh`.")


@catalog.command(name="refresh")
@click.argument("clouds", nargs=-1, type=CLOUD_CHOICE)
@click.option(
    "--timeout",
    type=float,
    default=None,
    help="Seconds per HTTP request (default $STYX_REFRESH_TIMEOUT or 10).",
)
def catalog_refresh(clouds: tuple[str, ...], timeout: float | None) -> None:
    """Rebuild the catalog of CLOUDS (default: all) from the clouds' public price lists.

    Sources (override with STYX_AWS_PRICING_URL, STYX_AZURE_PRICES_URL, STYX_GCP_BILLING_URL):
    AWS Price List offer files, Azure Retail Prices API, GCP Cloud Billing Catalog API
    (STYX_GCP_API_KEY). On failure the current catalog keeps working.
    """
    from styx.catalog.refresh import refresh
    from styx.errors import StyxError

    failed = []
    for cloud in clouds or provider_names(catalog=True):
        try:
            cat = refresh(cloud.lower(), timeout=timeout)
        except StyxError as exc:
            failed.append(cloud)
            click.echo(f"styx: error: {cloud}: {exc}", err=True)
            continue
        click.echo(f"{cloud}: {len(cat.rows)} offers as of {cat.provenance.as_of} -> {cat.path}")
    if failed:
        raise SystemExit(1)


# ---- dry-run plan ----------------------------------------------------------------------------


def _candidate_for(o: Offer, resources: Resources) -> Resources:
    """The single-choice candidate of ``resources`` that produced offer ``o`` (its disk, ports
    and image may differ between any_of branches); the first one that admits the offer."""
    for cand in resources.candidates():
        if cand.cloud and cand.cloud != o.cloud:
            continue
        if cand.region and cand.region != o.region:
            continue
        if cand.instance_type and cand.instance_type.lower() != o.instance_type.lower():
            continue
        if cand.accelerators:
            name, count = cand.accelerators[0]
            if (o.accelerator_name or "").lower() != name.lower() or o.accelerator_count != count:
                continue
        elif o.accelerator_count and not cand.instance_type:
            continue
        if cand.use_spot != o.use_spot:
            continue
        return cand
    return resources


def _plan_record(o: Offer, resources: Resources | None = None) -> dict[str, Any]:
    from styx.container.image import image_kind

    cand = _candidate_for(o, resources) if resources is not None else None
    image = cand.image_for(o.region) if cand else None
    kind = image_kind(image)
    return {
        "cloud": o.cloud,
        "region": o.region,
        "zone": o.zones[0] if o.zones else None,
        "instance_type": o.instance_type,
        "use_spot": o.use_spot,
        "accelerators": o.accelerators,
        "vcpus": o.vcpus,
        "memory_gib": o.memory_gib,
        "hourly_price": round(o.hourly_price, 6),
        "num_nodes": o.num_nodes,
        "total_hourly_price": round(o.total_hourly_price, 6),
        # What the task asks for; null means the provider's default disk / image.
        "disk_size": cand.disk_size if cand else None,
        "ports": list(cand.ports) if cand else [],
        "image_id": image,
        # "container": the task runs in that image (on Kubernetes the pod's image, elsewhere a
        # container on the node); "machine": the node boots it; null: the provider's default.
        "image_kind": kind.value if kind else None,
    }


def print_plan(offers: list[Offer], resources: Resources, output: str) -> None:
    """Print the dry-run plan, then (on stderr) a hint when its catalog prices are old."""
    from styx.catalog.age import stale_hint

    click.echo(render_plan(offers, output=output, resources=resources))
    hint = stale_hint(o.cloud for o in offers[:1])
    if hint:
        click.echo(hint, err=True)


def render_plan(
    offers: list[Offer],
    *,
    output: str = "table",
    alternatives: int = 5,
    resources: Resources | None = None,
) -> str:
    """The dry-run view: the chosen offer (``offers[0]``) and the next ``alternatives``.

    ``output="json"`` gives ``{"plan": [record], "alternatives": [record, ...]}`` with the fields
    of PLAN_FIELDS; otherwise a text table. ``resources`` (the task's) supplies each entry's
    disk_size, ports and image_id.
    """
    chosen = [_plan_record(o, resources) for o in offers[:1]]
    rest = [_plan_record(o, resources) for o in offers[1 : 1 + max(0, alternatives)]]
    if output == "json":
        return json.dumps({"plan": chosen, "alternatives": rest}, indent=2)
    if not chosen:
        return "No feasible offer.\n"
    cols = (
        "",
        "CLOUD",
        "REGION",
        "ZONE",
        "INSTANCE TYPE",
        "SPOT",
        "GPUS",
        "VCPUS",
        "MEM GIB",
        "$/H",
        "NODES",
        "TOTAL $/H",
    )
    rows = [
        (
            mark,
            r["cloud"],
            r["region"],
            r["zone"],
            r["instance_type"],
            "yes" if r["use_spot"] else "no",
            r["accelerators"],
            f"{r['vcpus']:g}",
            f"{r['memory_gib']:g}",
            _money(r["hourly_price"]),
            r["num_nodes"],
            _money(r["total_hourly_price"]),
        )
        for mark, r in [("*", chosen[0]), *(("", r) for r in rest)]
    ]
    title = "Plan (* = chosen; the rest are the next-best alternatives)"
    return _render_table(title, cols, rows)
