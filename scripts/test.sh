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
if [ ! -f .cache/head-wheels/.complete-4 ]; then
  rm -rf .cache/head-wheels
  .venv/bin/python -m pip download -q --only-binary=:all: -d .cache/head-wheels \
    'boto3>=1.34' 'kubernetes>=28.1' 'websocket-client>=1.6' \
    'google-cloud-compute>=1.19' 'google-auth>=2.20' \
    'azure-mgmt-compute>=39.0' 'azure-mgmt-network>=33.0' 'azure-mgmt-resource>=26.0' \
    'azure-identity>=1.15'
  touch .cache/head-wheels/.complete-4
fi
# Azurite (Azure Blob emulator) from npm, into an ignored project folder, once.
if [ ! -x .node/node_modules/.bin/azurite-blob ]; then
  npm install --prefix .node --no-audit --no-fund --silent azurite@3 >/dev/null
fi

.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench

# Tests (and the servers they start: moto, sshd, fake clouds) see only the loopback interface.
exec unshare --net -- bash -c 'ip link set lo up && exec .venv/bin/python -m pytest "$@"' \
  styx-tests "$@"
