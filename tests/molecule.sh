#!/usr/bin/env bash
# Run one Molecule scenario end to end:
#   destroy → create → converge (-vvv, logged) → no secret in that log → verify →
#   idempotence (second converge changed=0) → verify again (data from the first pass intact) → destroy
# usage: tests/molecule.sh <scenario>
set -euo pipefail
scenario=${1:?usage: tests/molecule.sh <scenario>}
cd "$(dirname "$0")/.."
export MOLECULE_NO_LOG=false
# Logs, the scenario's credentials dir (molecule.yml points there) and the verify state: a fresh
# host gets fresh secrets.
logdir=tests/output/molecule/$scenario
rm -rf "$logdir"
mkdir -p "$logdir"

step() { printf '\n=== molecule %s: %s (%s)\n' "$scenario" "$1" "$(date +%T)"; }
cleanup() { step destroy; molecule destroy -s "$scenario" >/dev/null 2>&1 || true; }
trap cleanup EXIT

step destroy; molecule destroy -s "$scenario" >/dev/null
step create; molecule create -s "$scenario"
step "converge -vvv (log: $logdir/converge.log)"
if ! molecule converge -s "$scenario" -- -vvv >"$logdir/converge.log" 2>&1; then
  grep -E -B2 -A25 '^(fatal|failed):|FAILED!|ERROR!' "$logdir/converge.log" | tail -n 120
  exit 1
fi
grep -A12 'PLAY RECAP' "$logdir/converge.log"
step "no secret in the -vvv converge log"
python3 tests/scripts/check_no_secrets.py "$logdir/converge.log" "$logdir/credentials"
step verify; molecule verify -s "$scenario"
step idempotence; molecule idempotence -s "$scenario"
step "verify after the second converge"; molecule verify -s "$scenario"
