"""The provider's SDK on the head, so that its agent can stop or tear down its own cluster.

Installed only on the head and only when the head has to act (autostop or a spending cap is
set), into the runtime's venv: ``pip install`` of the provider's extra as Styx's own metadata
lists it (``styx[aws]`` -> boto3, ...). Nodes without an index (air-gapped clusters, the test
suite) get the wheels from ``runtime.wheelhouse`` in config.yaml: a local folder of wheels the
client uploads and installs with ``--no-index --find-links``. A failed install does not fail the
launch: the head then reports why it cannot act, in `styx status`.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from styx.errors import StyxError
from styx.execution.runner import CommandRunner

WHEELHOUSE_DIR = "~/.styx/runtime/wheelhouse"

# --no-compile: byte-compiling botocore's thousands of files is most of the install time, and
# the agent imports the SDK once per action.

SCRIPT = r"""
PY="$HOME/.styx/runtime/venv/bin/python"
if "$PY" -c "import {modules}" >/dev/null 2>&1; then echo styx-sdk-present; exit 0; fi
if ! "$PY" -m pip --version >/dev/null 2>&1; then
  echo "styx-sdk-failed: the runtime has no pip"; exit 0
fi
if "$PY" -m pip install -q --no-cache-dir --no-compile --disable-pip-version-check --retries 1 \
    --timeout 20 {source} {requirements} >"$HOME/.styx/runtime/sdk-install.log" 2>&1; then
  echo styx-sdk-installed
else
  echo "styx-sdk-failed: $(tail -n 1 "$HOME/.styx/runtime/sdk-install.log")"
fi
"""


def extra_requirements(extra: str) -> list[str]:
    """The requirements of ``styx[extra]``, from the installed package's metadata."""
    from importlib.metadata import PackageNotFoundError, requires

    try:
        listed = requires("styx") or []
    except PackageNotFoundError:
        return []
    out = []
    for line in listed:
        requirement, _, marker = line.partition(";")
        if marker.replace(" ", "").replace("'", '"') == f'extra=="{extra}"':
            out.append(requirement.strip())
    return out


def wheelhouse() -> Path | None:
    """``runtime.wheelhouse`` in config.yaml: a folder of wheels for heads without an index."""
    from styx.config import load_config

    section = load_config().get("runtime") or {}
    if not isinstance(section, dict):
        raise StyxError("config.yaml: 'runtime' must be a mapping")
    value = section.get("wheelhouse")
    if value is None:
        return None
    path = Path(str(value)).expanduser()
    if not path.is_dir():
        raise StyxError(f"config.yaml: runtime.wheelhouse: got '{value}', expected a folder")
    return path


async def ensure_head_sdk(head: CommandRunner, provider: str) -> str | None:
    """Install the provider's SDK extra on the head if missing; None when done (or none is
    needed), else the one-line reason it could not be installed."""
    from styx.providers.registry import entry

    spec = entry(provider)
    requirements = extra_requirements(spec.extra) if spec.extra else []
    if not requirements or not spec.sdk_modules:
        return None
    source = ""
    folder = wheelhouse()
    if folder is not None:
        source = f"--no-index --find-links {WHEELHOUSE_DIR}"
    check = ",".join(spec.sdk_modules)
    probe = await head.check_output(
        f'"$HOME/.styx/runtime/venv/bin/python" -c "import {check}" >/dev/null 2>&1 '
        "&& echo yes || echo no"
    )
    if probe.strip().endswith("yes"):
        return None
    if folder is not None:
        await head.put(folder, WHEELHOUSE_DIR)
    script = SCRIPT.format(
        modules=check, source=source, requirements=" ".join(map(shlex.quote, requirements))
    )
    out = await head.check_output("exec bash --noprofile --norc -s", stdin=script.encode())
    last = (out.strip().splitlines() or [""])[-1]
    if last.startswith("styx-sdk-failed"):
        return f"{provider} SDK not installed on the head: {last.partition(': ')[2][:200]}"
    return None
