#!/usr/bin/env bash
# Device check (run on a machine with an NVIDIA GPU, from the repo root): the local provider
# detects the GPU, places a task that asks for it, gives the job CUDA_VISIBLE_DEVICES, queues a
# second GPU job behind the first, and refuses what the machine lacks with one line.
# Needs the styx wheel and its missing dependencies in .whl/ (see the closing notes of issue 18).
set -u
out=${OUT:-/tmp/gpu-check}
mkdir -p "$out"
exec > >(tee "$out/gpu_check.log") 2>&1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site STYX_HOME=/tmp/styx-gpu-home PYTHONUNBUFFERED=1
styx() { python3 -c 'import sys; from styx.cli.main import main; sys.argv[0] = "styx"; main()' "$@"; }
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
echo "== nvidia-smi: $gpu"
name=$(python3 -c "from styx.providers.local.machine import normalise_gpu_name as n; print(n('$gpu'))")
echo "== normalised: $name"
echo "== styx check"; styx check 2>&1 | grep -E "^(CLOUD|local)"
echo "== plan for $name:1"; styx launch --dryrun -o json --infra local --gpus "$name:1" -- echo hi
echo "== launch examples/gpu.yaml with --gpus $name:1"
styx launch -y -c gpu --gpus "$name:1" examples/gpu.yaml; echo "rc=$?"
echo "== two GPU jobs on a one-GPU node: the second waits for the first"
for job in first:12 second:1; do
  printf 'name: %s\nresources:\n  accelerators: %s:1\nrun: |\n  echo "%s on GPU $CUDA_VISIBLE_DEVICES"; sleep %s\n' \
    "${job%:*}" "$name" "${job%:*}" "${job#*:}" > "/tmp/${job%:*}.yaml"
  styx exec -d gpu "/tmp/${job%:*}.yaml"; echo "rc=$?"
done
sleep 2; styx queue gpu
sleep 16; styx queue gpu
styx logs --no-follow gpu 2
styx logs --no-follow gpu 3
echo "== what the machine lacks (each must be one line, rc!=0)"
styx launch -y --dryrun --infra local --gpus "$name:8" -- echo hi; echo "rc=$?"
styx launch -y --dryrun --infra local --gpus A10G:1 -- echo hi; echo "rc=$?"
echo "== container engine here: $(command -v docker || command -v podman || echo none)"
styx down -y gpu; echo "down rc=$?"
styx status
