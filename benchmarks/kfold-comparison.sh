#!/usr/bin/env bash
# A k-fold ensemble against one model trained on a single split, at the demo's settings (tiny
# single stream, generated data), and the tail adjustment fitted on the k-fold's out-of-fold
# logits against one fitted on a single fold's validation. Prints each run's validation score and
# the official score of every variant on the test split.
#   benchmarks/kfold-comparison.sh [WORK_DIR]   (default: a new temporary directory)
# Settings (environment): KFOLD_FOLDS=5, KFOLD_EPOCHS=3 (the epochs of every run: the single
# model trains on 90% of the labeled videos, each fold on (K - 1) / K of them).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-$(mktemp -d "${TMPDIR:-/tmp}/vidtag-kfold.XXXXXX")}"
folds="${KFOLD_FOLDS:-5}"
epochs="${KFOLD_EPOCHS:-3}"
vidtag="$root/vidtag"

data="$work/data"
[[ -d "$data" ]] || "$vidtag" synth --out "$data" --labeled 4000 --test 1000 --feature-dim 64 \
  --seed 2022 >/dev/null
# the demo's fine-tuning settings (DemoPipeline)
common=(--data "$data" --arch single --text-model "$data/text-model" --batch-size 32
  --max-frames 8 --max-text 64 --bert-lr 2e-3 --cross-lr 4e-3 --lr 4e-3 --ema 0.99 --dropout 0
  --adversary none --eval-every 56 --eval-from 56 --threads 2)
single="$work/single-e$epochs"
kfold="$work/kfold-$folds-e$epochs"
timed() {  # NAME COMMAND...: runs it without its log, then prints its wall time
  local name="$1" start; shift
  start=$(date +%s); "$@" 2>/dev/null; echo "$name: $(( $(date +%s) - start )) s" >&2
}
[[ -d "$single" ]] || timed "train single" "$vidtag" train "${common[@]}" --epochs "$epochs" \
  --out "$single" | sed "s/^/single: /"
[[ -f "$kfold/oof_logits.npy" ]] || timed "kfold" "$vidtag" kfold "${common[@]}" \
  --epochs "$epochs" --folds "$folds" --out "$kfold" | sed "s/^/kfold: /"

members=()
for ((k = 0; k < folds; k++)); do members+=(--model "$kfold/fold-$k/best"); done
"$vidtag" tail-fit --run "$single" --model "$single/best" --out "$single/tail.json" \
  --threads 2 >/dev/null
"$vidtag" tail-fit --run "$kfold/fold-0" --model "$kfold/fold-0/best" \
  --out "$kfold/tail-fold0.json" --threads 2 >/dev/null
"$vidtag" tail-fit --kfold "$kfold" --out "$kfold/tail-oof.json" --threads 2 >/dev/null

predict() {  # NAME, then predict's model and tail options
  local name="$1"; shift
  "$vidtag" predict --data "$data" --split test_a --out "$work/$name.csv" --threads 2 "$@" >/dev/null
  "$vidtag" evaluate --pred "$work/$name.csv" --truth "$data/truth_test_a.csv" \
    | python3 -c "import json, sys; s = json.load(sys.stdin); print('%-44s %.4f  %.4f  %.4f  %.4f  %.4f' % (sys.argv[1], s['mean_f1'], s['lv1_micro_f1'], s['lv1_macro_f1'], s['lv2_micro_f1'], s['lv2_macro_f1']))" "$name"
}
echo "test split                                   mean F1  lv1 mic  lv1 mac  lv2 mic  lv2 mac"
predict "single-e$epochs" --model "$single/best"
predict "single-e$epochs+tail-on-its-split" --model "$single/best" --tail-adjust "$single/tail.json"
predict "folds-$folds-e$epochs" "${members[@]}"
predict "folds-$folds-e$epochs+tail-on-fold-0" "${members[@]}" \
  --tail-adjust "$kfold/tail-fold0.json"
predict "folds-$folds-e$epochs+tail-out-of-fold" "${members[@]}" \
  --tail-adjust "$kfold/tail-oof.json"
