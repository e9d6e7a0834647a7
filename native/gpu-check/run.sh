#!/usr/bin/env bash
# Builds the native library with its CUDA kernels and checks them on this machine's GPU against
# PyTorch (correctness, then timing). Not part of CI: it needs an NVIDIA GPU, the CUDA toolkit,
# CMake and a python3 with a CUDA build of PyTorch. See README.md.
#
#   native/gpu-check/run.sh [RESULTS_FILE]
#
# Environment:
#   VIDTAG_CUDA_ARCHITECTURES    CMake CUDA architectures (default 90-real, i.e. H100/H200 only;
#                                e.g. 80-real for an A100, "native" for whatever GPU is present)
#   VIDTAG_GPU_CHECK_BUILD_DIR   build directory (default: a fresh temporary one, removed after)
#   VIDTAG_GPU_CHECK_RESULTS     results file, when no argument is given
#   VIDTAG_GPU_CHECK_ARGS        extra arguments for check_kernels.py (e.g. "--quick")
#   PYTHON                       interpreter holding PyTorch (default python3)
# Exit status: that of check_kernels.py (0 all checks passed, 1 a check failed, 2 could not run),
# or the build's on a build failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
native="$(cd "$here/.." && pwd)"
archs="${VIDTAG_CUDA_ARCHITECTURES:-90-real}"
results="${1:-${VIDTAG_GPU_CHECK_RESULTS:-}}"
python="${PYTHON:-python3}"

if [[ -n "${VIDTAG_GPU_CHECK_BUILD_DIR:-}" ]]; then
  build="$VIDTAG_GPU_CHECK_BUILD_DIR"
else
  build="$(mktemp -d "${TMPDIR:-/tmp}/vidtag-gpu-check.XXXXXX")"
  trap 'rm -rf "$build"' EXIT
fi

echo "== building libvidtag_kernels (CUDA architectures: $archs) in $build"
# The native tests are not needed here (and the CPU ones would only slow the build down).
cmake -S "$native" -B "$build" \
  -DCMAKE_BUILD_TYPE=Release \
  -DVIDTAG_CUDA=ON \
  -DVIDTAG_CUDA_ARCHITECTURES="$archs" \
  -DBUILD_TESTING=OFF
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 4)"

lib="$build/lib/libvidtag_kernels.so"
echo "== checking $lib"
args=(--lib "$lib")
if [[ -n "$results" ]]; then args+=(--results "$results"); fi
# shellcheck disable=SC2206  # word splitting of the extra arguments is intended
extra=(${VIDTAG_GPU_CHECK_ARGS:-})
set +e
PYTHONUNBUFFERED=1 "$python" "$here/check_kernels.py" "${args[@]}" "${extra[@]}"
status=$?
set -e
exit "$status"
