"""Starting a job's command on one node, from the head.

A node is described by a :class:`NodeSpec` (sent in the job spec as a dict). Its ``kind`` says how
the head reaches it: ``local`` nodes are folders on the head's own machine (a sandbox, or the
head's own home), ``ssh`` nodes are reached with the OpenSSH client using the key Styx placed on
the head, ``k8s`` nodes are pods reached through the API's exec. Each launch returns a Popen whose
stdout carries the node's merged output. The client side builds these specs in the providers'
node access (``CloudProvider.cluster_access``).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

LOCAL_MARKER = "STYX_LOCAL_INSTANCE"


class NodeKind(StrEnum):
    """How the head's agent reaches a node (the value travels in the job spec)."""

    LOCAL = "local"  # a folder on the head's own machine: run bash there
    SSH = "ssh"  # the head's OpenSSH client
    K8S = "k8s"  # the Kubernetes API's pods/exec, with the head pod's service account


@dataclass(frozen=True)
class NodeSpec:
    rank: int
    ip: str
    kind: NodeKind = NodeKind.LOCAL
    home: str | None = None  # local: the sandbox folder that is the node's home
    instance_id: str | None = None
    gpu_ids: tuple[int, ...] = ()
    host: str | None = None  # ssh: how the head reaches the node
    port: int = 22
    user: str | None = None
    key_path: str | None = None
    proxy_command: str | None = None
    extra_ssh_options: tuple[str, ...] = field(default_factory=tuple)
    pod: str | None = None  # k8s: the pod, its namespace and container
    namespace: str | None = None
    container: str | None = None
    # image_id: docker:<image> on a VM, pool host or local node: the container on the node's host
    # that setup and run go into (styx.agent.incontainer); None runs them on the host.
    docker_container: str | None = None

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> NodeSpec:
        data = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        for key in ("gpu_ids", "extra_ssh_options"):
            if key in data:
                data[key] = tuple(data[key])  # type: ignore[arg-type]
        if "kind" in data:
            data["kind"] = NodeKind(data["kind"])
        return cls(**data)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form :meth:`from_dict` reads (the job spec, the head's node map)."""
        data = asdict(self)
        data["kind"] = self.kind.value
        for key in ("gpu_ids", "extra_ssh_options"):
            data[key] = list(data[key])
        return data

    @property
    def label(self) -> str:
        return "head" if self.rank == 0 else f"worker{self.rank}"


def _node_script(command: str, env: dict[str, str], workdir: str | None) -> str:
    """A bash script that enters the workdir (if present), exports env and runs ``command``."""
    exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
    enter = f"cd {workdir} 2>/dev/null || cd ~\n" if workdir else "cd ~\n"
    return f"{exports}{enter}{command}\n"


def launch_on_node(
    node: NodeSpec, command: str, env: dict[str, str], workdir: str | None, pid_file: Path
) -> subprocess.Popen[bytes]:
    if node.docker_container:
        from styx.agent.incontainer import container_script

        # The job's environment and workdir go into the container; the host runs the wrapper.
        inner = _node_script(command, env, workdir)
        command = container_script(node.docker_container, inner, pid_file.stem)
        env, workdir = {}, None
    return _LAUNCHERS[node.kind](node, command, env, workdir, pid_file)


def _launch_local(
    node: NodeSpec, command: str, env: dict[str, str], workdir: str | None, pid_file: Path
) -> subprocess.Popen[bytes]:
    assert node.home, "a local node needs its home folder"
    home = os.path.expanduser(node.home)  # "~": the head running its own rank of a remote cluster
    full_env = dict(os.environ)
    real_home = full_env.get("HOME", "")
    # The sandbox is the node's home; keep pyenv-style shims working, which find their root
    # through $HOME unless told otherwise.
    if "PYENV_ROOT" not in full_env and real_home and Path(real_home, ".pyenv").is_dir():
        full_env["PYENV_ROOT"] = str(Path(real_home, ".pyenv"))
    full_env.update(env)
    full_env["HOME"] = home
    if node.instance_id:
        full_env[LOCAL_MARKER] = node.instance_id
    if node.gpu_ids:
        full_env["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in node.gpu_ids)
    script = _node_script(command, {}, workdir)
    proc = subprocess.Popen(
        ["bash", "--noprofile", "--norc", "-c", script],
        cwd=home,
        env=full_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    pid_file.write_text(str(proc.pid))  # its own session: the pid is the process group
    return proc


def ssh_base_command(node: NodeSpec) -> list[str]:
    cmd = [
        "ssh",
        "-T",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-o",
        "ConnectTimeout=20",
        "-o",
        "ServerAliveInterval=15",
        "-p",
        str(node.port),
    ]
    if node.key_path:
        cmd += ["-i", _expand(node.key_path), "-o", "IdentitiesOnly=yes"]
    if node.proxy_command:
        cmd += ["-o", f"ProxyCommand={node.proxy_command}"]
    cmd += _control_options_fit([_expand_option(o) for o in node.extra_ssh_options], node)
    target = f"{node.user}@{node.host or node.ip}" if node.user else (node.host or node.ip)
    return [*cmd, target]


def _expand(path: str) -> str:
    # OpenSSH expands "~" with the passwd entry's home; the agent means $HOME (they differ when a
    # node's HOME is set by its login wrapper), so expand here.
    return os.path.expanduser(path)


def _expand_option(option: str) -> str:
    key, sep, value = option.partition("=")
    return f"{key}={_expand(value)}" if sep and value.startswith("~") else option


SOCKET_PATH_MAX = 100  # sun_path is 108 bytes; ssh adds a ".XXXXXXXXXXXXXXXX" temp suffix


HEAD_SHORT_CONTROL_DIR = "styx-hcm-{uid}"  # under $TMPDIR; hostops' clean-up closes its masters


def _short_control_dir() -> Path | None:
    """``$TMPDIR/styx-hcm-<uid>``, private to this user (made 0700 here); None when it exists
    but is not ours alone (another user could have made it to read our sockets)."""
    import tempfile

    folder = Path(tempfile.gettempdir()) / HEAD_SHORT_CONTROL_DIR.format(uid=os.getuid())
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
    except OSError:
        return None
    import stat

    mine = stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()
    return folder if mine and not info.st_mode & 0o077 else None


def _control_options_fit(options: list[str], node: NodeSpec) -> list[str]:
    """Keep the ControlPath short enough for a Unix socket: under a deep $HOME the socket moves
    to a private folder in /tmp, named by a hash of the long path. If no such folder can be had,
    the ControlMaster options go: a plain connection per command still works, only slower."""
    import hashlib

    for index, opt in enumerate(options):
        if opt.startswith("ControlPath="):
            path = opt.split("=", 1)[1]
            for token, value in (("%r", node.user or ""), ("%h", node.host or node.ip)):
                path = path.replace(token, value)
            path = path.replace("%p", str(node.port))
            if len(path) + 17 <= SOCKET_PATH_MAX:
                return options
            folder = _short_control_dir()
            if folder is not None:
                short = folder / hashlib.sha256(path.encode()).hexdigest()[:20]
                if len(str(short)) + 17 <= SOCKET_PATH_MAX:
                    return [*options[:index], f"ControlPath={short}", *options[index + 1 :]]
            break
    else:
        return options
    out: list[str] = []
    for opt in options:
        if opt.split("=", 1)[0] in ("ControlMaster", "ControlPath", "ControlPersist"):
            if out and out[-1] == "-o":
                out.pop()
            continue
        out.append(opt)
    return out


def _remote_wrapper(command: str, env: dict[str, str], workdir: str | None, pid_file: Path) -> str:
    """bash that records its process group in ~/.styx_pids (so cancel can kill the whole tree
    there), then runs the node script."""
    script = _node_script(command, env, workdir)
    remote_pid = f"~/.styx_pids/{pid_file.name}"
    return (
        f"mkdir -p ~/.styx_pids; echo $$ > {remote_pid}; "
        f"exec bash --noprofile --norc -c {shlex.quote(script)}"
    )


def _remote_kill(pid_file: Path) -> str:
    remote_pid = f"~/.styx_pids/{pid_file.name}"
    return f"p=$(cat {remote_pid} 2>/dev/null) && kill -TERM -- -$p 2>/dev/null; true"


def _launch_ssh(
    node: NodeSpec, command: str, env: dict[str, str], workdir: str | None, pid_file: Path
) -> subprocess.Popen[bytes]:
    wrapper = _remote_wrapper(command, env, workdir, pid_file)
    # setsid -w: when the login shell leads its process group setsid forks, and without -w the
    # session would end at once with status 0 instead of the job's exit code.
    remote = f"setsid -w bash --noprofile --norc -c {shlex.quote(wrapper)}"
    return subprocess.Popen(
        [*ssh_base_command(node), remote],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kubeexec_command(node: NodeSpec, argv: list[str]) -> list[str]:
    assert node.pod and node.namespace, "a k8s node needs its pod and namespace"
    cmd = [sys.executable, "-m", "styx.agent.kubeexec", "--namespace", node.namespace]
    cmd += ["--pod", node.pod]
    if node.container:
        cmd += ["--container", node.container]
    return [*cmd, "--", *argv]


def _launch_k8s(
    node: NodeSpec, command: str, env: dict[str, str], workdir: str | None, pid_file: Path
) -> subprocess.Popen[bytes]:
    # Exec starts the command without a login shell, so the node's $HOME is the image's.
    wrapper = _remote_wrapper(command, env, workdir, pid_file)
    argv = ["setsid", "-w", "bash", "--noprofile", "--norc", "-c", wrapper]
    return subprocess.Popen(
        kubeexec_command(node, argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


_LAUNCHERS: dict[NodeKind, Callable[..., subprocess.Popen[bytes]]] = {
    NodeKind.LOCAL: _launch_local,
    NodeKind.SSH: _launch_ssh,
    NodeKind.K8S: _launch_k8s,
}


def _remote_kill_argv(node: NodeSpec, pid_file: Path) -> list[str] | None:
    """The command that kills the job's process group on a node the head reaches remotely;
    None for local nodes (the head signals them itself)."""
    if node.kind is NodeKind.SSH:
        return [*ssh_base_command(node), _remote_kill(pid_file)]
    if node.kind is NodeKind.K8S:
        return kubeexec_command(
            node, ["bash", "--noprofile", "--norc", "-c", _remote_kill(pid_file)]
        )
    return None


def _container_kill_argv(node: NodeSpec, pid_file: Path) -> tuple[list[str], dict[str, str]]:
    """The host command that kills the job inside the node's container, and its environment."""
    from styx.agent.incontainer import container_kill

    assert node.docker_container
    script = container_kill(node.docker_container, pid_file.stem)
    if node.kind is NodeKind.SSH:
        return [*ssh_base_command(node), script], dict(os.environ)
    env = dict(os.environ)
    env["HOME"] = os.path.expanduser(node.home or "~")
    return ["bash", "--noprofile", "--norc", "-c", script], env


def kill_on_node(node: NodeSpec, proc: subprocess.Popen[bytes] | None, pid_file: Path) -> None:
    """Kill the node's process group for this job (and the local ssh/exec client, if any).

    In a container, the job's group inside it first: killing the engine's exec client on the
    host would leave the job running in the container."""
    if node.docker_container:
        argv, env = _container_kill_argv(node, pid_file)
        try:
            subprocess.run(
                argv,
                env=env,
                timeout=30,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except (OSError, subprocess.SubprocessError):
            pass
    remote = _remote_kill_argv(node, pid_file)
    if remote is not None:
        try:
            subprocess.run(
                remote,
                timeout=20,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except (OSError, subprocess.SubprocessError):
            pass
    if proc is not None and proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except OSError:
            pass
    elif remote is None and proc is None:
        # A local node whose launcher is gone (the agent restarted): its pid file names the group.
        try:
            os.killpg(int(pid_file.read_text().strip()), signal.SIGTERM)
        except (OSError, ValueError):
            pass
