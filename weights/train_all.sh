#!/usr/bin/env bash
# Train every preset with the recipe used for the shipped weights and export each generator
# (float16) to weights/<preset>.safetensors. The runs go in parallel on one GPU.
# Usage: bash weights/train_all.sh [SECONDS_PER_RUN] [PRESET ...]
set -u
SECONDS_PER_RUN=${1:-280}
shift || true
PY=${PYTHON:-python3}
PRESETS=${*:-$($PY -m gan list --names)}      # every registered preset
mkdir -p runs
for p in $PRESETS; do
  $PY -m gan train --preset "$p" --seconds "$SECONDS_PER_RUN" --device auto --quiet \
      --log-every 200 --sample-every 5000 --checkpoint-every 20000 ${TRAIN_FLAGS:-} \
      --out "runs/$p" --export "weights/$p.safetensors" > "runs/$p.log" 2>&1 &
done
wait
for p in $PRESETS; do echo "== $p"; tail -n 2 "runs/$p.log"; done
