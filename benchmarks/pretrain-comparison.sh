#!/usr/bin/env bash
# Fine-tuning from a pretraining against fine-tuning from scratch, same fine-tuning budget and
# seed, on a generated dataset with unlabeled videos. Prints each fine-tuning run's best
# validation score.
#   benchmarks/pretrain-comparison.sh [WORK_DIR] [SEED]   (defaults: a new temporary directory, 2022)
# Settings (environment): PRETRAIN_ARCH=single|double (single), PRETRAIN_EPOCHS=1 (one epoch over
# the 7,500 unlabeled and labeled videos, labels unused, is 234 steps), PRETRAIN_LR=5e-4.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-$(mktemp -d "${TMPDIR:-/tmp}/vidtag-pretrain.XXXXXX")}"
seed="${2:-2022}"
arch="${PRETRAIN_ARCH:-single}"
epochs="${PRETRAIN_EPOCHS:-1}"
lr="${PRETRAIN_LR:-5e-4}"
vidtag="$root/vidtag"

data="$work/data"
[[ -d "$data" ]] || "$vidtag" synth --out "$data" --labeled 1500 --unlabeled 6000 --test 0 \
  --feature-dim 128 --seed 11
pretrained="$work/pre-$arch-e$epochs"
[[ -d "$pretrained" ]] || "$vidtag" pretrain --data "$data" --arch "$arch" \
  --text-model "$data/text-model" --out "$pretrained" --epochs "$epochs" --batch-size 32 \
  --max-frames 16 --max-text 64 --lr "$lr" --queue-size 1024 --checkpoint-every 100 --threads 2

common=(--data "$data" --arch "$arch" --epochs 4 --batch-size 32 --max-frames 16 --max-text 64
  --bert-lr 1e-3 --cross-lr 2e-3 --lr 2e-3 --ema 0.99 --adversary none --val-ratio 0.2
  --eval-every 30 --eval-from 30 --seed "$seed" --threads 2)
[[ -d "$work/ft-scratch-$arch-$seed" ]] || "$vidtag" train "${common[@]}" \
  --text-model "$data/text-model" --out "$work/ft-scratch-$arch-$seed" 2>/dev/null \
  | sed "s/^/scratch: /"
"$vidtag" train "${common[@]}" --init "$pretrained" --out "$work/ft-init-$arch-e$epochs-$seed" \
  2>/dev/null | sed "s/^/pretrained ($epochs epochs): /"
