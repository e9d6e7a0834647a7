#!/usr/bin/env bash
# Native memory over a long training run: benchmarks/training-rss.sh [STEPS] [WORK_DIR]
# (dev.vidtag.benchmarks.TrainingMemoryCheck). The Java heap is fixed and touched up front, so
# that what grows in the resident set is native memory, not the heap expanding towards -Xmx.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ ! -f "$root/benchmarks/target/benchmarks.jar" ]]; then
  (cd "$root" && mvn -B -q -DskipTests package >&2)
fi
exec "${JAVA:-java}" -Xms512m -Xmx512m -XX:+AlwaysPreTouch \
  -cp "$root/benchmarks/target/benchmarks.jar:$root/benchmarks/target/lib/*" \
  dev.vidtag.benchmarks.TrainingMemoryCheck "$@"
