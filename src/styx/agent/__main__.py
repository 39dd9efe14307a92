"""``python -m styx.agent --root DIR COMMAND``: the head node's side of every job operation.

Output is JSON (one document) except for ``logs`` and ``run``, which stream the job's log bytes
(``run`` and ``logs --report`` between the markers of :mod:`styx.agent.protocol`). Kept on
argparse and the standard library so it starts fast on a bare node.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from styx.agent.driver import JobPaths, drive
from styx.agent.jobqueue import JobQueue
from styx.agent.nodes import NodeSpec, kill_on_node
from styx.agent.protocol import MARK_FINISHED, MARK_SUBMITTED


def _print(obj: object) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _submit(root: Path, spec: dict[str, object]) -> tuple[int, str]:
    secrets = spec.pop("secrets", {}) or {}
    queue = JobQueue(root)
    job_id = queue.add(spec.get("name"))  # type: ignore[arg-type]
    queue.close()  # the forked driver opens its own connection
    paths = JobPaths(root, job_id)
    paths.dir.mkdir(parents=True, exist_ok=True)
    spec["job_id"] = job_id
    stamp = time.strftime("%Y-%m-%d-%H-%M-%S")
    task_id = f"sky-{stamp}_{spec.get('cluster_name', '')}_{job_id}"
    spec["task_id"] = task_id
    paths.spec.write_text(json.dumps(spec))  # secrets stay out of every file
    paths.log.touch()
    _start_driver(root, job_id, paths, secrets)
    return job_id, task_id


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
    job_id, task_id = _submit(root, json.load(sys.stdin))
    _print({"job_id": job_id, "task_id": task_id})
    return 0


def cmd_run(root: Path, args: argparse.Namespace) -> int:
    """Submit, stream the log until the job ends, then report its status: one round trip."""
    job_id, task_id = _submit(root, json.load(sys.stdin))
    sys.stdout.write(f"{MARK_SUBMITTED}{json.dumps({'job_id': job_id, 'task_id': task_id})}\n")
    sys.stdout.flush()
    _report(root, job_id, _follow(root, job_id, follow=True))
    return 0


def _report(root: Path, job_id: int, ended_with_newline: bool) -> None:
    job = JobQueue(root).get(job_id)
    prefix = "" if ended_with_newline else "\n"
    sys.stdout.write(f"{prefix}{MARK_FINISHED}{json.dumps(job.to_dict() if job else None)}\n")
    sys.stdout.flush()


def _resolve_job(queue: JobQueue, job_id: int | None) -> int | None:
    if job_id is not None:
        return job_id
    jobs = queue.all()
    return jobs[-1].job_id if jobs else None


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
    queue = JobQueue(root)
    job_id = _resolve_job(queue, args.job_id)
    if job_id is None or queue.get(job_id) is None:
        sys.stderr.write(f"no job {args.job_id if args.job_id is not None else '(none yet)'}\n")
        return 3
    ended_with_newline = _follow(root, job_id, args.follow)
    if args.report:
        _report(root, job_id, ended_with_newline)
    return 0


def cmd_queue(root: Path, args: argparse.Namespace) -> int:
    _print([j.to_dict() for j in JobQueue(root).all()])
    return 0


def cmd_status(root: Path, args: argparse.Namespace) -> int:
    queue = JobQueue(root)
    job_id = _resolve_job(queue, args.job_id)
    job = queue.get(job_id) if job_id is not None else None
    _print(job.to_dict() if job else None)
    return 0 if job else 3


def cmd_cancel(root: Path, args: argparse.Namespace) -> int:
    queue = JobQueue(root)
    targets = [j for j in queue.all() if not j.done and (args.all or j.job_id in args.job_ids)]
    cancelled = []
    for job in targets:
        # Mark first: the driver then sees its nodes die but cannot record FAILED over this.
        if queue.finish(job.job_id, "CANCELLED", message="cancelled by user"):
            cancelled.append(job.job_id)
        paths = JobPaths(root, job.job_id)
        try:
            spec = json.loads(paths.spec.read_text())
        except (OSError, ValueError):
            spec = {"nodes": []}  # submitted this instant: its driver has not started nodes
        for node_dict in spec["nodes"]:
            node = NodeSpec.from_dict(node_dict)
            kill_on_node(node, None, paths.pid_file(node.rank))
        if job.driver_pid:
            try:
                os.kill(job.driver_pid, 15)
            except OSError:
                pass
        paths.done.touch()
    _print({"cancelled": cancelled})
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
    _print(config.to_dict())
    return 0 if isinstance(config, AutostopConfig) else 1


def cmd_daemon(root: Path, args: argparse.Namespace) -> int:
    from styx.agent.autostop import run_daemon

    return run_daemon(root, interval_s=args.interval)


def cmd_drive(root: Path, args: argparse.Namespace) -> int:
    return drive(root, args.job_id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="styx-agent")
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
    p = sub.add_parser("daemon")
    # The client sends its config.yaml's autostop.check_interval_s here.
    p.add_argument("--interval", type=float, default=10.0)
    p = sub.add_parser("drive")
    p.add_argument("job_id", type=int)
    args = parser.parse_args(argv)
    args.root.mkdir(parents=True, exist_ok=True)
    handler = globals()[f"cmd_{args.command}"]
    try:
        return int(handler(args.root, args))
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
