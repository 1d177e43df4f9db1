#!/usr/bin/env bash
# The full benchmark (`make bench`), on two fresh Debian 12 systemd test hosts of its own, on its
# own Docker network (onprem-mlflow-bench, 172.30.9.0/24); both are destroyed at the end
# (BENCH_KEEP=1 keeps them).
#   1. converge vs floor: bench/floor.sh on onprem-mlflow-bench-floor, then the full site.yml of an
#      all-in-one inventory on onprem-mlflow-bench, then a second converge (its changed count);
#   2.-4. bench/workloads.sh full on onprem-mlflow-bench: footprint at rest, tracking API
#      throughput (nginx / direct / stock), footprint under load, artifact throughput (100 MB and
#      1 GiB, MLflow client vs boto3), a 5 GiB round trip;
#   then a converge with mlflow_stack_job_execution=true and the idle footprint again.
# bench/report.py writes results.md, tracking.png and ratios.json and prints every ratio.
# Results: tests/output/bench/<time>-full/ (BENCH_OUT overrides). Timings are printed, never judged.
#
#   bench/run.sh          (sizes: see bench/workloads.sh; BENCH_IMAGE picks the test-host image)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" PYTHONPATH="$PWD/.cache/collections" ANSIBLE_CONFIG="$PWD/ansible.cfg"
image=${BENCH_IMAGE:-onprem-mlflow/debian-bookworm:test}
network=onprem-mlflow-bench
stack=onprem-mlflow-bench
stack_ip=172.30.9.10
floor=onprem-mlflow-bench-floor
floor_ip=172.30.9.11
out=${BENCH_OUT:-tests/output/bench/$(date +%Y%m%d-%H%M%S)-full}
out=$(mkdir -p "$out" && cd "$out" && pwd)
start=$SECONDS

destroy() {
  tests/scripts/testhost.sh stop "$stack"
  tests/scripts/testhost.sh stop "$floor"
  tests/scripts/testhost.sh rmnetwork "$network"
}
finish() {
  rc=$?
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "kept the hosts (tests/scripts/testhost.sh stop NAME; network: testhost.sh rmnetwork $network)"
  else destroy; fi
  echo "bench: $((SECONDS - start)) s in all, results in $out"
  exit $rc
}
step() { printf '\n=== bench: %s (%s)\n' "$1" "$(date +%T)"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}'; }
changed() { sed -n "s/^$stack *:.* changed=\([0-9]*\) .*/\1/p" "$1"; }

others=$(docker ps --format '{{.Names}}' | grep -v "^onprem-mlflow-bench" | tr '\n' ' ' || true)
python3 - "$out/meta.json" "$image" "$others" <<'EOF'
import json, os, platform, subprocess, sys
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
json.dump({"benchmark": "meta", "profile": "full", "commit": commit or "unknown",
           "started": subprocess.run(["date", "-Is"], capture_output=True, text=True).stdout.strip(),
           "machine": "%s, %d cores, %.0f GiB RAM, kernel %s" % (cpu, os.cpu_count(), mem / 2**20, platform.release()),
           "test host image": sys.argv[2], "load average at start": " ".join(open("/proc/loadavg").read().split()[:3]),
           "other containers at start": sys.argv[3].strip() or "none"}, open(sys.argv[1], "w"), indent=1)
EOF

step "fresh hosts $stack ($stack_ip) and $floor ($floor_ip) from $image"
destroy
trap finish EXIT
tests/scripts/testhost.sh network "$network" 172.30.9.0/24
tests/scripts/testhost.sh start "$stack" "$image" "$network" "$stack_ip"
tests/scripts/testhost.sh start "$floor" "$image" "$network" "$floor_ip"

step "1a. floor: the same installs as a plain script (bench/floor.sh on $floor)"
bench/floor.sh "$floor" "$out/floor.json"

cat >"$out/hosts.yml" <<EOF
# All-in-one stack on the bench host (bench/run.sh), PostgreSQL.
all:
  vars:
    ansible_connection: community.docker.docker
    mlflow_stack_public_name: mlflow.bench.test
    mlflow_stack_public_aliases: [$stack_ip]
    mlflow_stack_credentials_dir: $out/credentials
    mlflow_stack_extra_ca_certs: [/etc/ssl/certs/ca-certificates.crt]
    mlflow_stack_db_engine: postgresql
    mlflow_stack_users: [{name: alice, password: ""}]
  children:
    mlflow_db: {hosts: {$stack: {}}}
    mlflow_storage: {hosts: {$stack: {}}}
    mlflow_server: {hosts: {$stack: {}}}
    mlflow_proxy: {hosts: {$stack: {}}}
EOF
converge() { # log, then ansible-playbook options; prints the time
  local log=$1 started
  shift
  started=$(now)
  # profile_tasks: the slowest tasks end the log (report.py lists them)
  if ! ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks PROFILE_TASKS_TASK_OUTPUT_LIMIT=12 \
    ansible-playbook -i "$out/hosts.yml" site.yml "$@" >"$log" 2>&1; then
    grep -E -B2 -A25 '^(fatal|failed):|FAILED!|ERROR!' "$log" | tail -n 80 >&2
    echo "converge failed (log: $log)" >&2
    return 1
  fi
  grep -E "^$stack +:" "$log" >&2
  since "$started"
}
step "1b. first converge of site.yml on $stack (log: $out/converge-1.log)"
first=$(converge "$out/converge-1.log")
echo "first converge: ${first}s"
step "1c. second converge (log: $out/converge-2.log)"
second=$(converge "$out/converge-2.log")
echo "second converge: ${second}s"
# Packages installed by name on the converged host and by the floor script: the sets must match.
diff_pkgs=$(diff <(docker exec "$stack" apt-mark showmanual) <(docker exec "$floor" apt-mark showmanual) |
  sed -n 's/^\([<>]\) /\1/p' | sed 's/^</converge:/; s/^>/floor:/' | tr '\n' ' ' || true)
python3 - "$out" "$first" "$second" "$(changed "$out/converge-1.log")" "$(changed "$out/converge-2.log")" "$diff_pkgs" <<'EOF'
import json, re, sys
out, first, second, changed1, changed2, diff = sys.argv[1:]

def slowest(log):  # the TASKS RECAP of profile_tasks
    text = open(log).read().split("TASKS RECAP")[-1]
    return [[m.group(1), float(m.group(2))] for m in re.finditer(r"^(.+?) -{2,} ([0-9.]+)s$", text, re.M)]

result = json.load(open(out + "/floor.json"))
result.update(benchmark="converge", converge_seconds=float(first), second_converge_seconds=float(second),
              first_changed=int(changed1), second_changed=int(changed2), package_differences=diff.strip(),
              slowest_tasks_first=slowest(out + "/converge-1.log"),
              slowest_tasks_second=slowest(out + "/converge-2.log"))
json.dump(result, open(out + "/converge.json", "w"), indent=1)
EOF
tests/scripts/testhost.sh stop "$floor" # not needed any more

step "2.-4. workloads: tracking API, artifacts, footprint (bench/workloads.sh full)"
bench/workloads.sh "$stack" "$out/credentials" "$out" full

step "4. footprint with MLflow's job runner: converge with mlflow_stack_job_execution=true (log: $out/converge-3.log)"
third=$(converge "$out/converge-3.log" -e '{"mlflow_stack_job_execution": true}')
echo "converge with the job runner: ${third}s; letting it settle for ${BENCH_SETTLE:-60}s"
sleep "${BENCH_SETTLE:-60}"
docker exec "$stack" mkdir -p /var/tmp/onprem-mlflow-bench
docker cp bench/footprint.py "$stack":/var/tmp/onprem-mlflow-bench/footprint.py
docker exec "$stack" python3 /var/tmp/onprem-mlflow-bench/footprint.py snapshot --label "idle after re-converge" \
  --out /var/tmp/onprem-mlflow-bench/footprint-4-jobs.json
docker cp "$stack":/var/tmp/onprem-mlflow-bench/footprint-4-jobs.json "$out/"
docker exec "$stack" rm -rf /var/tmp/onprem-mlflow-bench

step "report"
python3 - "$out/meta.json" <<'EOF'
import json, sys
meta = json.load(open(sys.argv[1]))
meta["load average at end"] = " ".join(open("/proc/loadavg").read().split()[:3])
json.dump(meta, open(sys.argv[1], "w"), indent=1)
EOF
python bench/report.py "$out"
