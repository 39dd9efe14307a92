"""The node-side shell script that makes a node's container: engine, login, image, container.

The script runs on the node's host (bash, in the node's home) through the client's runner. It is
idempotent: a running container made from the same spec is left alone, a stopped one is
started, one from another spec is replaced. It records the engine command and the container's
name under the runtime folder, where the agent's job wrapper (:mod:`styx.agent.incontainer`) and
the providers' clean-up (:mod:`styx.container.cleanup`) read them. On failure its last output
line is ``styx-container: <reason>`` (the engine's own words), which the caller reports.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass

LABEL_CLUSTER = "styx-cluster"
LABEL_INSTANCE = "styx-instance"
LABEL_SPEC = "styx-spec"
ERROR_PREFIX = "styx-container: "
# What the job wrapper and the clean-up read on the node (under the node's home).
ENGINE_FILE = ".styx_runtime/container_engine"
NAME_FILE = ".styx_runtime/container_name"


def container_name(cluster: str, rank: int, instance_id: str) -> str:
    """A name unique per node on a shared host (local nodes and pool hosts share one engine):
    the cluster and rank for people, a piece of the instance id against a same-named cluster."""
    safe = re.sub(r"[^a-zA-Z0-9_.-]", "-", cluster)[:40]
    return f"styx-{safe}-{rank}-{instance_id.replace('-', '')[:8]}"


@dataclass(frozen=True)
class ContainerSpec:
    """One node's container."""

    image: str  # the reference without "docker:"
    name: str
    cluster: str
    instance_id: str
    mounts: tuple[str, ...] = ()  # absolute host paths, bound at the same path (besides $HOME)
    gpu_ids: tuple[int, ...] = ()  # a local node's own GPUs; else all NVIDIA GPUs if any
    registry_login: RegistryLogin | None = None

    @property
    def fingerprint(self) -> str:
        """Changes when the container must be made again (another image, mounts or GPUs)."""
        material = repr((self.image, sorted(self.mounts), self.gpu_ids))
        return hashlib.sha256(material.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class RegistryLogin:
    """SkyPilot's SKYPILOT_DOCKER_USERNAME / _PASSWORD / _SERVER (the password goes on stdin)."""

    username: str
    password: str = ""
    server: str = ""


def registry_login(values: dict[str, str]) -> RegistryLogin | None:
    """The login the task's envs and secrets ask for, if any."""
    user = values.get("SKYPILOT_DOCKER_USERNAME")
    if not user:
        return None
    return RegistryLogin(
        user, values.get("SKYPILOT_DOCKER_PASSWORD", ""), values.get("SKYPILOT_DOCKER_SERVER", "")
    )


# Finds (or installs) an engine; sets $D to the command that reaches it (sudo when needed).
_ENGINE = r"""
fail() { echo "styx-container: $*"; exit 1; }
last() { printf '%s\n' "$1" | grep -v '^[[:space:]]*$' | tail -n 1; }
pick() {
  for e in docker podman; do
    command -v "$e" >/dev/null 2>&1 || continue
    if "$e" info >/dev/null 2>&1; then D="$e"; return 0; fi
    if sudo -n "$e" info >/dev/null 2>&1; then D="sudo -n $e"; return 0; fi
    E="$e"
  done
  return 1
}
D=""; E=""
if ! pick; then
  if [ -z "$E" ]; then
    if [ "$(id -u)" = 0 ]; then S=""; elif sudo -n true 2>/dev/null; then S="sudo -n"
    else fail "no container engine (docker or podman) on this node, and no root or sudo" \
      "to install docker.io"; fi
    if command -v apt-get >/dev/null 2>&1; then
      out=$($S env DEBIAN_FRONTEND=noninteractive \
        sh -c 'apt-get update -qq && apt-get install -y -qq docker.io' 2>&1) \
        || fail "installing docker.io failed: $(last "$out")"
    elif command -v dnf >/dev/null 2>&1; then
      out=$($S dnf install -y -q docker 2>&1 || $S dnf install -y -q podman 2>&1) \
        || fail "installing docker failed: $(last "$out")"
    elif command -v yum >/dev/null 2>&1; then
      out=$($S yum install -y -q docker 2>&1) || fail "installing docker failed: $(last "$out")"
    else
      fail "no container engine on this node and no apt-get/dnf/yum to install docker"
    fi
  fi
  $S systemctl start docker >/dev/null 2>&1 || $S service docker start >/dev/null 2>&1 || true
  for _ in 1 2 3 4 5 6 7 8 9 10; do pick && break; sleep 1; done
  [ -n "$D" ] || fail "the container engine on this node does not answer ('docker info' failed)"
fi
"""

_CONTAINER = r"""
state=$($D inspect -f '{{.State.Running}} {{index .Config.Labels "styx-spec"}}' "$name" 2>/dev/null)
case "$state" in
  "true $spec") ;;
  "false $spec")
    out=$($D start "$name" 2>&1) || fail "cannot start container $name: $(last "$out")" ;;
  *)
    [ -z "$state" ] || $D rm -f "$name" >/dev/null 2>&1
    if [ -n "$login_user" ]; then
      IFS= read -r password || true
      out=$(printf '%s' "$password" \
        | $D login -u "$login_user" --password-stdin "${login_server[@]}" 2>&1) \
        || fail "registry login as $login_user failed: $(last "$out")"
    fi
    if ! $D image inspect "$image" >/dev/null 2>&1; then
      out=$($D pull "$image" 2>&1) || fail "cannot pull image '$image': $(last "$out")"
    fi
    set -- -v "$HOME:$HOME"
    for m in "${mounts[@]}"; do mkdir -p "$m" 2>/dev/null; set -- "$@" -v "$m:$m"; done
    if [ -n "$gpus" ]; then set -- "$@" --gpus "$gpus"
    elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
      set -- "$@" --gpus all
    fi
    # A shell that waits on its open stdin: needs no `sleep` in the image.
    out=$($D run -d -i --name "$name" --network host --restart unless-stopped \
      --label "styx-cluster=$cluster" \
      --label "styx-instance=$instance" --label "styx-spec=$spec" -e "HOME=$HOME" -w "$HOME" \
      "$@" --entrypoint sh "$image" -c 'while read -r _; do :; done' 2>&1) || {
      $D rm -f "$name" >/dev/null 2>&1
      case "$out" in *'"sh": executable file not found'*)
        fail "image '$image' has no shell (neither sh nor bash) to run the task with" ;; esac
      fail "cannot start image '$image': $(last "$out")"
    }
    ;;
esac
umask 077 && mkdir -p "$HOME/.styx_runtime"
printf '%s\n' "$D" > "$HOME/{engine_file}" && printf '%s\n' "$name" > "$HOME/{name_file}"
echo "container $name up"
"""


def node_script(spec: ContainerSpec) -> str:
    """The bash script that makes ``spec``'s container on its node (see the module doc).

    Every value is shell-quoted; the registry password is not in it but read from stdin.
    """
    login = spec.registry_login
    assignments = {
        "image": spec.image,
        "name": spec.name,
        "cluster": spec.cluster,
        "instance": spec.instance_id,
        "spec": spec.fingerprint,
        "gpus": f"device={','.join(map(str, spec.gpu_ids))}" if spec.gpu_ids else "",
        "login_user": login.username if login else "",
    }
    lines = [f"{k}={shlex.quote(v)}" for k, v in assignments.items()]
    lines.append(f"mounts=({' '.join(shlex.quote(m) for m in spec.mounts)})")
    server = shlex.quote(login.server) if login and login.server else ""
    lines.append(f"login_server=({server})")
    body = _CONTAINER.replace("{engine_file}", ENGINE_FILE).replace("{name_file}", NAME_FILE)
    return "\n".join(lines) + _ENGINE + body


def stdin_for(spec: ContainerSpec) -> bytes | None:
    login = spec.registry_login
    return (login.password + "\n").encode() if login else None


def failure_reason(output: str) -> str | None:
    """The script's one-line reason, when it failed with one."""
    for line in reversed(output.strip().splitlines()):
        if line.startswith(ERROR_PREFIX):
            return line[len(ERROR_PREFIX) :].strip()
    return None
