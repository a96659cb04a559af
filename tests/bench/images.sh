#!/usr/bin/env bash
# `myhealthctl build SERVICE` per service, warm (the services already
# compiled, so this is cargo's up-to-date check plus the image: reading the
# binary and its libraries, tar, gzip, hashing, the OCI layout), against a
# floor measured in the same run: plain `gzip -6` of the same binary. Prints
# the median of N runs, the ratio to the floor and the image's size.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${RUNS:-5}"
cargo build --release --quiet -p myhealthctl
cargo build --profile dist --quiet -p oura-collector -p data-processor -p api-service
bin=target/release/myhealthctl

median() {
  local times=()
  for _ in $(seq "$runs"); do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

gzip_floor() { gzip -6 -c "target/dist/$1" >/dev/null; }

echo "== image build per service (warm), median of $runs"
printf '%-16s %9s %9s %8s %10s %10s\n' service build gzip ratio binary image
for s in api-service data-processor oura-collector; do
  build=$(median "$bin" build "$s")
  floor=$(median gzip_floor "$s")
  size=$("$bin" build "$s" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["size"])')
  printf '%-16s %7.2f s %7.2f s %7.1fx %6.1f MiB %6.2f MiB\n' "$s" "$build" "$floor" \
    "$(echo "$build / $floor" | bc -l)" \
    "$(echo "$(stat -c %s "target/dist/$s") / 1048576" | bc -l)" "$(echo "$size / 1048576" | bc -l)"
done
