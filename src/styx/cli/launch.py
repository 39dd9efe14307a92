"""``styx launch`` and ``styx exec``."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Any

import click

from styx.errors import TaskSpecError


def load_task(entrypoint: tuple[str, ...]) -> Any:
    """A task file, or a command line to run (``styx launch 'echo hi'``)."""
    from styx.task import Task

    if not entrypoint:
        raise TaskSpecError("no task given: pass a task YAML file or a command", field="task")
    first = entrypoint[0]
    if len(entrypoint) == 1 and (first.endswith((".yaml", ".yml")) or _is_file(first)):
        return Task.from_yaml_file(first)
    # One argument is a shell command line as typed ('echo a && echo b'); several are an argv
    # the user's shell already split, so they are quoted back exactly as they arrived.
    command = first if len(entrypoint) == 1 else shlex.join(entrypoint)
    return Task(run=command, base_dir=os.getcwd())


def _is_file(text: str) -> bool:
    """Whether ``text`` names a file; False for what cannot be a path (too long, NUL)."""
    try:
        return Path(text).is_file()
    except (OSError, ValueError):
        return False


def apply_overrides(task: Any, opts: dict[str, Any]) -> Any:
    from dataclasses import replace

    from styx.resources import Resources
    from styx.task import parse_env_pairs

    envs = {}
    if opts.get("env_file"):
        envs.update(_read_env_file(opts["env_file"]))
    envs.update(parse_env_pairs(opts.get("env") or ()))
    secrets = parse_env_pairs(opts.get("secret") or (), option="--secret")
    overrides: dict[str, Any] = {}
    for option, field in (
        ("infra", "infra"),
        ("cpus", "cpus"),
        ("memory", "memory"),
        ("gpus", "accelerators"),
        ("instance_type", "instance_type"),
        ("image_id", "image_id"),
        ("disk_size", "disk_size"),
        ("ports", "ports"),
        ("use_spot", "use_spot"),
    ):
        if opts.get(option) is not None and opts.get(option) != ():
            value = opts[option]
            overrides[field] = list(value) if isinstance(value, tuple) else value
    resources = task.resources
    if overrides:
        base = resources.to_yaml()
        if "infra" in overrides:
            for key in ("cloud", "region", "zone"):
                base.pop(key, None)
        if "instance_type" in overrides or "accelerators" in overrides:
            base.pop("any_of", None)
            base.pop("ordered", None)
        base.update(overrides)
        resources = Resources.from_yaml(base, where="resources")
    if opts.get("workdir") is not None:
        from styx.task import check_path_text

        check_path_text("--workdir", opts["workdir"])
    task = task.with_overrides(
        envs=envs,
        secrets=secrets,
        resources=resources,
        num_nodes=opts.get("num_nodes"),
        workdir=opts.get("workdir"),
    )
    if opts.get("name"):
        task = replace(task, name=opts["name"])
    return task


def _read_env_file(path: str) -> dict[str, str]:
    from styx.task import parse_env_pairs

    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise TaskSpecError(f"--env-file: cannot read '{path}': {exc.strerror}") from None
    pairs = [ln.strip().removeprefix("export ") for ln in lines]
    return parse_env_pairs([p for p in pairs if p and not p.startswith("#")], "--env-file")


def resource_options(fn: Any) -> Any:
    options = [
        click.option("--infra", help="cloud[/region[/zone]], k8s/<context>, ssh/<pool> or local"),
        click.option("--cpus", help="vCPUs per node, e.g. 4 or 4+"),
        click.option("--memory", help="GiB per node, e.g. 16 or 16+"),
        click.option("--gpus", help="accelerators per node, e.g. A100:8"),
        click.option("-t", "--instance-type", "instance_type", help="exact instance type"),
        click.option("--num-nodes", type=int, help="number of nodes"),
        click.option("--use-spot/--no-use-spot", default=None, help="use spot instances"),
        click.option("--image-id", help="machine image (or docker:<image>)"),
        click.option("--disk-size", type=int, help="disk size in GB"),
        click.option("--ports", multiple=True, help="ports to open (repeatable)"),
        click.option("--env", multiple=True, help="KEY=VALUE for the job (repeatable)"),
        click.option("--env-file", type=click.Path(), help="file of KEY=VALUE lines"),
        click.option("--secret", multiple=True, help="KEY=VALUE kept out of logs and state"),
        click.option("--workdir", help="local folder synced to ~/sky_workdir"),
        click.option("-n", "--name", help="task name"),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@click.command(context_settings={"ignore_unknown_options": False})
@click.argument("entrypoint", nargs=-1, required=True)
@click.option("-c", "--cluster", "cluster_name", help="cluster name (created or reused)")
@click.option("-y", "--yes", is_flag=True, help="do not ask for confirmation")
@click.option("-d", "--detach-run", is_flag=True, help="return once the job is submitted")
@click.option("--dryrun", is_flag=True, help="show the plan; provision nothing")
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table")
@click.option(
    "-i",
    "--idle-minutes-to-autostop",
    "idle_minutes",
    type=float,
    help="stop the cluster after this many idle minutes",
)
@click.option("--down", is_flag=True, help="with autostop: tear down instead of stopping")
@click.option("-r", "--retry-until-up", is_flag=True, help="keep retrying until launched")
@click.option("--no-setup", is_flag=True, help="skip the setup commands")
@click.option("--no-block-list", is_flag=True, help="ignore offers blocked by earlier failures")
@click.option("--keep-on-failure", is_flag=True, help="keep instances of a failed launch")
@click.option("-q", "--quiet", is_flag=True, help="no progress lines, only the job's output")
@resource_options
def launch(
    entrypoint: tuple[str, ...],
    cluster_name: str | None,
    yes: bool,
    detach_run: bool,
    dryrun: bool,
    output: str,
    idle_minutes: float | None,
    down: bool,
    retry_until_up: bool,
    no_setup: bool,
    no_block_list: bool,
    keep_on_failure: bool,
    quiet: bool,
    **opts: Any,
) -> None:
    """Launch a task (YAML file or command) on a new or existing cluster."""
    from styx.spec import check_cluster_name, check_idle_minutes
    from styx.task import warn_unsupported

    task = apply_overrides(load_task(entrypoint), opts)
    warn_unsupported(task)
    if idle_minutes is not None:
        check_idle_minutes("--idle-minutes-to-autostop", idle_minutes)
    if cluster_name is not None:
        check_cluster_name(cluster_name)
    if dryrun:
        _dryrun(task, output)
        return
    if not yes and sys.stdin.isatty():
        click.confirm(
            f"Launch '{task.name or 'task'}' on cluster '{cluster_name or '(new)'}'?",
            default=True,
            abort=True,
        )
    from styx import sdk
    from styx.errors import ResourcesUnavailableError

    try:
        sdk.launch(
            task,
            cluster_name,
            progress=(lambda _m: None) if quiet else sdk.print_progress,
            detach_run=detach_run,
            idle_minutes=idle_minutes,
            down=down,
            retry_until_up=retry_until_up,
            no_setup=no_setup,
            no_block_list=no_block_list,
            keep_on_failure=keep_on_failure,
        )
    except ResourcesUnavailableError as exc:
        if exc.history and not quiet:
            _print_history(exc)
        raise


def _print_history(exc: Any) -> None:
    """The failover history as a table on stderr, before the one-line error."""
    from styx.cli.output import build_table, console

    columns = ("CLOUD", "REGION", "ZONE", "TYPE", "SPOT", "ERROR", "CODE", "MESSAGE")
    rows = [
        (
            h.provider,
            h.region,
            h.zone,
            h.instance_type,
            "yes" if h.use_spot else "no",
            h.error_class,
            h.native_code,
            h.message[:160],
        )
        for h in exc.history
    ]
    console(stderr=True).print(build_table("Failover history", columns, rows))


def _dryrun(task: Any, output: str) -> None:
    import asyncio

    from styx.cli.catalog import print_plan
    from styx.placement import plan_offers

    print_plan(asyncio.run(plan_offers(task)), task.resources, output)


@click.command(name="exec")
@click.argument("cluster_name")
@click.argument("entrypoint", nargs=-1, required=True)
@click.option("-d", "--detach-run", is_flag=True, help="return once the job is submitted")
@click.option("--sync-workdir", is_flag=True, help="re-sync the workdir before running")
@click.option("--env", multiple=True, help="KEY=VALUE for the job (repeatable)")
@click.option("--env-file", type=click.Path(), help="file of KEY=VALUE lines")
@click.option("--secret", multiple=True, help="KEY=VALUE kept out of logs and state")
@click.option("--workdir", help="local folder to run in (synced with --sync-workdir)")
@click.option("-n", "--name", help="job name")
def exec_command(
    cluster_name: str,
    entrypoint: tuple[str, ...],
    detach_run: bool,
    sync_workdir: bool,
    **opts: Any,
) -> None:
    """Run a task or command on an up cluster (no provisioning, no setup)."""
    from styx import sdk

    task = apply_overrides(load_task(entrypoint), opts)
    sdk.exec(task, cluster_name, detach_run=detach_run, sync_workdir=sync_workdir)
