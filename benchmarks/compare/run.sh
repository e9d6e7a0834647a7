#!/usr/bin/env bash
# The race: VidTag (fp32, bf16, int8 weights) against PyTorch eager and ONNX Runtime on the same
# BERT-base-sized single- and double-stream models, the same weights and inputs, the same thread
# count, one system per process, in one run. Prints the table and writes it to OUT/table.md.
#
#   benchmarks/compare/run.sh [OUT]            (default OUT: benchmarks/compare/out)
#
# Settings (environment):
#   RACE_THREADS=2        intra-op threads of every system
#   RACE_BATCH=16         the throughput batch
#   RACE_B16_ITERS=3      timed batches of the full-length workload (after one warm-up)
#   RACE_MIX_BATCHES=3    batches of the mixed-length workload (timed once, after a warm-up batch)
#   RACE_B1_ITERS=20      timed single-video forwards per row (after two warm-ups)
#   RACE_ARCHS="single double"   RACE_WORKLOADS="full mix"
#   RACE_VIDTAG="openblas:fp32 openblas:bf16 openblas:int8 openblas:fp32:retain
#                 openblas:int8:retain mkl:fp32 mkl:int8 mkl:fp32:retain mkl:int8:retain"
#                         VidTag rows: LibTorch's BLAS (the OpenBLAS it ships with, or MKL), the
#                         precision, and optionally the native memory policy (-Dvidtag.malloc;
#                         default: the library's, reuse) and the attention backend
#                         (-Dvidtag.attention, vidtag or sdpa; e.g. openblas:fp32::sdpa)
#   RACE_PYTORCH_KEPT=1   also run PyTorch with glibc keeping freed memory (as VidTag does with
#                         -Dvidtag.malloc=retain), to show what the allocator alone is worth
#   RACE_ORT_INT8=1       also run ONNX Runtime (Python) on the int8 dynamic quantisation of the
#                         ONNX export (race.py quantize: QInt8 weights, QUInt8 activations)
#   RACE_JVM_PEERS="ort-java djl"
#                         the JVM peers, each on the same model, weights, inputs and workloads:
#                           ort-java       ONNX Runtime's Java API on the ONNX export (RaceOnnxRuntimeJava)
#                           ort-java:int8  the same on the int8 quantisation (not in the default)
#                           djl            DJL's PyTorch engine on a TorchScript trace (RaceDjl), with
#                                          the LibTorch CPU natives of its Maven jars, offline
#                         "" runs none; a peer whose class is not in the build is skipped with a note
#   ENGINE_CACHE_DIR=OUT/djl   where DJL extracts its bundled natives (its own default: ~/.djl.ai)
#   RACE_LAYERS=12        BERT layers (fewer for a quick check of the script itself)
#   RACE_RESUME=1         keep OUT/results and skip the rows already measured there
#   RACE_VENV=DIR         the Python environment (default benchmarks/compare/.venv, created on
#                         first use with pip from the configured index)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$(mkdir -p "${1:-$root/benchmarks/compare/out}" && cd "${1:-$root/benchmarks/compare/out}" && pwd)"
threads="${RACE_THREADS:-2}"
batch="${RACE_BATCH:-16}"
b16_iters="${RACE_B16_ITERS:-3}"
mix_batches="${RACE_MIX_BATCHES:-3}"
b1_iters="${RACE_B1_ITERS:-20}"
archs="${RACE_ARCHS:-single double}"
vidtag_rows="${RACE_VIDTAG:-openblas:fp32 openblas:bf16 openblas:int8 openblas:fp32:retain openblas:int8:retain mkl:fp32 mkl:int8 mkl:fp32:retain mkl:int8:retain}"
pytorch_kept="${RACE_PYTORCH_KEPT:-1}"
workloads="${RACE_WORKLOADS:-full mix}"
ort_int8="${RACE_ORT_INT8:-1}"
jvm_peers="${RACE_JVM_PEERS-ort-java djl}"
layers="${RACE_LAYERS:-12}"
venv="${RACE_VENV:-$root/benchmarks/compare/.venv}"

log() { printf '[race %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

if [[ ! -x "$venv/bin/python" ]]; then
  log "creating the Python environment $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --retries 0 torch transformers safetensors onnx onnxscript \
    onnxruntime numpy
fi
python="$venv/bin/python"

if [[ ! -f "$root/benchmarks/target/benchmarks.jar" || -n "${RACE_BUILD:-}" ]]; then
  log "building VidTag"
  (cd "$root" && mvn -B -q -DskipTests -Dvidtag.cuda=OFF package >&2)
fi
# every system gets the same thread count and passive OpenMP waiting
export OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads" OMP_WAIT_POLICY=PASSIVE
# OpenBLAS chooses its kernels from the CPU: an OPENBLAS_CORETYPE left in the environment (AVX2
# kernels on an AVX-512 machine, say) would change only the VidTag/OpenBLAS rows
unset OPENBLAS_CORETYPE
java_race() {
  "${JAVA:-java}" -Xmx2g -cp "$root/benchmarks/target/benchmarks.jar:$root/benchmarks/target/lib/*" "$@"
}

# a JVM peer runs only if its class was built (benchmarks/pom.xml brings its natives)
peer_built() { [[ -f "$root/benchmarks/target/classes/dev/vidtag/benchmarks/compare/$1.class" ]]; }
peers=()
for peer in $jvm_peers; do
  case "$peer" in
    ort-java|ort-java:int8) class=RaceOnnxRuntimeJava ;;
    djl) class=RaceDjl ;;
    *) echo "RACE_JVM_PEERS: unknown peer $peer (ort-java, ort-java:int8, djl)" >&2; exit 2 ;;
  esac
  if peer_built "$class"; then peers+=("$peer"); else log "skipping $peer: $class is not built"; fi
done
wants_peer() { [[ " ${peers[*]-} " == *" $1 "* ]]; }
export ENGINE_CACHE_DIR="${ENGINE_CACHE_DIR:-$out/djl}"

log "machine: $(nproc) CPUs, $(uptime | sed 's/.*load average/load average/')"
if [[ ! -f "$out/lengths.txt" ]]; then
  log "text lengths of a synthetic test split"
  rm -rf "$out/synth"
  java_race dev.vidtag.cli.VidTag synth --out "$out/synth" --labeled 16 --unlabeled 0 \
    --test 200 --feature-dim 8 --seed 11 >&2
  java_race dev.vidtag.benchmarks.compare.RaceModels lengths --data "$out/synth" \
    --split test_a --out "$out/lengths.txt"
fi
"$python" "$root/benchmarks/compare/race.py" inputs --lengths "$out/lengths.txt" \
  --out "$out/inputs" --batch "$batch" --mix-batches "$mix_batches"

mkdir -p "$out/results"
[[ -n "${RACE_RESUME:-}" ]] || rm -f "$out/results/"*
measured() { [[ -f "$out/results/$1.json" ]]; }
for arch in $archs; do
  model="$out/models/$arch-$layers"
  if [[ ! -f "$model/model.safetensors" ]]; then
    java_race dev.vidtag.benchmarks.compare.RaceModels model --arch "$arch" --layers "$layers" \
      --out "$model"
  fi
  if [[ ! -f "$model.onnx" ]]; then
    log "$arch: ONNX export"
    "$python" "$root/benchmarks/compare/race.py" export --model "$model" --onnx "$model.onnx"
  fi
  if { [[ "$ort_int8" == 1 ]] || wants_peer ort-java:int8; } && [[ ! -f "$model.int8.onnx" ]]; then
    log "$arch: int8 dynamic quantisation of the ONNX export"
    "$python" "$root/benchmarks/compare/race.py" quantize --onnx "$model.onnx" \
      --out "$model.int8.onnx"
  fi
  if wants_peer djl && [[ ! -f "$model.pt" ]]; then
    log "$arch: TorchScript trace"
    "$python" "$root/benchmarks/compare/race.py" torchscript --model "$model" --out "$model.pt"
  fi
  for workload in $workloads; do
    common=(--inputs "$out/inputs/$workload.safetensors" --workload "$workload"
            --threads "$threads" --batch "$batch" --b16-iters "$b16_iters" --b1-iters "$b1_iters")
    for system in pytorch onnxruntime; do
      measured "$arch-$workload-$system-fp32" && continue
      log "$arch $workload: $system ($(cut -d' ' -f1-3 /proc/loadavg))"
      "$python" "$root/benchmarks/compare/race.py" measure --system "$system" --model "$model" \
        --onnx "$model.onnx" "${common[@]}" \
        --out "$out/results/$arch-$workload-$system-fp32.json" \
        --logits "$out/results/$arch-$workload-$system-fp32.npy"
    done
    if [[ "$ort_int8" == 1 ]] && ! measured "$arch-$workload-onnxruntime-int8"; then
      log "$arch $workload: onnxruntime int8 ($(cut -d' ' -f1-3 /proc/loadavg))"
      "$python" "$root/benchmarks/compare/race.py" measure --system onnxruntime --precision int8 \
        --model "$model" --onnx "$model.int8.onnx" "${common[@]}" \
        --out "$out/results/$arch-$workload-onnxruntime-int8.json" \
        --logits "$out/results/$arch-$workload-onnxruntime-int8.npy"
    fi
    for peer in "${peers[@]}"; do
      case "$peer" in
        ort-java) name="$arch-$workload-ort-java-fp32"
          run=(dev.vidtag.benchmarks.compare.RaceOnnxRuntimeJava --onnx "$model.onnx") ;;
        ort-java:int8) name="$arch-$workload-ort-java-int8"
          run=(dev.vidtag.benchmarks.compare.RaceOnnxRuntimeJava --onnx "$model.int8.onnx"
               --precision int8) ;;
        djl) name="$arch-$workload-djl-fp32"
          run=(dev.vidtag.benchmarks.compare.RaceDjl --torchscript "$model.pt") ;;
      esac
      measured "$name" && continue
      log "$arch $workload: $peer ($(cut -d' ' -f1-3 /proc/loadavg))"
      java_race "${run[@]}" "${common[@]}" --out "$out/results/$name.json" \
        --logits "$out/results/$name.npy"
    done
    if [[ "$pytorch_kept" == 1 ]] && ! measured "$arch-$workload-pytorch-kept-fp32"; then
      log "$arch $workload: pytorch, freed memory kept ($(cut -d' ' -f1-3 /proc/loadavg))"
      MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647 "$python" \
        "$root/benchmarks/compare/race.py" measure --system pytorch \
        --label "PyTorch, freed memory kept" --model "$model" "${common[@]}" \
        --out "$out/results/$arch-$workload-pytorch-kept-fp32.json" \
        --logits "$out/results/$arch-$workload-pytorch-kept-fp32.npy"
    fi
    for row in $vidtag_rows; do
      IFS=: read -r blas precision malloc attention <<< "$row"
      name="$arch-$workload-vidtag-$blas-$precision${malloc:+-$malloc}${attention:+-$attention}"
      measured "$name" && continue
      log "$arch $workload: VidTag $precision, $blas ${malloc:-} ${attention:-} ($(cut -d' ' -f1-3 /proc/loadavg))"
      java_race -Dvidtag.blas="$blas" -Dvidtag.malloc="${malloc:-reuse}" \
        -Dvidtag.attention="${attention:-vidtag}" \
        dev.vidtag.benchmarks.compare.RaceVidTag --model "$model" \
        --precision "$precision" "${common[@]}" \
        --out "$out/results/$name.json" --logits "$out/results/$name.npy"
    done
  done
done
log "done ($(cut -d' ' -f1-3 /proc/loadavg))"
"$python" "$root/benchmarks/compare/race.py" table --results "$out/results" --out "$out/table.md"
