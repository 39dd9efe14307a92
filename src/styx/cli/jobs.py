"""``styx jobs``: managed jobs (launch, queue, logs, cancel)."""

from __future__ import annotations

import sys
from typing import Any

import click

from styx.cli.launch import apply_overrides, load_task_or_pipeline, resource_options
from styx.cli.output import ago, duration, print_json, print_table


@click.group()
def jobs() -> None:
    """Managed jobs: recovered from preemption, torn down when done."""


@jobs.command("launch")
@click.argument("entrypoint", nargs=-1, required=True)
@click.option("-y", "--yes", is_flag=True, help="do not ask for confirmation")
@click.option("-d", "--detach-run", is_flag=True, help="return once the job is submitted")
@click.option("-r", "--retry-until-up", is_flag=True, help="keep retrying until launched")
@resource_options
def launch(
    entrypoint: tuple[str, ...], yes: bool, detach_run: bool, retry_until_up: bool, **opts: Any
) -> None:
    """Submit a task (or a pipeline: one managed job per stage, in order) as a managed job."""
    from styx.pipeline import Pipeline
    from styx.task import warn_unsupported

    loaded = load_task_or_pipeline(entrypoint)
    pipeline_name = None
    if isinstance(loaded, Pipeline):
        stages = []
        for index, stage in enumerate(loaded.stages):
            try:
                stages.append(apply_overrides(stage, opts))
            except Exception as exc:
                from styx.errors import StyxError

                if isinstance(exc, StyxError):
                    raise type(exc)(f"pipeline stage {index + 1}: {exc}") from None
                raise
        pipeline_name = loaded.name or opts.get("name") or "pipeline"
    else:
        stages = [apply_overrides(loaded, opts)]
    for stage in stages:
        warn_unsupported(stage)
    if not yes and sys.stdin.isatty():
        what = (
            f"pipeline '{pipeline_name}' ({len(stages)} stages)"
            if pipeline_name
            else (f"'{stages[0].name or 'task'}'")
        )
        click.confirm(f"Launch {what} as a managed job?", default=True, abort=True)
    ids = _api().submit(stages, pipeline=pipeline_name, retry_until_up=retry_until_up)
    if len(ids) == 1:
        click.echo(f"Managed job {ids[0]} submitted.")
    else:
        listed = ", ".join(str(i) for i in ids)
        click.echo(f"Managed jobs {listed} submitted (pipeline '{pipeline_name}').")
    if detach_run:
        return
    last = None
    for job_id in ids:
        last = _api().stream_log(job_id, True, _write)
        if last.status.value != "SUCCEEDED":
            break
    assert last is not None
    _exit_for(last)


def _api(all_users: bool = False) -> Any:
    """Where managed jobs live: the API server when one is configured (its controller runs
    them), else this machine (styx.jobs.api, whose calls have the same shapes)."""
    from styx.client.remote_ops import remote_ops_for

    if remote := remote_ops_for(all_users):
        return remote
    from styx.jobs import api

    return api


def _users(all_users: bool) -> dict[str, bool]:
    """``all_users`` for the server's calls only (the in-process ones have no such argument:
    :func:`_api` refused --all-users without a server)."""
    return {"all_users": True} if all_users else {}


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _exit_for(job: Any) -> None:
    """Exit with the job's code: 0 when it succeeded, its own code when it failed with one."""
    reason = f": {job.failure_reason}" if job.failure_reason else ""
    click.echo(f"styx: managed job {job.job_id} {job.status.value}{reason}", err=True)
    if job.status.value == "SUCCEEDED":
        return
    code = job.exit_code
    sys.exit(code if isinstance(code, int) and 0 < code < 256 else 1)


@jobs.command("queue")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@click.option("-a", "--all", "show_all", is_flag=True, help="every job, not only recent ones")
@click.option("-u", "--all-users", is_flag=True, help="every user's jobs (API server admins)")
def queue(as_json: bool, show_all: bool, all_users: bool) -> None:
    """Show managed jobs (unfinished ones and the 20 most recently finished)."""
    api = _api(all_users)
    records = api.queue(include_all=show_all, **_users(all_users))
    if as_json:
        print_json([j.to_public() for j in records])
        return
    if not records:
        click.echo("No managed jobs.")
        return
    rows = [
        [
            j.job_id,
            j.name or "-",
            f"{j.pipeline} {j.stage + 1}/{j.num_stages}"
            if j.pipeline_id is not None and j.stage is not None
            else "-",
            ago(j.submitted_at),
            duration(j.started_at, j.ended_at),
            j.status.value,
            j.recovery_count,
            j.infra or "-",
            (j.failure_reason or "")[:80],
        ]
        for j in records
    ]
    print_table(
        "Managed jobs",
        ["ID", "NAME", "STAGE", "SUBMITTED", "DURATION", "STATUS", "RECOVERIES", "INFRA", "REASON"],
        rows,
    )


@jobs.command("logs")
@click.argument("job_id", type=int)
@click.option("-f", "--follow/--no-follow", default=True, help="follow until the job ends")
@click.option("-u", "--all-users", is_flag=True, help="any user's job (API server admins)")
def logs(job_id: int, follow: bool, all_users: bool) -> None:
    """Print (and follow) a managed job's output, across every cluster it ran on."""
    api = _api(all_users)
    job = api.stream_log(job_id, follow, _write, **_users(all_users))
    if follow and job.status.final and job.status.value != "SUCCEEDED":
        code = job.exit_code
        sys.exit(code if isinstance(code, int) and 0 < code < 256 else 1)


@jobs.command("cancel")
@click.argument("job_ids", type=int, nargs=-1)
@click.option("-a", "--all", "all_jobs", is_flag=True, help="every unfinished managed job")
@click.option("-y", "--yes", is_flag=True, help="do not ask for confirmation")
@click.option("-u", "--all-users", is_flag=True, help="any user's jobs (API server admins)")
def cancel(job_ids: tuple[int, ...], all_jobs: bool, yes: bool, all_users: bool) -> None:
    """Cancel managed jobs; their clusters are torn down."""
    from styx.errors import StyxError

    api = _api(all_users)

    if not job_ids and not all_jobs:
        raise StyxError("jobs cancel: give job ids or --all")
    if job_ids and all_jobs:
        raise StyxError("jobs cancel: give job ids or --all, not both")
    if not yes and sys.stdin.isatty():
        what = "every unfinished managed job" if all_jobs else f"managed job(s) {list(job_ids)}"
        click.confirm(f"Cancel {what}?", default=True, abort=True)
    marked, done = api.cancel(list(job_ids), all_jobs, **_users(all_users))
    if marked:
        click.echo(f"Cancelling managed job(s) {', '.join(map(str, marked))}.")
    for job_id in done:
        click.echo(f"Managed job {job_id} had already finished.")
    if not marked and not done:
        click.echo("No unfinished managed jobs.")
