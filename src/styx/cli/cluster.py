"""Cluster and job commands: status, queue, logs, cancel, stop, start, down, autostop."""

from __future__ import annotations

import sys

import click

from styx.cli.output import ago, duration, print_json, print_table


@click.command()
@click.argument("clusters", nargs=-1)
@click.option("-r", "--refresh", is_flag=True, help="ask the providers for the real state")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.option("--ip", is_flag=True, help="print the head node's IP only")
@click.option("--blocked", is_flag=True, help="show placements blocked by earlier failures")
@click.option(
    "--endpoints",
    is_flag=True,
    help="print the URL of each port the cluster opened: --endpoints CLUSTER [PORT]",
)
@click.option(
    "--all-users", is_flag=True, help="with an API server: every user's clusters (admins)"
)
def status(
    clusters: tuple[str, ...],
    refresh: bool,
    as_json: bool,
    ip: bool,
    blocked: bool,
    endpoints: bool,
    all_users: bool,
) -> None:
    """Show clusters."""
    if blocked:
        _show_blocked(as_json)
        return
    if endpoints:
        _show_endpoints(clusters, as_json)
        return
    from styx.client.settings import configured

    if configured():  # through the API server
        from styx.client.sdk_remote import remote_sdk

        remote = remote_sdk()
        assert remote is not None
        records = remote.status(refresh, list(clusters) or None, all_users)
    elif all_users:
        raise click.UsageError("--all-users needs an API server (styx api login)")
    elif refresh:
        from styx import sdk

        records = sdk.status(refresh=True, cluster_names=list(clusters) or None)
    else:  # the plain listing reads the state file only: no asyncio, no providers (fast)
        from styx.state import open_store

        records = [r for r in open_store().list_clusters() if not clusters or r.name in clusters]
    if ip:
        from styx.state import open_store

        store = open_store()
        for record in records:
            instances = store.instances(record.name)
            click.echo(instances[0].ip if instances else "-")
        return
    from styx.state import open_store

    store = open_store()
    from styx.cost.status_cells import cost_cells

    if as_json:
        out = []
        for r in records:
            jobs = store.jobs(r.name)
            extra = cost_cells(store, r).to_dict()
            out.append({**r.to_dict(), **extra, "last_job": jobs[-1].__dict__ if jobs else None})
        print_json(out)
        return
    if not records:
        click.echo("No existing clusters.")
        return
    rows = []
    for r in records:
        jobs = store.jobs(r.name)
        last = f"{jobs[-1].job_id} {jobs[-1].status}" if jobs else "-"
        autostop = "-"
        if r.autostop_minutes is not None:
            autostop = f"{r.autostop_minutes:g}m" + (" (down)" if r.autostop_down else "")
        cells = cost_cells(store, r)
        if cells.head_note:
            autostop = f"{autostop} ({cells.head_note})" if autostop != "-" else cells.head_note
        where = "/".join(p for p in (r.provider, r.region, r.zone) if p)
        shape = f"{r.num_nodes}x {r.instance_type or '-'}" + (" [spot]" if r.use_spot else "")
        rows.append(
            [r.name, ago(r.launched_at), where, shape, r.status.value, cells.price, cells.cost,
             autostop, last]
        )  # fmt: skip
    columns = ["NAME", "LAUNCHED", "INFRA", "RESOURCES", "STATUS", "PRICE", "COST", "AUTOSTOP",
               "LAST JOB"]  # fmt: skip
    print_table(None, columns, rows)


def _show_endpoints(args: tuple[str, ...], as_json: bool) -> None:
    """``--endpoints CLUSTER [PORT]``: one ``PORT: URL`` line per port, or the URL alone."""
    if not 1 <= len(args) <= 2:
        raise click.UsageError("--endpoints takes a cluster name and optionally a port")
    port = None
    if len(args) == 2:
        if not args[1].isdigit() or not 1 <= int(args[1]) <= 65535:
            raise click.UsageError(f"--endpoints: got port '{args[1]}', expected 1-65535")
        port = int(args[1])
    from styx.core.clusters import require_up
    from styx.core.endpoints import endpoints
    from styx.state import open_store

    store = open_store()
    record = require_up(store, args[0])
    urls = endpoints(record, store.instances(record.name), port)
    if as_json:
        print_json({str(p): url for p, url in urls.items()})
    elif port is not None:
        click.echo(urls[port])
    else:
        for p, url in urls.items():
            click.echo(f"{p}: {url}")


def _show_blocked(as_json: bool) -> None:
    from styx.state import open_store

    blocked = open_store().blocked()
    if as_json:
        print_json([b.to_dict() for b in blocked])
        return
    if not blocked:
        click.echo("Nothing is blocked.")
        return
    import time

    rows = [
        [
            b.key.describe(),
            b.error_class,
            b.native_code,
            f"{int(b.expires_at - time.time())}s",
            (b.reason or "")[:60],
        ]
        for b in blocked
    ]
    print_table(None, ["BLOCKED", "ERROR", "CODE", "EXPIRES IN", "REASON"], rows)


@click.command()
@click.argument("cluster_name")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def queue(cluster_name: str, as_json: bool) -> None:
    """Show a cluster's job queue."""
    from styx import sdk

    jobs = sdk.queue(cluster_name)
    if as_json:
        print_json(jobs)
        return
    if not jobs:
        click.echo(f"No jobs on cluster '{cluster_name}'.")
        return
    rows = [
        [
            j["job_id"],
            j.get("name") or "-",
            ago(j["submitted_at"]),
            duration(j.get("started_at"), j.get("ended_at")),
            j["status"],
            j.get("exit_code"),
            j.get("message") or "",
        ]
        for j in jobs
    ]
    print_table(
        f"Job queue of '{cluster_name}'",
        ["ID", "NAME", "SUBMITTED", "DURATION", "STATUS", "EXIT", "MESSAGE"],
        rows,
    )


@click.command()
@click.argument("cluster_name")
@click.argument("job_id", type=int, required=False)
@click.option("-f", "--follow/--no-follow", default=True, help="follow until the job ends")
def logs(cluster_name: str, job_id: int | None, follow: bool) -> None:
    """Print (and follow) a job's output; the latest job when no id is given."""
    from styx import sdk

    job = sdk.logs(cluster_name, job_id, follow=follow)
    if job and follow and job.get("status") in ("FAILED", "FAILED_SETUP", "CANCELLED"):
        sys.exit(int(job.get("exit_code") or 1))


@click.command()
@click.argument("cluster_name")
@click.argument("job_ids", type=int, nargs=-1)
@click.option("-a", "--all", "all_jobs", is_flag=True, help="cancel every unfinished job")
@click.option("-y", "--yes", is_flag=True, help="do not ask for confirmation")
def cancel(cluster_name: str, job_ids: tuple[int, ...], all_jobs: bool, yes: bool) -> None:
    """Cancel jobs on a cluster."""
    from styx import sdk

    # A job id the cluster never had is a JobError (one line, non-zero) before anything is done.
    cancelled = sdk.cancel(cluster_name, list(job_ids), all_jobs)
    nothing = "nothing (already finished)" if job_ids else "nothing (no unfinished job)"
    click.echo(f"Cancelled: {', '.join(map(str, cancelled)) or nothing}")


def _for_each(verb: str, names: tuple[str, ...], yes: bool, all_clusters: bool = False) -> None:
    from styx import sdk

    if all_clusters:
        names = tuple(r.name for r in sdk.status())
    if not names:
        raise click.UsageError(f"{verb}: name at least one cluster")
    if not yes and sys.stdin.isatty():
        click.confirm(f"{verb.capitalize()} {', '.join(names)}?", default=True, abort=True)
    from styx.errors import StyxError

    fn = {"stop": sdk.stop, "start": sdk.start, "down": sdk.down}[verb]
    failed = 0
    for name in names:  # one name that cannot be done never keeps the others from being done
        try:
            fn(name)
        except StyxError as exc:
            failed += 1
            message = " ".join(str(exc).split()) or type(exc).__name__
            click.echo(f"styx: error: {verb} '{name}': {message}", err=True)
            continue
        click.echo(f"{verb}: cluster '{name}' done")
    if failed:
        sys.exit(1)


@click.command()
@click.argument("clusters", nargs=-1)
@click.option("-y", "--yes", is_flag=True)
@click.option("-a", "--all", "all_clusters", is_flag=True)
def stop(clusters: tuple[str, ...], yes: bool, all_clusters: bool) -> None:
    """Stop clusters (disks kept; restart with `styx start`)."""
    _for_each("stop", clusters, yes, all_clusters)


@click.command()
@click.argument("clusters", nargs=-1)
@click.option("-y", "--yes", is_flag=True)
def start(clusters: tuple[str, ...], yes: bool) -> None:
    """Start stopped clusters."""
    _for_each("start", clusters, True)


@click.command()
@click.argument("clusters", nargs=-1)
@click.option("-y", "--yes", is_flag=True)
@click.option("-a", "--all", "all_clusters", is_flag=True)
def down(clusters: tuple[str, ...], yes: bool, all_clusters: bool) -> None:
    """Tear down clusters: terminate every instance."""
    _for_each("down", clusters, yes, all_clusters)


@click.command()
@click.argument("cluster_name")
@click.option("-i", "--idle-minutes", type=float, help="idle minutes before stopping")
@click.option("--down", is_flag=True, help="tear down instead of stopping")
@click.option("--cancel", "cancel_", is_flag=True, help="cancel autostop")
def autostop(cluster_name: str, idle_minutes: float | None, down: bool, cancel_: bool) -> None:
    """Stop (or tear down) a cluster after it has been idle for a while."""
    from styx import sdk

    if cancel_:
        sdk.autostop(cluster_name, None)
        click.echo(f"autostop cancelled on '{cluster_name}'")
        return
    from styx.spec import check_idle_minutes

    minutes = 5.0 if idle_minutes is None else check_idle_minutes("--idle-minutes", idle_minutes)
    sdk.autostop(cluster_name, minutes, down)
    click.echo(f"'{cluster_name}' will {'go down' if down else 'stop'} after {minutes:g} idle min")
