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
    from styx.pipeline import Pipeline

    loaded = load_task_or_pipeline(entrypoint)
    if isinstance(loaded, Pipeline):
        raise TaskSpecError(
            f"{entrypoint[0]}: a pipeline ({len(loaded.stages)} tasks) runs as a managed job "
            "(use 'styx jobs launch'), not on one cluster",
            field="task",
        )
    return loaded


def load_task_or_pipeline(entrypoint: tuple[str, ...]) -> Any:
    """A task file (a :class:`~styx.pipeline.Pipeline` when it holds several), or a command."""
    from styx.pipeline import load_task_or_pipeline as load_file
    from styx.task import Task

    if not entrypoint:
        raise TaskSpecError("no task given: pass a task YAML file or a command", field="task")
    first = entrypoint[0]
    if len(entrypoint) == 1 and (first.endswith((".yaml", ".yml")) or _is_file(first)):
        return load_file(first)
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
        envs.update(read_env_file(opts["env_file"]))
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
        ("max_total_cost", "max_total_cost"),
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
        # Branches skipped when the file was read are not written back: keep their notes.
        resources = replace(
            Resources.from_yaml(base, where="resources"),
            skipped_branches=resources.skipped_branches,
        )
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


def read_env_file(path: str) -> dict[str, str]:
    """A dotenv file: ``KEY=VALUE`` lines, ``export KEY=VALUE``, ``# comments``, values in
    single quotes (taken as written) or double quotes (``\\n``, ``\\"`` unescaped)."""
    from styx.spec import clip
    from styx.task import parse_env_pairs
    from styx.yamlsafe import MAX_FILE_BYTES

    try:
        with open(path, "rb") as f:  # read no more than the bound, however large the file
            data = f.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise TaskSpecError(
                f"--env-file: '{clip(path, 120)}' is over the {MAX_FILE_BYTES} bytes it may have"
            )
        lines = data.decode("utf-8").splitlines()
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or "not a UTF-8 text file"
        raise TaskSpecError(f"--env-file: cannot read '{clip(path, 120)}': {reason}") from None
    pairs = []
    for line in lines:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        text = text.removeprefix("export ").strip()
        key, sep, value = text.partition("=")
        pairs.append(f"{key.strip()}{sep}{_dotenv_value(value.strip())}" if sep else text)
    return parse_env_pairs(pairs, "--env-file")


def _dotenv_value(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
    return value.split(" #", 1)[0].rstrip()  # an unquoted value ends at a comment


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
        click.option(
            "--max-cost",
            "max_total_cost",
            type=float,
            help="spending cap in dollars: the head stops the cluster (downs it with --down) "
            "when its accrued cost reaches this",
        ),
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
    from styx.pipeline import Pipeline, map_stages
    from styx.spec import check_cluster_name, check_idle_minutes
    from styx.task import warn_unsupported

    loaded = load_task_or_pipeline(entrypoint)
    if idle_minutes is not None:
        check_idle_minutes("--idle-minutes-to-autostop", idle_minutes)
    if cluster_name is not None:
        check_cluster_name(cluster_name)
    if isinstance(loaded, Pipeline):
        pipeline = map_stages(loaded, lambda stage: apply_overrides(stage, opts))
        for stage in pipeline.stages:
            warn_unsupported(stage)
        if not dryrun:
            raise TaskSpecError(
                f"{entrypoint[0]}: a pipeline ({len(pipeline.stages)} tasks) runs as a managed "
                "job: use 'styx jobs launch' (or plan it with --dryrun)",
                field="task",
            )
        _dryrun_pipeline(pipeline, output)
        return
    task = apply_overrides(loaded, opts)
    warn_unsupported(task)
    if dryrun:
        _note_missing_values(task)
        _dryrun(task, output)
        return
    task.check_required_values()
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


def _note_missing_values(task: Any) -> None:
    """A dry run plans without the values passed at launch, but says which are missing."""
    for where in task.missing_values():
        name = where.split(".", 1)[1]
        print(
            f"styx: note: {where} has no value; a launch needs --env {name}=... or "
            f"--secret {name}=...",
            file=sys.stderr,
        )


def _dryrun_pipeline(pipeline: Any, output: str) -> None:
    """Every stage planned on its own: a table per stage, or one JSON document."""
    import asyncio
    import json

    from styx.cli.catalog import render_plan
    from styx.placement import plan_offers

    stages = []
    for index, stage in enumerate(pipeline.stages):
        _note_missing_values(stage)
        offers = asyncio.run(plan_offers(stage))
        name = pipeline.stage_name(index)
        if output == "json":
            stages.append(
                {"stage": index + 1, "name": name, **json.loads(render_plan(offers, output="json"))}
            )
        else:
            click.echo(f"Stage {index + 1}/{len(pipeline.stages)}: {name}")
            click.echo(render_plan(offers, output=output))
    if output == "json":
        click.echo(json.dumps({"pipeline": pipeline.name, "stages": stages}, indent=2))


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
