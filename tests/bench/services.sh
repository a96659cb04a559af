#!/usr/bin/env bash
# The services' benchmarks in one go: release binary sizes, ingest against
# COPY, and the api-service under wrk against its own /health. Each prints
# its figures with the ratio to a floor measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --profile dist --quiet -p oura-collector -p data-processor -p api-service
echo "== image binary sizes (profile dist: stripped, thin LTO)"
for b in oura-collector data-processor api-service; do
  printf '%-16s %6.1f MiB\n' "$b" "$(echo "$(stat -c %s "target/dist/$b") / 1048576" | bc -l)"
done
echo "== ingest vs COPY"
cargo bench --quiet -p data-processor --bench ingest
echo "== api-service under wrk"
cargo bench --quiet -p api-service --bench http
