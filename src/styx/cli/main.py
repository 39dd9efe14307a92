"""Entry point: ``styx``. Command modules are imported lazily so ``styx --help`` stays fast."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

# command name -> (module, attribute). Loaded only when that command runs (or for --help).
COMMANDS: dict[str, tuple[str, str]] = {
    "launch": ("styx.cli.launch", "launch"),
    "exec": ("styx.cli.launch", "exec_command"),
    "status": ("styx.cli.cluster", "status"),
    "queue": ("styx.cli.cluster", "queue"),
    "logs": ("styx.cli.cluster", "logs"),
    "cancel": ("styx.cli.cluster", "cancel"),
    "stop": ("styx.cli.cluster", "stop"),
    "start": ("styx.cli.cluster", "start"),
    "down": ("styx.cli.cluster", "down"),
    "autostop": ("styx.cli.cluster", "autostop"),
    "cost-report": ("styx.cli.cost", "cost_report"),
    "check": ("styx.cli.misc", "check"),
    "gpus": ("styx.cli.catalog", "gpus"),
    "show-gpus": ("styx.cli.catalog", "show_gpus"),
    "catalog": ("styx.cli.catalog", "catalog"),
    "schema": ("styx.cli.misc", "schema"),
    "storage": ("styx.cli.storage", "storage"),
    "jobs": ("styx.cli.jobs", "jobs"),
    "api": ("styx.cli.api", "api"),
}
SUMMARIES = {
    "launch": "Launch a task on a new or existing cluster.",
    "exec": "Run a task or command on an up cluster.",
    "status": "Show clusters.",
    "queue": "Show a cluster's job queue.",
    "logs": "Print (and follow) a job's output.",
    "cancel": "Cancel jobs on a cluster.",
    "stop": "Stop clusters.",
    "start": "Start stopped clusters.",
    "down": "Tear down clusters.",
    "autostop": "Stop or tear down a cluster when idle.",
    "cost-report": "Show what clusters cost, the total and the hourly burn.",
    "check": "Show which clouds are enabled, and why not.",
    "gpus": "List accelerators, instance types and prices.",
    "show-gpus": "Old name of `gpus list`.",
    "catalog": "List, inspect or refresh the price catalog.",
    "schema": "Print the JSON Schema of the task file.",
    "storage": "List or delete buckets Styx created.",
    "jobs": "Managed jobs: launch, queue, logs, cancel (spot recovery, pipelines).",
    "api": "Run or use a Styx API server (shared clusters for a team).",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module = importlib.import_module(target[0])
        command: click.Command = getattr(module, target[1])
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Summaries are listed here so that --help imports no command module.
        with formatter.section("Commands"):
            formatter.write_dl([(name, SUMMARIES.get(name, "")) for name in COMMANDS])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="styx", prog_name="styx")
def cli() -> None:
    """Styx: run AI and batch jobs on any infrastructure from one task file."""


def main(argv: list[str] | None = None) -> Any:
    import os

    from styx import PRIVATE_UMASK
    from styx.errors import StyxError

    # Everything this command writes (state, logs, caches, a local node's files) is private.
    os.umask(PRIVATE_UMASK)

    try:
        return cli.main(args=argv, prog_name="styx", standalone_mode=False)
    except StyxError as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        sys.stderr.write(f"styx: error: {message}\n")
        sys.exit(exc.exit_code)
    except click.exceptions.Abort as exc:
        from styx.client.remote import Detached

        if isinstance(exc.__cause__, Detached):  # Ctrl-C on a server's request: it runs on
            sys.exit(130)
        sys.stderr.write("styx: aborted\n")
        sys.exit(1)
    except click.UsageError as exc:
        # click prints usage, a blank line and the error; Styx's promise is one line.
        command = exc.ctx.command_path if exc.ctx is not None else "styx"
        message = " ".join(exc.format_message().split())
        sys.stderr.write(f"styx: error: {message} (see '{command} --help')\n")
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        sys.stderr.write(f"styx: error: {' '.join(exc.format_message().split())}\n")
        sys.exit(exc.exit_code)
    except OSError as exc:
        # A file Styx was told to read or write: say which and why, without a traceback.
        where = f": {exc.filename}" if exc.filename else ""
        reason = exc.strerror or type(exc).__name__
        sys.stderr.write(f"styx: error: {reason}{where}"[:2000] + "\n")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.stderr.write("styx: interrupted\n")
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
