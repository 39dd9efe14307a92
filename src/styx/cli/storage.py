"""``styx storage ls`` and ``styx storage delete``."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click

from styx.cli.output import ago, print_json, print_table


@click.group()
def storage() -> None:
    """List or delete buckets Styx created."""


def _list_buckets(all_users: bool) -> list[Any]:
    from styx.client.remote_ops import remote_ops_for

    if remote := remote_ops_for(all_users):
        return remote.list_buckets(all_users)
    from styx.storage.manage import list_buckets

    return list_buckets()


async def _delete(name: str, all_users: bool) -> Any:
    from styx.client.remote_ops import remote_ops_for

    if remote := remote_ops_for(all_users):
        return remote.delete_bucket(name, all_users)
    from styx.storage import manage

    return await manage.delete(name)


@storage.command("ls")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.option("-u", "--all-users", is_flag=True, help="every user's buckets (API server admins)")
def ls(as_json: bool, all_users: bool) -> None:
    """List the buckets Styx created (through an API server: the user's own)."""
    buckets = _list_buckets(all_users)
    if as_json:
        print_json(
            [
                {
                    "name": b.name,
                    "store": b.store.value,
                    "url": b.url,
                    "region": b.region,
                    "persistent": b.persistent,
                    "cluster": b.cluster,
                    "created_at": b.created_at,
                }
                for b in buckets
            ]
        )
        return
    rows = [
        [
            b.name,
            b.store.value,
            b.url,
            b.region,
            "yes" if b.persistent else "no",
            b.cluster,
            ago(b.created_at),
        ]
        for b in buckets
    ]
    print_table(None, ["NAME", "STORE", "URL", "REGION", "PERSISTENT", "CLUSTER", "CREATED"], rows)


@storage.command("delete")
@click.argument("names", nargs=-1)
@click.option("-a", "--all", "all_buckets", is_flag=True, help="every bucket Styx created")
@click.option("-y", "--yes", is_flag=True)
@click.option("-u", "--all-users", is_flag=True, help="any user's buckets (API server admins)")
def delete(names: tuple[str, ...], all_buckets: bool, yes: bool, all_users: bool) -> None:
    """Delete buckets Styx created, with everything in them."""
    from styx.errors import StyxError

    if all_buckets:
        names = tuple(b.url for b in _list_buckets(all_users))
    if not names:
        raise click.UsageError("delete: name at least one bucket (or --all)")
    if not yes and sys.stdin.isatty():
        click.confirm(f"Delete {', '.join(names)} and everything in them?", abort=True)
    failed = 0
    for name in names:  # one that cannot be deleted never keeps the others
        try:
            record = asyncio.run(_delete(name, all_users))
        except StyxError as exc:
            failed += 1
            click.echo(f"styx: error: delete '{name}': {' '.join(str(exc).split())}", err=True)
            continue
        click.echo(f"deleted bucket {record.url}")
    if failed:
        sys.exit(1)
