#!/usr/bin/env bash
# Run one Molecule scenario end to end:
#   destroy → create → converge (-vvv, logged) → verify → bench smoke (`default` only: bench/smoke.sh)
#   → side effect (molecule/shared/faults.yml: day-2 jobs, kill -9 each service, reboot every host,
#   isolation checks, large artifact) → `mysql` only: credential rotation (molecule/shared/rotation.yml)
#   → idempotence
#   (second converge changed=0, logged) → verify again (data from the first pass intact) →
#   collect `ps auxww`, the journal and the services' logs of every host → no secret in any of
#   those texts → destroy. Prints how long each step took.
# usage: tests/molecule.sh <scenario>
set -euo pipefail
scenario=${1:?usage: tests/molecule.sh <scenario>}
cd "$(dirname "$0")/.."
export MOLECULE_NO_LOG=false
# Logs, the scenario's credentials dir (molecule.yml points there) and the verify state: a fresh
# host gets fresh secrets.
logdir=tests/output/molecule/$scenario
rm -rf "$logdir"
mkdir -p "$logdir/hosts"

timings=()
step_name=""
step_start=$SECONDS
step() {
  [ -z "$step_name" ] || timings+=("$step_name $((SECONDS - step_start))s")
  step_name=$1
  step_start=$SECONDS
  printf '\n=== molecule %s: %s (%s)\n' "$scenario" "$1" "$(date +%T)"
}
report() {
  [ -z "$step_name" ] || timings+=("$step_name $((SECONDS - step_start))s")
  step_name=""
  printf '\n=== molecule %s: step times (total %ss):' "$scenario" "$SECONDS"
  printf ' %s;' "${timings[@]}"
  printf '\n'
}
cleanup() {
  rc=$?
  step destroy; molecule destroy -s "$scenario" >/dev/null 2>&1 || true
  report
  exit $rc
}
trap cleanup EXIT

# Log of a step, shown only up to its failures when it fails.
run_logged() {
  local log=$1; shift
  if ! "$@" >"$log" 2>&1; then
    grep -E -B2 -A25 '^(fatal|failed):|FAILED!|ERROR!|CRITICAL' "$log" | tail -n 150
    echo "(full log: $log)"
    return 1
  fi
}

step destroy; molecule destroy -s "$scenario" >/dev/null
step create; molecule create -s "$scenario"
step "converge -vvv (log: $logdir/converge.log)"
run_logged "$logdir/converge.log" molecule converge -s "$scenario" -- -vvv
grep -A12 'PLAY RECAP' "$logdir/converge.log"
step "no secret in the -vvv converge log"
python3 tests/scripts/check_no_secrets.py "$logdir/converge.log" "$logdir/credentials"
step verify; molecule verify -s "$scenario"
if [ "$scenario" = default ]; then
  # The benchmarks with tiny sizes, so that they never rot (timings printed, never judged); they
  # leave the host as they found it, so the idempotence step below is not affected.
  step "bench smoke (bench/smoke.sh; results in tests/output/bench/)"
  bench/smoke.sh onprem-mlflow-default "$logdir/credentials"
fi
step "faults: kill -9, reboots, isolation, large artifact (log: $logdir/side-effect.log)"
status=0
if ! molecule side-effect -s "$scenario" >"$logdir/side-effect.log" 2>&1; then status=1; fi
# Recovery times, sizes and the verdict, whatever the outcome.
grep -E -A14 'TASK \[(Recovery time|Recovery times|Peak RSS|What the outsider|What MLflow|Every service listens)' \
  "$logdir/side-effect.log" | grep -E '"msg"|msg:|ok:|fatal|failed|changed:' | cut -c1-400 || true
grep -E -A20 'fatal:|FAILED!' "$logdir/side-effect.log" | cut -c1-600 | tail -n 60 || true
grep -A12 'PLAY RECAP' "$logdir/side-effect.log" || true
if [ "$scenario" = mysql ] && [ "$status" -eq 0 ]; then
  # Credential rotation (molecule/shared/rotation.yml): every old credential refused afterwards; the
  # idempotence step and the verify below then run with the new ones.
  step "rotation of every credential (log: $logdir/rotation.log)"
  run_logged "$logdir/rotation.log" env ONPREM_SIDE_EFFECT=rotation molecule side-effect -s "$scenario"
  grep -E -A3 'TASK \[Show what was refused' "$logdir/rotation.log" | grep -E 'msg' || true
  grep -A12 'PLAY RECAP' "$logdir/rotation.log"
fi
step "idempotence (log: $logdir/idempotence.log)"
run_logged "$logdir/idempotence.log" molecule idempotence -s "$scenario"
grep -A12 'PLAY RECAP' "$logdir/idempotence.log"
step "verify after the faults and the second converge"; molecule verify -s "$scenario"

step "collect ps, journal and service logs of every host (into $logdir/hosts)"
# Every container of the scenario (molecule.yml platforms); the images come with procps and systemd.
hosts=$(python3 -c 'import sys, yaml; print(" ".join(p["name"] for p in yaml.safe_load(open(sys.argv[1]))["platforms"]))' \
  "molecule/$scenario/molecule.yml")
also=(--also "$logdir/idempotence.log" --also "$logdir/side-effect.log")
if [ -f "$logdir/rotation.log" ]; then also+=(--also "$logdir/rotation.log"); fi
for host in $hosts; do
  docker exec "$host" ps auxww >"$logdir/hosts/$host.ps.txt"
  docker exec "$host" journalctl --no-pager >"$logdir/hosts/$host.journal.txt"
  also+=(--also "$logdir/hosts/$host.ps.txt" --also "$logdir/hosts/$host.journal.txt")
  docker exec "$host" sh -c 'find /var/log/nginx /var/log/postgresql /var/log/mysql* -type f 2>/dev/null |
    while read -r f; do echo "==> $f"; case $f in *.gz) zcat "$f" ;; *) cat "$f" ;; esac; done' \
    >"$logdir/hosts/$host.services.txt"
  if [ -s "$logdir/hosts/$host.services.txt" ]; then also+=(--also "$logdir/hosts/$host.services.txt"); fi
done
step "no secret in the idempotence and side-effect logs, ps, journals and service logs"
python3 tests/scripts/check_no_secrets.py "$logdir/converge.log" "$logdir/credentials" "${also[@]}"
[ "$status" -eq 0 ] || { echo "the side effect (molecule/shared/faults.yml) failed: see $logdir/side-effect.log"; exit 1; }
