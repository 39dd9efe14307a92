"""What Styx does on a pool host itself: the claim marker, and the clean-up on release.

Kept free of asyncssh and YAML: the head node's agent (stdlib only) runs ``release_from_head``
when autostop tears a pool cluster down.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

from styx.container.cleanup import REMOVE_SNIPPET
from styx.storage.rclone import release_command

MARKER = "~/.styx/node.json"
NODE_MAP = Path("~/.styx/node_map.json")

# Removes the node's container, flushes and unmounts its buckets (before anything below deletes
# files: a folder holding a live mount would delete bucket objects) and drops their credentials,
# kills what Styx started (job process groups recorded by the agent, agent daemons/drivers run by
# the Styx venv's Python), then removes Styx's files. The caller's own process ($PPID) is spared:
# on the head that is the autostop daemon doing the release.
CLEANUP = (
    REMOVE_SNIPPET
    + release_command()
    + r"""
for f in "$HOME"/.styx_pids/* "$HOME"/.styx_runtime/jobs/*/*.pid; do
  [ -f "$f" ] || continue
  p=$(cat "$f" 2>/dev/null) && [ -n "$p" ] && kill -TERM -- "-$p" 2>/dev/null
done
for s in "$HOME"/.styx/cm/* "${TMPDIR:-/tmp}/styx-hcm-$(id -u)"/*; do
  [ -S "$s" ] && ssh -o ControlPath="$s" -O exit styx-node >/dev/null 2>&1
done
V="$HOME/.styx/runtime/venv/bin/python"
for d in /proc/[0-9]*; do
  pid=${d#/proc/}
  [ "$pid" = "$$" ] || [ "$pid" = "$PPID" ] && continue
  c=$(tr '\0' ' ' 2>/dev/null < "$d/cmdline") || continue
  case "$c" in "$V "*) kill -TERM "$pid" 2>/dev/null ;; esac
done
rm -rf "$HOME/.styx_runtime" "$HOME/sky_workdir" "$HOME/.styx_pids" "$HOME/.styx/runtime" \
  "$HOME/.styx/keys" "$HOME/.styx/known_hosts" "$HOME/.styx/cm" "$HOME/.styx/node_map.json" \
  "$HOME/.styx/node.json"
rmdir "$HOME/.styx" 2>/dev/null
true
"""
)


def marker_command(instance_id: str, cluster: str) -> str:
    body = json.dumps({"instance_id": instance_id, "cluster": cluster})
    return f"mkdir -p ~/.styx && printf '%s\\n' {shlex.quote(body)} > {MARKER}"


def read_marker_command() -> str:
    return f"cat {MARKER} 2>/dev/null || true"


def marker_owner(output: str) -> str | None:
    """The instance id recorded on the host, or None when the host is free."""
    for line in output.strip().splitlines()[::-1]:
        try:
            return str(json.loads(line)["instance_id"])
        except (ValueError, KeyError, TypeError):
            continue
    return None


def head_node_map() -> dict[str, dict[str, object]]:
    try:
        data = json.loads(NODE_MAP.expanduser().read_text())
    except (OSError, ValueError):
        return {}
    nodes = data.get("nodes")
    return nodes if isinstance(nodes, dict) else {}


def release_from_head(instance_id: str, spec: dict[str, object]) -> None:
    """On the head: clean a worker over the head's OpenSSH client, or the head itself."""
    from styx.agent.nodes import NodeKind, NodeSpec, ssh_base_command

    node = NodeSpec.from_dict(spec)
    if node.kind is NodeKind.SSH:
        argv = [*ssh_base_command(node), "bash --noprofile --norc -s"]
    else:
        argv = ["bash", "--noprofile", "--norc", "-s"]
    try:
        subprocess.run(
            argv,
            input=CLEANUP.encode(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
            cwd=os.path.expanduser("~"),
        )
    except (OSError, subprocess.SubprocessError):
        pass
