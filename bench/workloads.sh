#!/usr/bin/env bash
# The workload benchmarks against an already converged all-in-one test host (a container), run
# inside the host with the MLflow venv's python: footprint at rest, tracking API throughput (through
# nginx, direct to MLflow, and a stock setup made for the time of the run), artifact throughput
# (MLflow client vs boto3), footprint under both workloads. JSON results land in OUT_DIR.
#
#   bench/workloads.sh CONTAINER CREDENTIALS_DIR OUT_DIR smoke|full
#
# Sizes per profile (override with the environment):
#   BENCH_LEVELS (1,4,16)  BENCH_REQUESTS (smoke 16, full 400)  BENCH_PROBES (smoke 10, full 100)
#   BENCH_SIZES_MB (smoke 8, full 100,1024)  BENCH_ROUNDS (smoke 1, full 2)  BENCH_LARGE_GIB (smoke 0, full 5)
# The host is left as it was: the stock setup, the copied scripts and every stored artifact are
# removed (the benchmark's experiments stay in MLflow's database, deleted).
set -euo pipefail
cd "$(dirname "$0")/.."
host=${1:?usage: bench/workloads.sh CONTAINER CREDENTIALS_DIR OUT_DIR smoke|full}
creds=${2:?credentials dir}
out=${3:?results dir}
profile=${4:?smoke|full}
case "$profile" in
  smoke) requests=16 probes=10 sizes=8 rounds=1 large=0 ;;
  full) requests=400 probes=100 sizes=100,1024 rounds=2 large=5 ;;
  *) echo "profile must be smoke or full" >&2; exit 2 ;;
esac
levels=${BENCH_LEVELS:-1,4,16}
requests=${BENCH_REQUESTS:-$requests}
probes=${BENCH_PROBES:-$probes}
sizes=${BENCH_SIZES_MB:-$sizes}
rounds=${BENCH_ROUNDS:-$rounds}
large=${BENCH_LARGE_GIB:-$large}

dir=/var/tmp/onprem-mlflow-bench # in the host, on disk
py=/opt/mlflow/venv/bin/python
mkdir -p "$out"
in_host() { docker exec "$host" bash -euo pipefail -c "$1"; }
step() { printf '=== %s (%s)\n' "$1" "$(date +%T)"; }
docker inspect "$host" >/dev/null 2>&1 || { echo "no container $host (converge one first)" >&2; exit 1; }
[ -f "$creds/client.env" ] || { echo "no client.env in $creds" >&2; exit 1; }

# The client settings nginx wrote: public name and first user; the host's address is an alias
# of the public name in the test inventories (Molecule, bench/run.sh).
public_name=$(sed -n "s|^MLFLOW_TRACKING_URI='*https://\([^/:']*\).*|\1|p" "$creds/client.env")
user=$(sed -n "s|^MLFLOW_TRACKING_USERNAME='*\([^']*\)'*$|\1|p" "$creds/client.env")
address=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$host" | awk '{print $1}')
if [ -z "$public_name" ] || [ -z "$user" ] || [ -z "$address" ]; then
  echo "cannot read $creds/client.env or $host's address" >&2
  exit 1
fi

cleanup() {
  in_host "touch $dir/stop-sampler; python3 $dir/stock.py down 2>/dev/null || true; rm -rf $dir" || true
}
trap cleanup EXIT
in_host "rm -rf $dir && mkdir -p $dir/out && chmod 0700 $dir"
for f in bench/tracking.py bench/artifacts.py bench/footprint.py bench/stock.py; do docker cp "$f" "$host:$dir/"; done
docker cp "$creds/htpasswd_$user" "$host:$dir/password"
in_host "chown -R root:root $dir && chmod 0600 $dir/password"

# A footprint sampler in the background of the host until the stop file appears.
sampler_start() {
  in_host "rm -f $dir/stop-sampler $dir/out/footprint-$1.json"
  docker exec -d "$host" python3 "$dir/footprint.py" sample --label "$2" --stop "$dir/stop-sampler" \
    --out "$dir/out/footprint-$1.json"
}
sampler_stop() {
  in_host "touch $dir/stop-sampler; for _ in \$(seq 1 60); do [ -s $dir/out/footprint-$1.json ] && break; sleep 0.5; done
    [ -s $dir/out/footprint-$1.json ] || { echo 'the footprint sampler wrote nothing' >&2; exit 1; }"
}

if in_host 'test -S /run/mlflow/mlflow.sock'; then
  direct="{\"name\": \"direct\", \"unix\": \"/run/mlflow/mlflow.sock\", \"host_header\": \"$public_name\"}"
else # MLflow on TCP (job runner on): its port on loopback
  port=$(in_host "sed -n 's/.*--port \([0-9]*\).*/\1/p' /etc/systemd/system/mlflow.service")
  direct="{\"name\": \"direct\", \"url\": \"http://127.0.0.1:$port\", \"host_header\": \"$public_name\"}"
fi
auth="\"user\": \"$user\", \"password_file\": \"$dir/password\", \"cafile\": \"/etc/onprem-mlflow/ca.crt\""
docker exec -i "$host" sh -c "cat > $dir/targets.json" <<EOF
[{"name": "nginx", "url": "https://$address", $auth},
 $direct,
 {"name": "stock", "url": "https://$address:8443", $auth}]
EOF

step "footprint at rest"
in_host "python3 $dir/footprint.py snapshot --label 'idle after converge' --out $dir/out/footprint-1-idle.json"

step "tracking API: nginx (https://$address), direct (MLflow's socket/port), stock (https://$address:8443)"
in_host "python3 $dir/stock.py up --address $address --user $user --password-file $dir/password"
sampler_start 2-tracking "under tracking load"
in_host "python3 $dir/tracking.py --targets $dir/targets.json --levels $levels --requests $requests \
  --probes $probes --out $dir/out/tracking.json"
sampler_stop 2-tracking
in_host "python3 $dir/stock.py down"

step "artifacts: MLflow client through nginx vs boto3 to MinIO (sizes $sizes MB, rounds $rounds, large $large GiB)"
sampler_start 3-artifacts "under artifact load"
in_host "$py $dir/artifacts.py --url https://$address --user $user --password-file $dir/password \
  --sizes-mb $sizes --rounds $rounds --large-gib $large --workdir $dir/work --out $dir/out/artifacts.json"
sampler_stop 3-artifacts

docker cp "$host:$dir/out/." "$out/"
echo "results: $out"
