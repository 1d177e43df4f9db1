#!/usr/bin/env bash
# While one scenario's fault checks run (they bound recovery times: 30 s after a kill -9, 120 s
# after the reboots), the other lane of `make test` (tests/scripts/lanes.sh) yields the CPU to it
# instead of sharing it evenly: its processes on this machine get nice 10, and every other test
# host's container a CPU weight of 128 instead of Docker's 1024. Nothing is paused or slowed
# beyond that; `off` puts both back. Outside the lanes (no ONPREM_LANES_DIR) it does nothing.
# usage: tests/scripts/yield_others.sh on|off <scenario>
set -euo pipefail
mode=${1:?usage: $0 on|off <scenario>}
scenario=${2:?usage: $0 on|off <scenario>}
case $mode in on) nice=10 shares=128 ;; off) nice=0 shares=1024 ;; *) echo "usage: $0 on|off <scenario>" >&2; exit 2 ;; esac
if [ -z "${ONPREM_LANES_DIR:-}" ] || [ ! -d "$ONPREM_LANES_DIR" ]; then exit 0; fi

own_group=$(ps -o pgid= -p $$ | tr -d ' ')
others=()
for file in "$ONPREM_LANES_DIR"/*.pgid; do
  [ -e "$file" ] || continue
  group=$(cat "$file")
  if [ "$group" != "$own_group" ] && kill -0 -- "-$group" 2>/dev/null; then others+=("$group"); fi
done
for group in "${others[@]}"; do renice -n "$nice" -g "$group" >/dev/null 2>&1 || true; done

hosts=()
while read -r host; do
  case $host in "onprem-mlflow-$scenario" | "onprem-mlflow-$scenario-"*) ;; onprem-mlflow-*) hosts+=("$host") ;; esac
done < <(docker ps --format '{{.Names}}')
for host in "${hosts[@]}"; do docker update --cpu-shares "$shares" "$host" >/dev/null 2>&1 || true; done
echo "yield $mode for $scenario: lanes (process groups) ${others[*]:-none} at nice $nice; hosts ${hosts[*]:-none} at CPU weight $shares"
