#!/usr/bin/env bash
# The README's first command, cold: `cargo build --release -p myhealthctl`
# into an empty target directory (crates already downloaded, as after one
# `cargo fetch`), against a reference measured in the same run: the same
# crate built with the images' profile (`--profile dist`: thin LTO, one
# codegen unit), which is what `--release` used to be. Goal: ≤ 180 s on the
# 2-core machine. Takes two cold builds (~10 minutes).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo fetch --locked --quiet
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cold() {
  local t0 t1
  t0=$(date +%s.%N)
  CARGO_TARGET_DIR="$scratch/$1" cargo build --locked --quiet -p myhealthctl "${@:2}"
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}
lean=$(cold release --release)
dist=$(cold dist --profile dist)
printf 'cargo build --release -p myhealthctl (cold)        %7.1f s\n' "$lean"
printf 'the same with --profile dist (cold, reference)     %7.1f s\n' "$dist"
printf 'ratio lean / dist                                  %7.2fx\n' "$(echo "$lean / $dist" | bc -l)"
if (( $(echo "$lean <= 180" | bc -l) )); then echo "goal ≤ 180 s: met"; else echo "goal ≤ 180 s: NOT met"; fi
