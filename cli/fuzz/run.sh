#!/usr/bin/env bash
# Coverage-guided fuzzing of parse → validate → render (libFuzzer via cargo-fuzz).
# Usage: cli/fuzz/run.sh [SECONDS]   (default 600). Needs a nightly toolchain and
# `cargo install cargo-fuzz`. Seeds: the default config, the fixtures and the
# bad-config corpus. Findings land in cli/fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-600}"
corpus=fuzz/corpus/parse_validate_render
mkdir -p "$corpus"
cp ../myhealth.toml ../tests/fixtures/*.toml ../tests/config-errors/*.toml "$corpus/"
exec cargo +nightly fuzz run parse_validate_render "$corpus" -- \
  -max_total_time="$secs" -print_final_stats=1 -max_len=16384 -timeout=10
