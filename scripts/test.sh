#!/usr/bin/env bash
# Install everything the test suite needs, then run it offline in a loopback-only network
# namespace, so that no test can send traffic anywhere but 127.0.0.0/8.
#   scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
[ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
command -v rsync >/dev/null || need_apt+=(rsync)
command -v ssh >/dev/null || need_apt+=(openssh-client)
command -v unshare >/dev/null || need_apt+=(util-linux)
command -v ip >/dev/null || need_apt+=(iproute2)
[ -x /usr/sbin/dockerd ] || need_apt+=(docker.io)   # container tests (tests/container)
[ -x /bin/busybox ] && [ -f /usr/share/doc/busybox-static/copyright ] || need_apt+=(busybox-static)
command -v rclone >/dev/null || need_apt+=(rclone)          # bucket mounts (tests/storage)
command -v fusermount3 >/dev/null || need_apt+=(fuse3)
command -v npm >/dev/null || need_apt+=(npm)                # Azurite, the Blob emulator
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need_apt+=(postgresql)  # tests/api
command -v chromium >/dev/null || need_apt+=(chromium)       # the dashboard's browser test
[ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing system packages: ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
mkdir -p /run/sshd  # sshd's privilege-separation folder

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[dev]'
# Cloud SDK wheels for the fake clusters' heads (runtime.wheelhouse in tests/cost): a head
# installs its provider's SDK to stop its own cluster, and no index is reachable in the tests.
# The list is the compute extras' own requirements (styx.runtime.head_sdk reads the same
# metadata on the head), so a changed extra re-downloads by itself.
head_reqs=$(.venv/bin/python -c 'from styx.runtime.head_sdk import extra_requirements as r
print("\n".join(sorted({q for e in ("aws", "gcp", "azure", "kubernetes") for q in r(e)})))')
head_stamp=$(printf '%s' "$head_reqs" | sha256sum | cut -c1-16)
if [ "$(cat .cache/head-wheels/.complete 2>/dev/null)" != "$head_stamp" ]; then
  rm -rf .cache/head-wheels
  # shellcheck disable=SC2086  # one requirement per word (none holds a space)
  .venv/bin/python -m pip download -q --only-binary=:all: -d .cache/head-wheels $head_reqs
  echo "$head_stamp" > .cache/head-wheels/.complete  # the tests in tests/cost look for it
fi
# Azurite (Azure Blob emulator) from npm, into an ignored project folder, once.
if [ ! -x .node/node_modules/.bin/azurite-blob ]; then
  npm install --prefix .node --no-audit --no-fund --silent azurite@3 >/dev/null
fi

.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench

# Most of the suite waits on processes (sshd nodes, agents, fake clouds), so it runs on
# STYX_TEST_WORKERS pytest processes (default 2; 0 = one process). A test file stays on one
# worker (its module fixtures are made once); each worker starts its own servers on free ports.
workers=${STYX_TEST_WORKERS:-2}
case "$workers" in ''|*[!0-9]*) echo "STYX_TEST_WORKERS: expected a number" >&2; exit 2 ;; esac
parallel=()
[ "$workers" -gt 0 ] && parallel=(-n "$workers" --dist loadfile)

# Tests (and the servers they start: moto, sshd, fake clouds) see only the loopback interface.
exec unshare --net -- bash -c 'ip link set lo up && exec .venv/bin/python -m pytest "$@"' \
  styx-tests "${parallel[@]}" "$@"
