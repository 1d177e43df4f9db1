#!/usr/bin/env bash
# Make sure a Docker engine answers. On machines without a service manager (CI sandboxes) start
# dockerd ourselves; it keeps running for later steps and runs.
set -euo pipefail
if docker info >/dev/null 2>&1; then
  exit 0
fi
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl start docker
else
  log=/var/log/onprem-mlflow-dockerd.log
  echo "starting dockerd (log: $log)"
  nohup dockerd >"$log" 2>&1 &
fi
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "dockerd did not come up" >&2
exit 1
