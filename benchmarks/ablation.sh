#!/usr/bin/env bash
# Fine-tuning ablation on a generated dataset: plain, +EMA, +EMA+PGD, +EMA+FGM, and SWA of the
# three best checkpoints of the +EMA+PGD run, for the tiny single-stream model of a `vidtag synth`
# text-model. Prints each run's best validation score and the average's.
#   benchmarks/ablation.sh [WORK_DIR]   (default: a new temporary directory)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-$(mktemp -d "${TMPDIR:-/tmp}/vidtag-ablation.XXXXXX")}"
vidtag="$root/vidtag"

data="$work/data"
[[ -d "$data" ]] || "$vidtag" synth --out "$data" --labeled 5000 --unlabeled 0 --test 100 --feature-dim 64 --seed 7

common=(--data "$data" --arch single --text-model "$data/text-model" --epochs 4 --batch-size 32
  --max-text 64 --max-frames 8 --bert-lr 1e-3 --lr 2e-3 --cross-lr 2e-3 --eval-every 100
  --eval-from 100 --seed 2022 --threads 2)
# PGD and FGM radii scaled to the tiny model: its embeddings have norm ~0.16 per token, where the
# reference's epsilon 1.0 was sized for BERT-base's.
run() {
  local name="$1"; shift
  local start=$SECONDS
  "$vidtag" train "${common[@]}" --out "$work/$name" "$@" 2>/dev/null | sed "s/^/$name: /"
  echo "$name: $((SECONDS - start)) s"
}
run plain --ema 0 --adversary none
run ema --ema 0.99 --adversary none
run ema-pgd --ema 0.99 --adversary pgd --pgd-epsilon 0.05 --pgd-alpha 0.02
run ema-fgm --ema 0.99 --adversary fgm --fgm-epsilon 0.05
"$vidtag" swa --run "$work/ema-pgd" --top 3 --out "$work/ema-pgd-swa3" 2>/dev/null | sed "s/^/ema-pgd-swa3: /"
