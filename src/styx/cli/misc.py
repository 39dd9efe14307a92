"""``styx check`` and ``styx schema``."""

from __future__ import annotations

import asyncio

import click

from styx.cli.output import print_json, print_table


@click.command()
@click.argument("clouds", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def check(clouds: tuple[str, ...], as_json: bool) -> None:
    """Check credentials of every provider and remember which are enabled."""
    from styx.client.remote_ops import remote_ops

    if remote := remote_ops():  # the server's credentials are the ones that count
        results = remote.check(list(clouds))
    else:
        from styx.cloud_check import check_clouds

        results = asyncio.run(check_clouds(list(clouds)))
    if as_json:
        print_json([r.to_dict() for r in results])
        return
    rows = [[r.cloud, "enabled" if r.enabled else "disabled", r.detail] for r in results]
    print_table(None, ["CLOUD", "STATUS", "DETAIL"], rows)


@click.command()
def schema() -> None:
    """Print the JSON Schema of the task file."""
    from styx.schema import task_schema

    print_json(task_schema())
