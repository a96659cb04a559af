#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer via cargo-fuzz) of
#   parse_validate_render: arbitrary bytes as myhealth.toml → parse → validate → render;
#   hostile_values:        arbitrary text in one value of a valid config → refused, or
#                          rendered with every generated file's structure unchanged.
# Usage: cli/fuzz/run.sh [SECONDS] [TARGET]  (default 600 s, parse_validate_render).
# Needs a nightly toolchain and `cargo install cargo-fuzz`. Seeds: the default
# config, the fixtures and the bad-config corpus. Findings land in cli/fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-600}"
target="${2:-parse_validate_render}"
corpus=fuzz/corpus/$target
mkdir -p "$corpus"
if [ "$target" = parse_validate_render ]; then
  cp ../myhealth.toml ../tests/fixtures/*.toml ../tests/config-errors/*.toml "$corpus/"
else
  printf '\x07: #{}[]' > "$corpus/seed-meta"; printf '\x2b${x}' > "$corpus/seed-template"
fi
exec cargo +nightly fuzz run "$target" "$corpus" -- \
  -max_total_time="$secs" -print_final_stats=1 -max_len=4096 -timeout=10
