#!/usr/bin/env bash
# The README's first command, for real: `make deploy` from a checkout on a fresh Debian 12 host
# (a systemd test host standing in for the user's machine), run twice; then the stack must answer
# over HTTPS with the generated CA and credentials, and the second run must change nothing.
#
# The host gets two things a user's machine would have: this machine's CA bundle in its trust
# store (TLS-inspecting network), and the MinIO binary in the controller cache (Debian 12 has no
# Go >= 1.24 to build it; `make minio` on this machine built it from source).
set -euo pipefail
cd "$(dirname "$0")/.."
name=onprem-mlflow-deploy-smoke
image=onprem-mlflow/debian-bookworm:test
minio_version=$(sed -n 's/^minio_version: *"\{0,1\}\([^"]*\)"\{0,1\}/\1/p' roles/minio/defaults/main.yml)
minio_bin=${MINIO_BIN:-$HOME/.cache/onprem-mlflow/minio/$minio_version/minio}
log=tests/output/deploy-smoke
mkdir -p "$log"
[ -x "$minio_bin" ] || { echo "no MinIO binary at $minio_bin (make minio)" >&2; exit 1; }

tests/scripts/testhost.sh stop "$name"
trap 'tests/scripts/testhost.sh stop "$name"' EXIT
tests/scripts/testhost.sh start "$name" "$image"

in_host() { docker exec "$name" bash -euo pipefail -c "$1"; }
docker cp /etc/ssl/certs/ca-certificates.crt "$name":/usr/local/share/ca-certificates/controller-bundle.crt
in_host "mkdir -p /root/.cache/onprem-mlflow/minio/$minio_version /root/onprem-mlflow"
docker cp "$minio_bin" "$name":/root/.cache/onprem-mlflow/minio/"$minio_version"/minio
git archive --format=tar HEAD | docker exec -i "$name" tar -x -C /root/onprem-mlflow
in_host "update-ca-certificates >/dev/null && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq make python3-venv >/dev/null"

echo "=== make deploy (first run, log: $log/deploy-1.log)"
in_host "cd /root/onprem-mlflow && make deploy" >"$log/deploy-1.log" 2>&1 || { tail -n 60 "$log/deploy-1.log"; exit 1; }
grep -A3 'PLAY RECAP' "$log/deploy-1.log"
grep -E 'MLflow: https://|Credentials|Client settings' "$log/deploy-1.log"

echo "=== make deploy (second run must change nothing)"
in_host "cd /root/onprem-mlflow && make deploy" >"$log/deploy-2.log" 2>&1 || { tail -n 60 "$log/deploy-2.log"; exit 1; }
grep -A3 'PLAY RECAP' "$log/deploy-2.log"
grep -Eq 'localhost +: ok=[0-9]+ +changed=0 ' "$log/deploy-2.log" || { echo "second make deploy changed something" >&2; exit 1; }

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
