"""``python -m styx.agent --root DIR COMMAND``: the head node's side of every job operation.

Output is one JSON document of a :mod:`styx.agent.protocol` type, except for ``logs`` and
``run``, which stream the job's log bytes (``run`` and ``logs --report`` between the protocol's
markers). A refused request is one error line with a named code and the exit status
:data:`~styx.agent.protocol.ERROR_EXIT`. Kept on argparse and the standard library so it starts
fast on a bare node.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

from styx.agent.driver import JobPaths, drive
from styx.agent.jobqueue import JobQueue
from styx.agent.nodes import kill_on_node
from styx.agent.protocol import (
    ERROR_EXIT,
    MARK_FINISHED,
    MARK_SUBMITTED,
    AgentFailure,
    AgentRequestError,
    CancelResult,
    ErrorCode,
    JobInfo,
    JobSpec,
    Submitted,
    dumps,
    error_line,
)


def _print(obj: object) -> None:
    sys.stdout.write(dumps(obj) + "\n")
    sys.stdout.flush()


def _read_spec() -> JobSpec:
    try:
        return JobSpec.from_dict(json.load(sys.stdin))
    except (ValueError, TypeError, KeyError) as exc:
        raise AgentRequestError(ErrorCode.BAD_REQUEST, f"unreadable job spec: {exc}") from None


def _submit(root: Path, spec: JobSpec) -> Submitted:
    queue = JobQueue(root)
    job_id = queue.add(spec.name)
    queue.close()  # the forked driver opens its own connection
    paths = JobPaths(root, job_id)
    paths.dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d-%H-%M-%S")
    # A managed job brings its own id, the same on every cluster it is recovered onto.
    task_id = spec.task_id or f"sky-{stamp}_{spec.cluster_name}_{job_id}"
    stored = replace(spec, job_id=job_id, task_id=task_id, secrets={})
    paths.spec.write_text(dumps(stored))  # secrets stay out of every file
    paths.log.touch()
    _start_driver(root, job_id, paths, spec.secrets)
    return Submitted(job_id, task_id)


def _start_driver(root: Path, job_id: int, paths: JobPaths, secrets: dict[str, str]) -> None:
    """Fork the job's driver: a detached process (own session, no tie to the caller's stdio),
    so the job outlives the client. Forking skips a second interpreter start."""
    sys.stdout.flush()
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)  # the intermediate child exits at once
        return
    try:  # the child: never returns into the caller's code
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        err = os.open(paths.dir / "driver.err", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.dup2(err, 2)
        os.closerange(3, 1024)
        os.environ["STYX_JOB_SECRETS"] = json.dumps(secrets)
        # A grandchild does the work so the caller never has to reap it (no zombie).
        if os.fork():
            os._exit(0)
        code = drive(root, job_id)
    except BaseException:  # noqa: BLE001 - report, then exit without unwinding the caller
        import traceback

        traceback.print_exc()
        os._exit(1)
    os._exit(code & 0xFF)


def cmd_submit(root: Path, args: argparse.Namespace) -> int:
    _print(_submit(root, _read_spec()))
    return 0


def cmd_run(root: Path, args: argparse.Namespace) -> int:
    """Submit, stream the log until the job ends, then report its status: one round trip."""
    submitted = _submit(root, _read_spec())
    sys.stdout.write(f"{MARK_SUBMITTED}{dumps(submitted)}\n")
    sys.stdout.flush()
    _report(root, submitted.job_id, _follow(root, submitted.job_id, follow=True))
    return 0


def _report(root: Path, job_id: int, ended_with_newline: bool) -> None:
    job = JobQueue(root).get(job_id)
    prefix = "" if ended_with_newline else "\n"
    sys.stdout.write(f"{prefix}{MARK_FINISHED}{dumps(job)}\n")
    sys.stdout.flush()


def _resolve_job(queue: JobQueue, job_id: int | None) -> JobInfo:
    """The job named, or the latest; a refusal with a named code when there is none."""
    if job_id is None:
        jobs = queue.all()
        if not jobs:
            raise AgentRequestError(ErrorCode.NO_JOBS_YET, "no job yet")
        return jobs[-1]
    job = queue.get(job_id)
    if job is None:
        raise AgentRequestError(ErrorCode.NO_SUCH_JOB, f"no job {job_id}", (job_id,))
    return job


def _follow(root: Path, job_id: int, follow: bool) -> bool:
    """Copy the job's merged log to stdout (until the job ends, with ``follow``).

    Returns whether what was written ended with a newline (or nothing was written).
    """
    queue = JobQueue(root)
    paths = JobPaths(root, job_id)
    out = sys.stdout.buffer
    last = b"\n"
    with open(paths.log, "rb") as f:
        while True:
            chunk = f.read(65536)
            if chunk:
                out.write(chunk)
                out.flush()
                last = chunk[-1:]
                continue
            if not follow:
                return last == b"\n"
            job = queue.get(job_id)
            if job is None or (job.done and paths.done.exists()):
                rest = f.read()
                if rest:
                    out.write(rest)
                    out.flush()
                    last = rest[-1:]
                return last == b"\n"
            time.sleep(0.01)


def cmd_logs(root: Path, args: argparse.Namespace) -> int:
    job_id = _resolve_job(JobQueue(root), args.job_id).job_id
    ended_with_newline = _follow(root, job_id, args.follow)
    if args.report:
        _report(root, job_id, ended_with_newline)
    return 0


def cmd_queue(root: Path, args: argparse.Namespace) -> int:
    _print(JobQueue(root).all())
    return 0


def cmd_status(root: Path, args: argparse.Namespace) -> int:
    _print(_resolve_job(JobQueue(root), args.job_id))
    return 0


def cmd_cancel(root: Path, args: argparse.Namespace) -> int:
    queue = JobQueue(root)
    jobs = {j.job_id: j for j in queue.all()}
    missing = tuple(j for j in args.job_ids if j not in jobs)
    if missing:  # refuse the whole request: a typo never half-cancels
        names = ", ".join(map(str, missing))
        raise AgentRequestError(ErrorCode.NO_SUCH_JOB, f"no job {names}", missing)
    if not args.all and not args.job_ids:
        raise AgentRequestError(ErrorCode.BAD_REQUEST, "cancel: give job ids or --all")
    named = list(jobs.values()) if args.all else [jobs[j] for j in dict.fromkeys(args.job_ids)]
    already_done = () if args.all else tuple(j.job_id for j in named if j.done)
    cancelled = []
    for job in (j for j in named if not j.done):
        # Mark first: the driver then sees its nodes die but cannot record FAILED over this.
        if queue.finish(job.job_id, "CANCELLED", message="cancelled by user"):
            cancelled.append(job.job_id)
        paths = JobPaths(root, job.job_id)
        try:
            nodes = JobSpec.from_dict(json.loads(paths.spec.read_text())).nodes
        except (OSError, ValueError):
            nodes = ()  # submitted this instant: its driver has not started nodes
        for node in nodes:
            kill_on_node(node, None, paths.pid_file(node.rank))
        if job.driver_pid:
            try:
                os.kill(job.driver_pid, 15)
            except OSError:
                pass
        paths.done.touch()
    _print(CancelResult(tuple(cancelled), already_done))
    return 0


def cmd_autostop(root: Path, args: argparse.Namespace) -> int:
    from styx.agent.autostop import AutostopConfig, load_config, save_config

    config = load_config(root)
    if args.cancel:
        config.idle_minutes = None
    else:
        config.idle_minutes = args.idle_minutes
        config.down = args.down
        config.set_at = time.time()
    save_config(root, config)
    _print(config)
    return 0 if isinstance(config, AutostopConfig) else 1


def cmd_autostop_show(root: Path, args: argparse.Namespace) -> int:
    """The autostop setting, the cap and the daemon's last note, for `styx status -r`."""
    from styx.agent.autostop import load_config, load_note
    from styx.agent.caps import load_cap

    cap = load_cap(root)
    _print(
        {
            "idle_minutes": load_config(root).idle_minutes,
            "accrued_cost": cap.accrued() if cap else None,
            "max_total_cost": cap.max_total_cost if cap else None,
            "note": load_note(root),
        }
    )
    return 0


def cmd_cap(root: Path, args: argparse.Namespace) -> int:
    """Set (or cancel) the spending cap; the head counts from now on its own clock."""
    from styx.agent.caps import CostCap, save_cap

    cap = None
    if not args.cancel:
        cap = CostCap(args.max_cost, args.hourly_price, args.accrued, time.time(), args.down)
    save_cap(root, cap)
    _print({"max_total_cost": cap.max_total_cost if cap else None})
    return 0


def cmd_daemon(root: Path, args: argparse.Namespace) -> int:
    from styx.agent.autostop import run_daemon

    return run_daemon(root, interval_s=args.interval)


def cmd_drive(root: Path, args: argparse.Namespace) -> int:
    return drive(root, args.job_id)


class _Parser(argparse.ArgumentParser):
    """Bad arguments are a protocol refusal (BAD_REQUEST), not argparse's usage text."""

    def error(self, message: str) -> NoReturn:
        _refuse(AgentFailure(ErrorCode.BAD_REQUEST, f"{self.prog}: {message}"))


def _refuse(failure: AgentFailure) -> NoReturn:
    sys.stdout.write(error_line(failure))
    sys.stdout.flush()
    sys.exit(ERROR_EXIT)


# Client calls that count as activity for autostop: a submission is about to add a job. Reads
# (queue, logs, status -r) do not, or polling a cluster would keep it up forever.
CLIENT_CALLS = frozenset({"submit"})


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="styx-agent")
    parser.add_argument("--root", required=True, type=Path)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("submit")
    sub.add_parser("run")
    p = sub.add_parser("logs")
    p.add_argument("job_id", type=int, nargs="?")
    p.add_argument("--follow", action="store_true")
    p.add_argument("--report", action="store_true", help="end with the job's status marker")
    sub.add_parser("queue")
    p = sub.add_parser("status")
    p.add_argument("job_id", type=int, nargs="?")
    p = sub.add_parser("cancel")
    p.add_argument("job_ids", type=int, nargs="*")
    p.add_argument("--all", action="store_true")
    p = sub.add_parser("autostop")
    p.add_argument("--idle-minutes", type=float)
    p.add_argument("--down", action="store_true")
    p.add_argument("--cancel", action="store_true")
    sub.add_parser("autostop_show")
    p = sub.add_parser("cap")
    p.add_argument("--max-cost", type=float)
    p.add_argument("--hourly-price", type=float, default=0.0)
    p.add_argument("--accrued", type=float, default=0.0)
    p.add_argument("--down", action="store_true")
    p.add_argument("--cancel", action="store_true")
    p = sub.add_parser("daemon")
    # The client sends its config.yaml's autostop.check_interval_s here.
    p.add_argument("--interval", type=float, default=10.0)
    p = sub.add_parser("drive")
    p.add_argument("job_id", type=int)
    args = parser.parse_args(argv)
    # Job specs, logs and the queue database are the user's alone (0700 folders, 0600 files);
    # jobs inherit this umask, as they would from a login shell with `umask 077`.
    os.umask(0o077)
    args.root.mkdir(mode=0o700, parents=True, exist_ok=True)
    if args.root.stat().st_mode & 0o077:
        args.root.chmod(0o700)  # a root made by an older agent
    if args.command in CLIENT_CALLS:
        from styx.agent.autostop import note_client_activity

        note_client_activity(args.root)
    handler = globals()[f"cmd_{args.command}"]
    try:
        return int(handler(args.root, args))
    except AgentRequestError as exc:
        _refuse(exc.failure)
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the client gets a named code, stderr the trace
        import traceback

        traceback.print_exc()
        _refuse(AgentFailure(ErrorCode.INTERNAL, f"{type(exc).__name__}: {exc}"))


if __name__ == "__main__":
    sys.exit(main())
