#!/usr/bin/env bash
# The benchmarks with tiny sizes against an already converged all-in-one host, so that they never
# rot: tests/molecule.sh runs it on the `default` scenario's host after the first verify (and so
# does `make bench-smoke`, by default against that host). Timings are printed, never judged; it
# fails only when a benchmark itself fails. Results: tests/output/bench/smoke-<time>/.
#
#   bench/smoke.sh CONTAINER CREDENTIALS_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
host=${1:?usage: bench/smoke.sh CONTAINER CREDENTIALS_DIR}
creds=${2:?usage: bench/smoke.sh CONTAINER CREDENTIALS_DIR}
out=tests/output/bench/smoke-$(date +%Y%m%d-%H%M%S)
python=python3
[ -x .venv/bin/python ] && python=.venv/bin/python
start=$SECONDS
mkdir -p "$out"
printf '{"benchmark": "meta", "profile": "smoke", "host": "%s", "commit": "%s", "started": "%s", "load average": "%s"}\n' \
  "$host" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" "$(date -Is)" "$(cut -d' ' -f1-3 /proc/loadavg)" \
  >"$out/meta.json"
bench/workloads.sh "$host" "$creds" "$out" smoke
"$python" bench/report.py "$out"
echo "bench smoke: $((SECONDS - start)) s"
