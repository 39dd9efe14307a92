"""``styx cost-report``: cluster costs from the catalog price in force and the time up."""

from __future__ import annotations

import click

from styx.cli.output import print_json, print_table


def _days(ctx: click.Context, param: click.Parameter, value: float) -> float:
    from styx.cost.report import MAX_DAYS

    if not 0 < value <= MAX_DAYS:  # nan fails this too
        raise click.BadParameter(f"got {value:g}, expected days in (0, {MAX_DAYS}]")
    return value


@click.command("cost-report")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.option(
    "--days", type=float, default=30.0, show_default=True, callback=_days,
    help="only the last N days",
)  # fmt: skip
@click.option("-u", "--all-users", is_flag=True, help="every user's clusters (API server admins)")
def cost_report(as_json: bool, days: float, all_users: bool) -> None:
    """Show what each cluster cost (alive or gone), the total and the current hourly burn."""
    from styx.client.remote_ops import remote_ops_for
    from styx.cost.report import build_report, money

    if remote := remote_ops_for(all_users):  # the user's own clusters (admins: --all-users)
        report = remote.cost_report(days, all_users)
    else:
        from styx.state import open_store

        report = build_report(open_store(), days)
    if as_json:
        print_json(report.to_dict())
        return
    if not report.clusters:
        click.echo(f"No cluster ran in the last {days:g} day(s).")
        return
    rows = []
    for c in report.clusters:
        for u in c.usage:
            kind = "spot" if u.use_spot else "on-demand"
            rows.append(
                [
                    c.cluster,
                    "UP" if c.running else ("kept" if c.alive else "gone"),
                    "/".join(p for p in (c.provider, c.region) if p),
                    f"{u.num_nodes}x {u.instance_type or '-'}",
                    kind,
                    f"{money(u.node_hourly_price * u.num_nodes)}/h",
                    f"{u.hours:.2f}h",
                    money(u.cost),
                ]
            )
    columns = ["CLUSTER", "STATE", "INFRA", "RESOURCES", "PRICE", "RATE", "TIME", "COST"]
    print_table(None, columns, rows)
    click.echo(f"Total: {money(report.total_cost)} over the last {days:g} day(s)")
    click.echo(f"Burning now: {money(report.hourly_burn)}/h")
