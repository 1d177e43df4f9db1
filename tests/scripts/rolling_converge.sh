#!/usr/bin/env bash
# The rolling-restart check of a scenario whose first converge ran with molecule_rolling_from
# (tests/molecule.sh): converge again without those settings while a client works through nginx
# (molecule/shared/files/client_loop.py), then require
#   - not one failed request of the client, which ran until the converge ended;
#   - every MLflow server restarted (its settings changed) by a task of its own that changed that one
#     server: one at a time; every MinIO host (its own options changed) stopped by a task of its own,
#     each followed by a heal of the deployment; no restart of every MinIO host at once.
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
# MLflow one server per task, in turn; MinIO (its hosts' own options changed) one host per stop task,
# each followed by a heal of the deployment, and no restart of every host at once (roles/minio/tasks/
# restart.yml).
sed -e 's/\x1b\[[0-9;]*m//g' -e 's/^ *│ *//' "$logdir/rolling.log" | awk -v want_minio="$storage" -v want_mlflow="$servers" '
  function close_task() {
    if (task == "") return
    print task ":" hosts " (" changed " changed, " ran " ran)"
    if (kind == "all" && changed > 0) all++
    if (kind == "stop") { minio++; if (changed != 1) bad = 1 }
    if (kind == "heal" && ran > 0) heals++
    if (kind == "mlflow") { mlflow++; if (changed != 1) bad = 1 }
    task = "" }
  /^TASK \[/ { close_task() }
  /^TASK \[onprem\.mlflow\.(minio : (Restart MinIO on every host|Stop MinIO on this host,|Heal the MinIO deployment)|mlflow : Restart MLflow on this server,)( |\]|$)/ {
    task = $0; sub(/^TASK \[/, "", task); sub(/[],]* *\**$/, "", task); changed = 0; ran = 0; hosts = ""
    kind = task ~ /every host/ ? "all" : task ~ /Stop MinIO/ ? "stop" : task ~ /Heal/ ? "heal" : "mlflow"
    next }
  task != "" && /^(changed|ok): \[/ {
    ran++; host = $2; gsub(/[][]/, "", host); hosts = hosts " " host; if ($1 == "changed:") changed++ }
  /MinIO heal from / { line = $0; sub(/^.*"msg": "/, "", line); sub(/"$/, "", line); print "  " line }
  END {
    close_task()
    printf "MinIO: %d of %d hosts stopped one at a time, %d heals, %d restarts of every host at once; MLflow: %d of %d servers restarted one at a time\n", minio, want_minio, heals, all, mlflow, want_mlflow
    if (bad || all > 0 || minio != want_minio || heals < want_minio || mlflow != want_mlflow) {
      print "MinIO or MLflow not restarted one host at a time, a host not restarted, or a MinIO host not healed after its restart"; exit 1 }
  }'
if [ "$client_rc" -ne 0 ]; then
  echo "the client saw failed requests during the rolling converge (log: $logdir/rolling-client.log)"
  exit 1
fi
