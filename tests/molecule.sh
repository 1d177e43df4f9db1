#!/usr/bin/env bash
# Run one Molecule scenario end to end:
#   destroy → create → converge (-vvv, logged) → verify → bench smoke (`default` only: bench/smoke.sh)
#   → side effect (molecule/shared/faults.yml: day-2 jobs, kill -9 each service, reboot every host,
#   isolation checks, large artifact) → `split` only (it sets molecule_rolling_from, which its first
#   converge ran with): failover (molecule/shared/failover.yml: MinIO, then MLflow stopped on one
#   host under a client loop through nginx) and a converge without those settings under a client
#   loop (tests/scripts/rolling_converge.sh: MLflow servers restarted one at a time, no failed request)
#   → `mysql` only: the MLflow upgrade (its first converge installs
#   molecule_upgrade_from of molecule.yml; a failing upgrade rolled back, molecule/shared/
#   upgrade_rollback.yml; then a converge at the pinned version, -vvv, logged, and the checks of
#   molecule/shared/upgrade.yml) → `mysql` only: credential rotation
#   (molecule/shared/rotation.yml) → idempotence
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
  tests/scripts/yield_others.sh off "$scenario" >/dev/null 2>&1 || true
  if [ "$rc" -ne 0 ]; then
    # Keep every host's journal for the post-mortem before the hosts go.
    for host in $(docker ps --format '{{.Names}}' --filter "name=^onprem-mlflow-$scenario"); do
      docker exec "$host" journalctl --no-pager >"$logdir/hosts/$host.journal.txt" 2>&1 || true
    done
    echo "journals of the hosts kept in $logdir/hosts"
  fi
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

# A group var of the scenario's molecule.yml (all hosts), as JSON when it is not a string; empty if unset.
scenario_var() {
  python3 -c 'import json, sys, yaml
inventory = yaml.safe_load(open(sys.argv[1])).get("provisioner", {}).get("inventory", {})
value = inventory.get("group_vars", {}).get("all", {}).get(sys.argv[2], "")
print(value if isinstance(value, str) else json.dumps(value))' "molecule/$scenario/molecule.yml" "$1"
}
# The MLflow version an upgrade test starts from (only mysql has one): the first converge installs
# it, the upgrade step below the pinned version.
upgrade_from=$(scenario_var molecule_upgrade_from)
# Settings the first converge starts from (only split has them): a later converge without them
# restarts every MinIO and MLflow host, one at a time, while a client works through nginx.
rolling_from=$(scenario_var molecule_rolling_from)
converge_args=(-vvv)
if [ -n "$upgrade_from" ]; then converge_args+=(--extra-vars "mlflow_version=$upgrade_from"); fi
if [ -n "$rolling_from" ]; then converge_args+=(--extra-vars "$rolling_from"); fi

step destroy; molecule destroy -s "$scenario" >/dev/null
step create; molecule create -s "$scenario"
step "converge -vvv${upgrade_from:+ at MLflow $upgrade_from (the upgrade starts there)} (log: $logdir/converge.log)"
run_logged "$logdir/converge.log" molecule converge -s "$scenario" -- "${converge_args[@]}"
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
# Its recovery bounds are asserted. In `make test` (tests/scripts/lanes.sh) no two scenarios run
# their fault checks at once (a lock: the second waits), and the other lane yields the CPU meanwhile.
if [ -n "${ONPREM_LANES_DIR:-}" ]; then
  exec 9>"$ONPREM_LANES_DIR/faults.lock"
  wait_start=$SECONDS
  flock -x 9
  echo "fault checks of $scenario: lock taken after $((SECONDS - wait_start)) s"
fi
tests/scripts/yield_others.sh on "$scenario"
if ! molecule side-effect -s "$scenario" >"$logdir/side-effect.log" 2>&1; then status=1; fi
tests/scripts/yield_others.sh off "$scenario"
if [ -n "${ONPREM_LANES_DIR:-}" ]; then exec 9>&-; fi
# Recovery times, sizes and the verdict, whatever the outcome.
grep -E -A14 'TASK \[(Recovery time|Recovery times|Peak RSS|What the outsider|What MLflow|Every service listens)' \
  "$logdir/side-effect.log" | grep -E '"msg"|msg:|ok:|fatal|failed|changed:' | cut -c1-400 || true
grep -E -A20 'fatal:|FAILED!' "$logdir/side-effect.log" | cut -c1-600 | tail -n 60 || true
grep -A12 'PLAY RECAP' "$logdir/side-effect.log" || true
if [ -n "$rolling_from" ] && [ "$status" -eq 0 ]; then
  # molecule/shared/failover.yml: MinIO stopped on a storage host, then MLflow on a server, each
  # while a client loop runs through nginx; not one request may fail.
  step "failover: a storage host and an MLflow server down under a client loop (log: $logdir/failover.log)"
  run_logged "$logdir/failover.log" env ONPREM_SIDE_EFFECT=failover molecule side-effect -s "$scenario"
  grep -E -A3 'TASK \[What the client saw' "$logdir/failover.log" | grep -E 'msg' | cut -c1-1200 || true
  grep -A12 'PLAY RECAP' "$logdir/failover.log"
  step "rolling restarts: converge without molecule_rolling_from under a client loop (log: $logdir/rolling.log)"
  tests/scripts/rolling_converge.sh "$scenario" "$logdir"
fi
if [ -n "$upgrade_from" ]; then
  # The upgrade to the pinned MLflow version, before the rotation: playbooks/rotate.yml runs site.yml,
  # which would upgrade on its own. First molecule/shared/upgrade_rollback.yml: a fault keeps the new
  # version from starting, site.yml must roll back (old version serving, the pre-upgrade backup
  # restored, the old client's runs intact). Then the upgrade for real, and molecule/shared/upgrade.yml:
  # the new venv serves, the old one stays, the pre-upgrade backup is the old version's, the old
  # client's runs read back with the new client; a version that cannot be installed fails and
  # changes nothing.
  step "upgrade with a fault: rolled back (molecule/shared/upgrade_rollback.yml; log: $logdir/upgrade-rollback.log)"
  run_logged "$logdir/upgrade-rollback.log" env ONPREM_SIDE_EFFECT=upgrade_rollback molecule side-effect -s "$scenario"
  grep -E -A3 'TASK \[Show how the upgrade ended' "$logdir/upgrade-rollback.log" | grep -E 'msg' | cut -c1-600 || true
  grep -A12 'PLAY RECAP' "$logdir/upgrade-rollback.log"
  step "upgrade MLflow $upgrade_from to the pinned version, converge -vvv (log: $logdir/upgrade.log)"
  run_logged "$logdir/upgrade.log" molecule converge -s "$scenario" -- -vvv
  # Each upgrade step and its first result line (the log's lines come boxed and coloured by Molecule).
  sed -e 's/\x1b\[[0-9;]*m//g' -e 's/^ *│ *//' "$logdir/upgrade.log" | awk '
    /^TASK \[onprem\.mlflow\.mlflow : (Stop MLflow on every server|Run the backup service|Run mlflow db upgrade with the new venv|Point every server.s venv link|Every server serves MLflow|Every proxy serves the new version)/ {
      print; want = 1; next }
    want && /^(ok|changed|skipping|fatal|failed)/ { print substr($0, 1, 200); want = 0 }' || true
  grep -A12 'PLAY RECAP' "$logdir/upgrade.log"
  step "upgrade checks (molecule/shared/upgrade.yml; log: $logdir/upgrade-check.log)"
  run_logged "$logdir/upgrade-check.log" env ONPREM_SIDE_EFFECT=upgrade molecule side-effect -s "$scenario"
  grep -A12 'PLAY RECAP' "$logdir/upgrade-check.log"
fi
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
for log in rotation upgrade-rollback upgrade upgrade-check failover rolling rolling-client; do
  if [ -f "$logdir/$log.log" ]; then also+=(--also "$logdir/$log.log"); fi
done
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
