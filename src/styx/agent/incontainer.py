"""Running a job's command inside the node's container, from the node's host.

The head's agent stays on the host (a broken image cannot break job control). For a node whose
:class:`~styx.agent.nodes.NodeSpec` names a container, the host runs the script made here: it
starts the container again if it was stopped, writes the job's node script (its environment
included, so no value is on a command line) to a 0600 file in the node's home (bound at the same
path in the container), and ``exec``s the engine's ``exec`` with ``bash`` (or ``sh`` when the
image has no bash). The in-container shell records its pid next to the script: ``docker exec``
makes it a session leader, so cancel kills its whole process group inside the container.
Standard library only (the agent starts on a bare node).
"""

from __future__ import annotations

import shlex

ENGINE_FILE = ".styx_runtime/container_engine"  # written by styx.container.engine
PIDS = ".styx_pids"

# $1 is the script file; bash when the image has it, else sh.
_INNER = (
    'echo $$ > "$1.cpid"; '
    'if command -v bash >/dev/null 2>&1; then exec bash --noprofile --norc "$1"; '
    'else exec sh "$1"; fi'
)


def _engine() -> str:
    return f'D=$(cat "$HOME/{ENGINE_FILE}" 2>/dev/null) || D=docker\n'


def container_script(container: str, node_script: str, job_name: str) -> str:
    """The host-side bash script that runs ``node_script`` in ``container``."""
    c = shlex.quote(container)
    script_file = f'"$HOME/{PIDS}/{job_name}.sh"'
    # The script removes itself once its shell has it open: it holds the job's secrets.
    body = 'rm -f -- "$0"\n' + node_script
    return (
        _engine()
        + f'if [ "$($D inspect -f "{{{{.State.Running}}}}" {c} 2>/dev/null)" != true ]; then\n'
        f'  $D start {c} >/dev/null || {{ echo "styx: container {container} is gone; '
        'launch the task again to make it"; exit 125; }\n'
        "fi\n"
        f'umask 077 && mkdir -p "$HOME/{PIDS}" && printf %s {shlex.quote(body)} > {script_file}\n'
        f'exec $D exec -e "HOME=$HOME" -w "$HOME" {c} sh -c {shlex.quote(_INNER)} styx '
        f"{script_file}\n"
    )


def container_kill(container: str, job_name: str) -> str:
    """Host-side bash that kills the job's process group inside ``container``."""
    pid_file = f'"$HOME/{PIDS}/{job_name}.sh.cpid"'
    inner = 'p=$(cat "$1") && kill -TERM -- "-$p"'
    return (
        _engine()
        + f"[ -f {pid_file} ] && $D exec {shlex.quote(container)} sh -c {shlex.quote(inner)} "
        f"styx {pid_file} >/dev/null 2>&1; true"
    )
