#!/usr/bin/env bash
# The README's first command, for real: `make deploy` from a checkout on a fresh Debian 12 host
# (a systemd test host standing in for the user's machine); then a second run the way Galaxy users
# run it (the built tarball installed with ansible-galaxy, `ansible-playbook onprem.mlflow.site`
# with an inventory outside the checkout), which must change nothing; then the stack must answer
# over HTTPS with the generated CA and credentials.
# Then `make restore` onto this fresh stack: the backup the Molecule default scenario took of its
# own stack (refused first in a copy with a tampered manifest); every run of that stack must read
# back with its artifacts' sha256 (REQUIRE_RESTORE=1, set by `make test`: the backup must exist).
#
# The host starts from nothing but the README's prerequisites for Debian 12 (make, python3-venv,
# unzip, GOPROXY naming a Go module proxy) and this machine's CA bundle in its trust store (a
# TLS-inspecting network): no Go (Debian 12's would be too old anyway), no MinIO binary. So
# `make deploy` fetches the Go toolchain from the module proxy, checks it against the pinned SHA-256
# and builds MinIO with it (minutes: the longest part of this test), as on a user's fresh machine.
#
# usage: tests/deploy_smoke.sh [all|deploy|restore]
#   all (default)  both phases, the test host removed at the end
#   deploy         start the host, `make deploy`, the second run the Galaxy way, the client check;
#                  the host is LEFT PAUSED (docker pause) for the restore phase (removed if the
#                  phase fails). `make test` runs this phase
#                  beside the lint, sanity and unit stages, long before the backup exists.
#   restore        on the host the deploy phase left: the restore of the default scenario's backup
#                  (after tests/molecule.sh default); the host removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
phase=${1:-all}
case $phase in all|deploy|restore) ;; *) echo "usage: $0 [all|deploy|restore]" >&2; exit 2 ;; esac
name=onprem-mlflow-deploy-smoke
image=onprem-mlflow/debian-bookworm:test
log=tests/output/deploy-smoke
mkdir -p "$log"
# The Go module proxy the host's `make deploy` fetches Go and MinIO's modules from: this machine's
# GOPROXY, or the one its Go uses.
goproxy=${GOPROXY:-$(go env GOPROXY 2>/dev/null || true)}
if [ "$phase" != restore ] && [ -z "$goproxy" ]; then
  echo "set GOPROXY to a Go module proxy (the host's make deploy fetches Go from it)" >&2; exit 1
fi

in_host() { docker exec "$name" bash -euo pipefail -c "$1"; }

if [ "$phase" = restore ]; then
  # The host of the deploy phase, removed whatever the outcome.
  trap 'tests/scripts/testhost.sh stop "$name"' EXIT
  [ "$(docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" = true ] ||
    { echo "no running $name: run tests/deploy_smoke.sh deploy first" >&2; exit 1; }
  if [ "$(docker inspect -f '{{.State.Paused}}' "$name")" = true ]; then docker unpause "$name" >/dev/null; fi
else
  tests/scripts/testhost.sh stop "$name"
  if [ "$phase" = deploy ]; then
    # Left running for the restore phase only when this phase passes.
    stop_on_failure() {
      local rc=$?
      if [ "$rc" -ne 0 ]; then tests/scripts/testhost.sh stop "$name"; fi
      return "$rc"
    }
    trap stop_on_failure EXIT
  else
    trap 'tests/scripts/testhost.sh stop "$name"' EXIT
  fi
  tests/scripts/testhost.sh start "$name" "$image"

  docker cp /etc/ssl/certs/ca-certificates.crt "$name":/usr/local/share/ca-certificates/controller-bundle.crt
  in_host "mkdir -p /root/onprem-mlflow"
  git archive --format=tar HEAD | docker exec -i "$name" tar -x -C /root/onprem-mlflow
  in_host "update-ca-certificates >/dev/null && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq make python3-venv unzip >/dev/null"
  in_host "! command -v go && ! test -e /root/.cache/onprem-mlflow" >/dev/null ||
    { echo "the host is not fresh: it has a Go or a controller cache" >&2; exit 1; }

  echo "=== make deploy (first run, log: $log/deploy-1.log)"
  in_host "cd /root/onprem-mlflow && GOPROXY='$goproxy' make deploy" >"$log/deploy-1.log" 2>&1 ||
    { tail -n 60 "$log/deploy-1.log"; exit 1; }
  grep -A3 'PLAY RECAP' "$log/deploy-1.log"
  # The toolchain was fetched and checked (the preflight play says so first), MinIO built with it,
  # and the build names the pinned commit; still no Go on the host's PATH.
  # (the message may be wrapped over lines in the log)
  tr -s ' \n' ' ' <"$log/deploy-1.log" | grep -E -o 'no Go .{0,40} fetching Go [0-9.]+ as the Go module [^ ]+' |
    head -n 1 | grep . ||
    { echo "make deploy did not fetch the Go toolchain" >&2; exit 1; }
  in_host "! command -v go >/dev/null && /usr/local/bin/minio --version | head -n 1"
  grep -E 'MLflow: https://|Credentials|Client settings' "$log/deploy-1.log"

  # The second run goes the way of a user who installed the collection with ansible-galaxy: the
  # tarball `make build` makes, installed into an empty collections path, run by its FQCN with an
  # inventory outside the checkout (a copy of the one `make deploy` used) and no ansible.cfg; the
  # Ansible of the checkout's venv (its `ansible` package brings community.crypto). Same stack,
  # same credentials directory: it must change nothing.
  echo "=== second run, the Galaxy way: make build, ansible-galaxy collection install, ansible-playbook onprem.mlflow.site (log: $log/deploy-2.log)"
  in_host "cd /root/onprem-mlflow && make build >/dev/null
    rm -rf /root/galaxy && mkdir -p /root/galaxy/collections && cp -r inventories/local /root/galaxy/inventory
    cd /root/galaxy && export PATH=/root/onprem-mlflow/.venv/bin:\$PATH
    ansible-galaxy collection install --offline -p /root/galaxy/collections /root/onprem-mlflow/tests/output/onprem-mlflow-*.tar.gz
    ansible-galaxy collection list -p /root/galaxy/collections onprem.mlflow
    ANSIBLE_COLLECTIONS_PATH=/root/galaxy/collections ansible-playbook -i inventory/hosts.yml onprem.mlflow.site" \
    >"$log/deploy-2.log" 2>&1 || { tail -n 60 "$log/deploy-2.log"; exit 1; }
  grep -E '^onprem\.mlflow ' "$log/deploy-2.log"
  grep -A3 'PLAY RECAP' "$log/deploy-2.log"
  grep -Eq 'localhost +: ok=[0-9]+ +changed=0 ' "$log/deploy-2.log" || { echo "the second run (Galaxy way) changed something" >&2; exit 1; }

  echo "=== the printed client settings work: MLflow client over HTTPS with basic auth"
  in_host 'set -a; . /root/.onprem-mlflow/local/client.env; set +a
    stat -c "%a %n" /root/.onprem-mlflow/local /root/.onprem-mlflow/local/client.env
    GIT_PYTHON_REFRESH=quiet /opt/mlflow/venv/bin/python -c "
import mlflow
exp = mlflow.create_experiment(\"deploy-smoke\")
with mlflow.start_run(experiment_id=exp) as run:
    mlflow.log_param(\"p\", 1)
    mlflow.log_text(\"hello\", \"hello.txt\")
print(\"run\", run.info.run_id, \"artifact:\", mlflow.artifacts.load_text(run.info.artifact_uri + \"/hello.txt\"))
"'
fi
if [ "$phase" = deploy ]; then
  # Frozen until the restore phase: its idle services take no CPU from the tests in between.
  docker pause "$name" >/dev/null
  echo "=== deploy phase passed: $name left paused for tests/deploy_smoke.sh restore"
  exit 0
fi

# --- Restore onto this fresh stack: the backup the Molecule default scenario took of its own stack
# (molecule/shared/day2.yml copies it to the controller with the verify's run list).
export_dir=tests/output/molecule/default/backup
backup=$(find "$export_dir" -mindepth 1 -maxdepth 1 -type d -name '2*' -printf '%f\n' 2>/dev/null | sort | tail -n 1)
if [ -z "$backup" ]; then
  if [ "${REQUIRE_RESTORE:-0}" = 1 ]; then
    echo "no backup in $export_dir: run tests/molecule.sh default first (make test does)" >&2
    exit 1
  fi
  echo "=== restore check NOT RUN: no backup in $export_dir (tests/molecule.sh default exports one)"
  exit 0
fi
backups=/var/backups/onprem-mlflow
docker cp "$export_dir/$backup" "$name:$backups/$backup"
docker cp "$export_dir/runs.json" "$name:/root/backup-runs.json"
# A copy whose manifest was edited: one object's recorded sha256 changed.
in_host "cp -a $backups/$backup $backups/$backup-tampered && python3 - $backups/$backup-tampered/manifest.json <<'PY'
import json, sys
path = sys.argv[1]
manifest = json.load(open(path))
entry = max(manifest['artifacts']['list'], key=lambda item: item['bytes'])
entry['sha256'] = '0' * 64
json.dump(manifest, open(path, 'w'))
PY"

echo "=== make restore of a tampered backup is refused before any change (log: $log/restore-tampered.log)"
if in_host "cd /root/onprem-mlflow && make restore BACKUP=$backup-tampered" >"$log/restore-tampered.log" 2>&1; then
  echo "the tampered backup was restored" >&2
  exit 1
fi
# (the play's message may be wrapped over lines in the log)
tr -s ' \n' ' ' <"$log/restore-tampered.log" | grep -q 'does not match its manifest; nothing was changed' ||
  { tail -n 40 "$log/restore-tampered.log"; echo "refused for another reason than the manifest" >&2; exit 1; }
client_check() { # python code run with the client settings of `make deploy`
  in_host "set -a; . /root/.onprem-mlflow/local/client.env; set +a; cd /root/onprem-mlflow
    GIT_PYTHON_REFRESH=quiet /opt/mlflow/venv/bin/python $1"
}
client_check "-c 'import mlflow; assert mlflow.get_experiment_by_name(\"deploy-smoke\"), \"the stack changed\"; print(\"unchanged: experiment deploy-smoke still there\")'"

echo "=== make restore of the default scenario's backup onto this stack (log: $log/restore.log)"
in_host "cd /root/onprem-mlflow && make restore BACKUP=$backup" >"$log/restore.log" 2>&1 ||
  { grep -E -B2 -A25 '^(fatal|failed):|FAILED!|ERROR!' "$log/restore.log" | tail -n 80; exit 1; }
grep -A3 'PLAY RECAP' "$log/restore.log"
echo "=== every run of the backup is here, with params, metrics, tags and the artifacts' sha256"
client_check "molecule/shared/files/mlflow_roundtrip.py --check-only --state /root/backup-runs.json \
  --password-file /root/.onprem-mlflow/local/htpasswd_\$MLFLOW_TRACKING_USERNAME"
client_check "-c 'import mlflow; assert mlflow.get_experiment_by_name(\"deploy-smoke\") is None; print(\"replaced: experiment deploy-smoke gone\")'"
