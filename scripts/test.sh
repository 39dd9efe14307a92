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
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need_apt+=(postgresql)  # tests/api
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

.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench

# Tests (and the servers they start: moto, sshd, fake clouds) see only the loopback interface.
exec unshare --net -- bash -c 'ip link set lo up && exec .venv/bin/python -m pytest "$@"' \
  styx-tests "$@"
