"""The bash that runs on a node: rclone's config, COPY, MOUNT/MOUNT_CACHED, flush, unmount.

rclone (Debian's package, installed when missing) does every mode on every kind of node:

- COPY: ``rclone copy`` into the target, before setup;
- MOUNT: ``rclone mount --vfs-cache-mode writes --vfs-write-back 1s``: a file is uploaded a
  second after it is closed (random writes work, unlike a plain streaming mount; with 0s rclone's
  stats can miss an upload about to start, and the flush below would not wait for it);
- MOUNT_CACHED: ``rclone mount --vfs-cache-mode full --vfs-write-back 2s``: reads and writes go
  through a local cache, uploaded in the background.

Each mount runs its own rclone process with a remote-control port on 127.0.0.1 (picked by rclone,
read back from its log; ``--daemon`` is not used, as rclone 1.60 then binds that port twice), so
that ``flush.sh`` can wait until ``vfs/stats`` shows no pending uploads: the job's ``run`` is
followed by it, so a job ends only once its writes are in the bucket. ``unmount.sh`` flushes,
then unmounts (``fusermount3 -u``).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from styx.storage.spec import StorageMode
from styx.storage.stores.base import RcloneRemote

NODE_DIR = '"$HOME/.styx_storage"'  # rclone.conf (0600), logs, caches, the mount table
CONF = f"{NODE_DIR}/rclone.conf"
FLUSH_TIMEOUT_S = 3600  # a job's end waits at most this long for its uploads
MOUNT_WAIT_S = 20
ERROR_MARK = "styx-storage-error: "

MOUNT_FLAGS = {
    StorageMode.MOUNT: "--vfs-cache-mode writes --vfs-write-back 1s --dir-cache-time 5s",
    StorageMode.MOUNT_CACHED: "--vfs-cache-mode full --vfs-write-back 2s --dir-cache-time 30s",
}


@dataclass(frozen=True)
class NodeMount:
    """One mount as a node does it: ``remote`` is ``<section>:<bucket>[/<prefix>]``."""

    index: int
    target: str
    mode: StorageMode
    remote: str
    where: str  # how errors name it (``file_mounts./data``)
    rclone: RcloneRemote


def target_expr(target: str) -> str:
    """A node path as a bash word: ``~/x`` becomes ``"$HOME"/'x'``."""
    if target.startswith("~/"):
        return f'"$HOME"/{shlex.quote(target[2:])}'
    return shlex.quote(target)


def config_text(mounts: list[NodeMount]) -> str:
    """rclone.conf: one section per mount (each may use another store or credentials)."""
    lines: list[str] = []
    for m in mounts:
        lines.append(f"[m{m.index}]")
        lines += [f"{k} = {v}" for k, v in m.rclone.options.items()]
        lines.append("")
    return "\n".join(lines)


def write_config_command() -> str:
    """Reads rclone.conf on stdin into the node's private folder."""
    return (
        f"umask 077 && mkdir -p {NODE_DIR} && chmod 700 {NODE_DIR} && cat > {CONF} "
        f"&& chmod 600 {CONF}"
    )


def _rclone(m: NodeMount) -> str:
    unset = "".join(f"-u {name} " for name in m.rclone.unset_env)
    return f"env {unset}rclone --config {CONF}"


def _fail(m: NodeMount, what: str) -> str:
    return f'echo "{ERROR_MARK}{m.where}: {what}"; exit 1'


def _ensure_rclone() -> str:
    install = "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rclone fuse3 >/dev/null 2>&1"
    return (
        "if ! command -v rclone >/dev/null; then\n"
        f'  if [ "$(id -u)" = 0 ]; then {install}; else sudo -n env {install}; fi\n'
        "fi\n"
        f'command -v rclone >/dev/null || {{ echo "{ERROR_MARK}rclone is not installed on this '
        'node and could not be installed (apt-get install rclone fuse3)"; exit 1; }\n'
    )


def _make_dir(t: str) -> str:
    return (
        f"mkdir -p {t} 2>/dev/null || {{ sudo -n mkdir -p {t} && "
        f'sudo -n chown "$(id -u):$(id -g)" {t}; }}\n'
    )


def _copy(m: NodeMount) -> str:
    t = target_expr(m.target)
    err = f"{NODE_DIR}/m{m.index}.err"
    return (
        _make_dir(t)
        + f"{_rclone(m)} copy {shlex.quote(m.remote)} {t} --transfers 32 --checkers 32 "
        f"2>{err} || {{ {_fail(m, 'rclone copy failed: $(tail -n 1 ' + err + ')')}; }}\n"
    )


def _start_mount(m: NodeMount) -> str:
    """Start one rclone mount in the background (all start before any is waited for)."""
    t = target_expr(m.target)
    log = f"{NODE_DIR}/m{m.index}.log"
    pid = f"{NODE_DIR}/m{m.index}.pid"
    cache = f"{NODE_DIR}/cache/m{m.index}"
    return (
        f"if mountpoint -q {t} 2>/dev/null; then fusermount3 -u {t} 2>/dev/null || "
        f"fusermount -u {t} 2>/dev/null || true; fi\n" + _make_dir(t) + f"rm -f {log}\n"
        f"(setsid nohup {_rclone(m)} mount {shlex.quote(m.remote)} {t} {MOUNT_FLAGS[m.mode]} "
        f"--cache-dir {cache} --allow-non-empty --rc --rc-addr 127.0.0.1:0 --rc-no-auth "
        f"--log-file {log} --log-level NOTICE </dev/null >/dev/null 2>&1 & echo $! > {pid})\n"
        # Recorded at once: a launch that fails later still unmounts it at `down`.
        f"printf '%s\\t%s\\t%s\\n' {t} {log} \"$(cat {pid})\" >> {NODE_DIR}/mounts.tsv\n"
    )


def _wait_mount(m: NodeMount) -> str:
    """Wait until the mount is up (or its rclone died)."""
    t = target_expr(m.target)
    log = f"{NODE_DIR}/m{m.index}.log"
    pid = f"{NODE_DIR}/m{m.index}.pid"
    return (
        f"for _ in $(seq {MOUNT_WAIT_S * 20}); do\n"
        f'  mountpoint -q {t} && break; alive "$(cat {pid})" || break; sleep 0.05\ndone\n'
        f'if ! mountpoint -q {t}; then kill "$(cat {pid})" 2>/dev/null\n'
        f"  {_fail(m, 'rclone mount did not start: $(grep -v NOTICE ' + log + ' | tail -n 1)')}\n"
        "fi\n"
    )


# A process that exited but was not reaped yet (a zombie) counts as gone.
ALIVE_FUNCTION = (
    "alive() { [ -r /proc/$1/stat ] && [ \"$(sed 's/.*) //' /proc/$1/stat | cut -c1)\" != Z ]; }\n"
)


FLUSH_SCRIPT = f"""#!/bin/bash
# Wait until every rclone mount of this node has uploaded what was written to it.
[ -f {NODE_DIR}/mounts.tsv ] || exit 0
deadline=$(( $(date +%s) + {FLUSH_TIMEOUT_S} ))
while IFS=$'\\t' read -r target log pid; do
  url=$(grep -o 'http://127.0.0.1:[0-9]*' "$log" 2>/dev/null | head -n 1)
  [ -n "$url" ] || continue
  clean=0
  while out=$(rclone rc --url "$url" vfs/stats </dev/null 2>/dev/null); do
    if echo "$out" | grep -Eq '"erroredFiles": [1-9]'; then
      why=$(grep ' ERROR : ' "$log" | tail -n 1 | sed 's/.* ERROR : //')
      echo "{ERROR_MARK}$target: an upload to the bucket failed: $why"; exit 1
    fi
    # Clean twice in a row: FUSE hands rclone a just-closed file a moment after close().
    if echo "$out" | grep -Eq '"uploads(InProgress|Queued)": [1-9]'; then clean=0
    else clean=$((clean + 1)); [ "$clean" -lt 2 ] || break; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "{ERROR_MARK}$target: uploads still pending after {FLUSH_TIMEOUT_S}s"; exit 1
    fi
    sleep 0.2
  done
done < {NODE_DIR}/mounts.tsv
"""

UNMOUNT_SCRIPT = f"""#!/bin/bash
# Flush, then unmount every rclone mount of this node and stop its process.
[ -f {NODE_DIR}/mounts.tsv ] || exit 0
bash {NODE_DIR}/flush.sh
{ALIVE_FUNCTION}pids=""
while IFS=$'\\t' read -r target log pid; do
  fusermount3 -u "$target" 2>/dev/null || fusermount -u "$target" 2>/dev/null \\
    || umount "$target" 2>/dev/null || true
  pids="$pids $pid"
done < {NODE_DIR}/mounts.tsv
for pid in $pids; do
  for _ in $(seq 100); do alive "$pid" || break; sleep 0.05; done
  kill "$pid" 2>/dev/null || true
done
rm -f {NODE_DIR}/mounts.tsv
"""


def unmount_command() -> str:
    return f"[ -f {NODE_DIR}/unmount.sh ] && bash {NODE_DIR}/unmount.sh || true"


def release_command() -> str:
    """A host handed back (an SSH pool host at ``down``): flush and unmount, then remove the
    rclone config (it may hold copied bucket credentials), logs and caches."""
    return f"{unmount_command()}\nrm -rf {NODE_DIR}\n"


def mount_script(mounts: list[NodeMount]) -> str:
    """The whole set-up of one node, as one bash script (errors: one ERROR_MARK line)."""
    parts = [
        "set -u\numask 077\n",
        ALIVE_FUNCTION,
        _ensure_rclone(),
        # Mounts left by an earlier launch on this cluster are replaced.
        f"[ -f {NODE_DIR}/unmount.sh ] && bash {NODE_DIR}/unmount.sh\n",
        f"cat > {NODE_DIR}/flush.sh <<'END_OF_SCRIPT'\n{FLUSH_SCRIPT}END_OF_SCRIPT\n",
        f"cat > {NODE_DIR}/unmount.sh <<'END_OF_SCRIPT'\n{UNMOUNT_SCRIPT}END_OF_SCRIPT\n",
    ]
    live = [m for m in mounts if m.mode is not StorageMode.COPY]
    parts += [_start_mount(m) for m in live]  # the mounts come up while the copies run
    parts += [_copy(m) for m in mounts if m.mode is StorageMode.COPY]
    parts += [_wait_mount(m) for m in live]
    return "".join(parts)


def wrap_run(run: str) -> str:
    """``run``, then wait for the node's mounts to upload: a job ends with its writes saved."""
    return (
        f"(\n{run}\n)\n__styx_rc=$?\n"
        f"if [ -f {NODE_DIR}/flush.sh ] && ! bash {NODE_DIR}/flush.sh; then\n"
        "  [ $__styx_rc -ne 0 ] || __styx_rc=1\nfi\n"
        "exit $__styx_rc\n"
    )
