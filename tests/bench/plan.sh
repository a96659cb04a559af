#!/usr/bin/env bash
# `myhealthctl plan dev` against the same raw terraform, in the same run:
# the dev root of tests/fixtures/moto.toml planned against moto_server on
# 127.0.0.1 (plain HTTP, local state through a backend override file), warm
# (initialised once before timing). Prints the median of N interleaved runs of
#   raw:  terraform plan -out alone              (the floor)
#   raw:  terraform init + terraform plan -out   (what a user types by hand)
#   ours: myhealthctl plan dev                   (drift check, init only when what it depends on
#                                                 changed, plan -out -json, summary)
# and the overhead ratios. Needs tests/run's .venv (moto_server) and the
# provider mirror (MYHEALTH_TF_PLUGIN_MIRROR, default /opt/tf-plugins).
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${RUNS:-5}"
root=$PWD
mirror="${MYHEALTH_TF_PLUGIN_MIRROR:-/opt/tf-plugins}"
cargo build --release --quiet -p myhealthctl
bin="$root/target/release/myhealthctl"

work=$(mktemp -d)
trap 'kill "$moto_pid" 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
MOTO_IAM_LOAD_MANAGED_POLICIES=true "$root/.venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done

cat >"$work/terraform.rc" <<EOF
plugin_cache_dir = "$work/plugin-cache"
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/*"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/*"]
  }
}
EOF
mkdir -p "$work/plugin-cache"
export TF_CLI_CONFIG_FILE="$work/terraform.rc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 \
  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
  AWS_ENDPOINT_URL="http://127.0.0.1:$port"

"$bin" render --config tests/fixtures/moto.toml --out "$work/generated" >/dev/null
dev="$work/generated/terraform/envs/dev"
# Runtime override files (ignored by the drift check): local state, the emulator.
printf 'terraform {\n  backend "local" {}\n}\n' >"$dev/backend_override.tf"
printf 'provider "aws" {\n  skip_credentials_validation = true\n  skip_metadata_api_check     = true\n}\n' >"$dev/moto_override.tf"
terraform -chdir="$dev" init -input=false -no-color >/dev/null

raw_plan() { terraform -chdir="$dev" plan -input=false -no-color -detailed-exitcode -out=raw.tfplan; }
raw_both() { terraform -chdir="$dev" init -input=false -no-color && raw_plan; }
ours() { "$bin" plan dev --config tests/fixtures/moto.toml --out "$work/generated"; }

# seconds taken by "$@" (exit 2 = "changes" is success here)
timed() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || [ $? -eq 2 ]
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# One of each first (the emulator warms its IAM policies, the OS its caches;
# ours records its init, so later runs skip an init with nothing to do).
raw_both >/dev/null 2>&1 || true
ours >/dev/null 2>&1 || true

# Interleaved rounds, so drift in the machine's speed hits all three alike.
: >"$work/t.plan"; : >"$work/t.both"; : >"$work/t.ours"
for _ in $(seq "$runs"); do
  timed raw_plan >>"$work/t.plan"
  timed raw_both >>"$work/t.both"
  timed ours >>"$work/t.ours"
done
floor=$(median <"$work/t.plan")
both=$(median <"$work/t.both")
mine=$(median <"$work/t.ours")
resources=$("$bin" plan dev --config tests/fixtures/moto.toml --out "$work/generated" --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["add"])' || true)
echo "== plan of the dev root (${resources:-?} resources to add), median of $runs interleaved rounds, against moto on 127.0.0.1"
printf '%-44s %7.2f s\n' "raw: terraform plan -out (floor)" "$floor"
printf '%-44s %7.2f s  %5.2fx floor\n' "raw: terraform init + plan -out" "$both" "$(echo "$both / $floor" | bc -l)"
printf '%-44s %7.2f s  %5.2fx floor\n' "myhealthctl plan dev" "$mine" "$(echo "$mine / $floor" | bc -l)"
printf 'overhead of myhealthctl plan over raw terraform plan: %+.1f %%\n' "$(echo "($mine / $floor - 1) * 100" | bc -l)"
printf 'vs raw init + plan: %+.1f %%\n' "$(echo "($mine / $both - 1) * 100" | bc -l)"
