"""Install the runtime on a head node and hand it what it needs to reach the other nodes.

One round trip on the fast path: a shell script sent on stdin writes the keys, the node map and
the pinned host keys, and prints the installed runtime tag. Only when the tag differs is the wheel
uploaded and installed into ``~/.styx/runtime/venv`` (``pip install --no-deps --no-index``; a
plain unzip into the venv when the node's Python has no pip/ensurepip).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from styx.errors import ClusterError
from styx.execution.runner import CommandRunner
from styx.runtime.wheel import RuntimeWheel

RUNTIME_DIR = "~/.styx/runtime"
VENV_PYTHON = '"$HOME/.styx/runtime/venv/bin/python"'


@dataclass
class HeadFiles:
    """Small files written on the head at every connect (cheap: they ride on one command)."""

    files: dict[str, tuple[str, int]] = field(default_factory=dict)  # path -> (text, mode)
    folders: list[str] = field(default_factory=list)  # made 0700

    def add(self, path: str, text: str, mode: int = 0o600) -> None:
        self.files[path] = (text, mode)


def _heredoc(path: str, text: str, mode: int) -> str:
    marker = "STYX_EOF_7f3a"
    assert marker not in text
    target = path.replace("~/", "$HOME/", 1) if path.startswith("~/") else path
    folder = target.rsplit("/", 1)[0]
    return (
        f'mkdir -p "{folder}" && umask 077 && cat > "{target}.tmp" <<\'{marker}\'\n'
        f"{text}\n{marker}\n"
        f'chmod {mode:o} "{target}.tmp" && mv -f "{target}.tmp" "{target}"\n'
    )


def prepare_script(files: HeadFiles) -> str:
    body = "".join(_heredoc(p, t, m) for p, (t, m) in files.files.items())
    for folder in files.folders:
        target = folder.replace("~/", "$HOME/", 1) if folder.startswith("~/") else folder
        body += f'mkdir -p -m 700 "{target}"\n'
    return f"{body}cat {RUNTIME_DIR}/installed 2>/dev/null || true\n"


INSTALL = r"""
set -e
R="$HOME/.styx/runtime"
W="$R/{wheel}"
PY=$(command -v python3 || command -v python || true)
if [ -z "$PY" ]; then echo "no python3 on this node: install Python 3.11+" >&2; exit 40; fi
rm -rf "$R/venv"
if "$PY" -m venv "$R/venv" >/dev/null 2>&1 \
   && "$R/venv/bin/python" -m pip --version >/dev/null 2>&1; then
  "$R/venv/bin/python" -m pip install -q --no-deps --no-index --no-cache-dir "$W"
else
  rm -rf "$R/venv"
  "$PY" -m venv --without-pip "$R/venv"
  "$R/venv/bin/python" -c "import sys,sysconfig,zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sysconfig.get_paths()['purelib'])" "$W"
fi
"$R/venv/bin/python" -c "import styx.agent" >/dev/null
rm -f "$W"
echo {tag} > "$R/installed"
"""


async def ensure_runtime(head: CommandRunner, wheel: RuntimeWheel, files: HeadFiles) -> str:
    """Make the head's runtime match ``wheel``; return the shell-quoted venv Python path."""
    out = await head.check_output(
        "exec bash --noprofile --norc -s", stdin=prepare_script(files).encode()
    )
    if out.strip().splitlines()[-1:] == [wheel.tag]:
        return VENV_PYTHON
    await head.put(wheel.path, f"{RUNTIME_DIR}/{wheel.path.name}")
    lines: list[str] = []
    script = INSTALL.format(wheel=wheel.path.name, tag=shlex.quote(wheel.tag))
    code = await head.run(
        "exec bash --noprofile --norc -s", on_output=lines.append, stdin=script.encode()
    )
    if code != 0:
        tail = " | ".join("".join(lines).strip().splitlines()[-3:]) or "no output"
        raise ClusterError(
            f"{head.label}: installing the Styx runtime failed (exit {code}): {tail}",
            node=head.label,
        )
    return VENV_PYTHON


async def ensure_runtime_remembered(
    head: CommandRunner,
    head_instance_id: str | None,
    files: HeadFiles,
    force: bool = False,
) -> str:
    """``ensure_runtime``, skipped when the client already installed the same runtime and files
    on this head (remembered under ``$STYX_HOME/runtime/heads``): an ``exec`` on an up cluster
    then costs no extra round trip. ``force`` checks the head again (it answered 127)."""
    import hashlib

    from styx.config import styx_home
    from styx.runtime.wheel import ensure_wheel

    wheel = ensure_wheel()
    wanted = f"{wheel.tag} {hashlib.sha256(prepare_script(files).encode()).hexdigest()}"
    memo = styx_home() / "runtime" / "heads" / head_instance_id if head_instance_id else None
    if memo is not None and not force:
        try:
            if memo.read_text() == wanted:
                return VENV_PYTHON
        except OSError:
            pass
    python = await ensure_runtime(head, wheel, files)
    if memo is not None:
        memo.parent.mkdir(parents=True, exist_ok=True)
        memo.write_text(wanted)
    return python
