#!/usr/bin/env bash
# The rolling-restart check of a scenario whose first converge ran with molecule_rolling_from
# (tests/molecule.sh): converge again without those settings while a client works through nginx
# (molecule/shared/files/client_loop.py), then require
#   - not one failed request of the client, which ran until the converge ended;
#   - every MLflow server restarted (its settings changed) by a task of its own that changed that one
#     server: one at a time; every MinIO host restarted, all in one task (MinIO's rule: all at once).
# usage: tests/scripts/rolling_converge.sh <scenario> <logdir>
set -euo pipefail
scenario=${1:?usage: rolling_converge.sh <scenario> <logdir>}
logdir=${2:?usage: rolling_converge.sh <scenario> <logdir>}
cd "$(dirname "$0")/../.."
read -r proxy storage servers < <(python3 -c 'import sys, yaml
platforms = yaml.safe_load(open(sys.argv[1]))["platforms"]
def hosts(group): return [p for p in platforms if group in p.get("groups", [])]
print(hosts("mlflow_proxy")[0]["networks"][0]["ipv4_address"], len(hosts("mlflow_storage")), len(hosts("mlflow_server")))' \
  "molecule/$scenario/molecule.yml")
done_file="$logdir/rolling.done"
rm -f "$done_file"
python3 molecule/shared/files/client_loop.py --url "https://$proxy" --ca "$logdir/credentials/ca.crt" \
  --user alice --password-file "$logdir/credentials/htpasswd_alice" \
  --until-file "$done_file" --max-count 20000 --max-seconds 1500 >"$logdir/rolling-client.log" 2>&1 &
client=$!
converge=0
molecule converge -s "$scenario" -- -vvv >"$logdir/rolling.log" 2>&1 || converge=$?
touch "$done_file"
client_rc=0
wait "$client" || client_rc=$?
echo "client during the converge: $(cat "$logdir/rolling-client.log")"
if [ "$converge" -ne 0 ]; then
  grep -E -B2 -A25 '^(fatal|failed):|FAILED!|ERROR!' "$logdir/rolling.log" | tail -n 80
  echo "the rolling converge failed (full log: $logdir/rolling.log)"
  exit 1
fi
grep -A12 'PLAY RECAP' "$logdir/rolling.log"
# Each restart task and the hosts it changed (the log's lines come boxed and coloured by Molecule):
# MLflow one server per task, in turn; MinIO every host in one task (MinIO's own rule, roles/minio/
# tasks/restart.yml).
sed -e 's/\x1b\[[0-9;]*m//g' -e 's/^ *│ *//' "$logdir/rolling.log" | awk -v want_minio="$storage" -v want_mlflow="$servers" '
  function close_task() {
    if (task == "") return
    print task " " hosts ": " changed " host(s) changed"
    # The MinIO restart task is skipped (changed 0) when its settings did not change.
    if (task ~ /MinIO/) { if (changed > 0) { minio++; minio_hosts += changed } } else { mlflow++; if (changed != 1) bad = 1 }
    task = "" }
  /^TASK \[/ { close_task() }
  /^TASK \[onprem\.mlflow\.(minio : Restart MinIO on every host|mlflow : Restart MLflow on this server,)( |\]|$)/ {
    task = $0; sub(/^TASK \[/, "", task); sub(/[],]* *\**$/, "", task); changed = 0; hosts = ""
    next }
  task != "" && /^changed: \[/ { changed++; host = $2; gsub(/[][]/, "", host); hosts = hosts " " host }
  END {
    close_task()
    printf "MinIO: %d restart task(s), %d of %d hosts restarted together; MLflow: %d restarts, one server each, of %d servers\n", minio, minio_hosts, want_minio, mlflow, want_mlflow
    # MinIO restarts when the scenario changes its settings (molecule_rolling_from): then all hosts in one task.
    if (bad || minio > 1 || (minio == 1 && minio_hosts != want_minio) || mlflow != want_mlflow) {
      print "MLflow not one server at a time, a server not restarted, or MinIO not all hosts at once"; exit 1 }
  }'
if [ "$client_rc" -ne 0 ]; then
  echo "the client saw failed requests during the rolling converge (log: $logdir/rolling-client.log)"
  exit 1
fi
