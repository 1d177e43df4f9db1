#!/usr/bin/env bash
# Run commands side by side ("lanes"), each one's output prefixed with its lane name as it comes and
# kept whole in tests/output/lanes/<name>.log; wait for all of them, print how long each took and
# fail if any failed. `make test` runs its stages in two lanes (Makefile, test-lane-*): one test
# stage keeps about one core of the 2-core machine busy (Ansible's controller is one process per
# play, the test hosts mostly wait on it), so two lanes finish in a little more than half the time.
# usage: tests/scripts/lanes.sh <name>=<command> ...   (a command is run with bash -c)
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -gt 0 ] || { echo "usage: $0 <name>=<command> ..." >&2; exit 2; }
logdir=tests/output/lanes
rm -rf "$logdir"
mkdir -p "$logdir"
# Each lane runs in a process group of its own (job control), named in <name>.pgid: a fault check
# (tests/molecule.sh) makes the other lanes yield the CPU while it runs (tests/scripts/yield_others.sh).
set -m
export ONPREM_LANES_DIR=$PWD/$logdir

names=() pids=()
for lane in "$@"; do
  name=${lane%%=*} command=${lane#*=}
  if [ -z "$name" ] || [ "$name" = "$lane" ]; then echo "not <name>=<command>: $lane" >&2; exit 2; fi
  # The lane's exit status is its command's (pipefail: not the prefixing sed's).
  (
    set +m  # the lane's own processes stay in its process group
    start=$SECONDS rc=0
    bash -c "$command" 2>&1 | tee "$logdir/$name.log" | sed -u "s/^/[$name] /" || rc=$?
    echo "=== lane $name ended ($(date +%T)): rc $rc after $((SECONDS - start)) s"
    exit "$rc"
  ) &
  names+=("$name") pids+=($!)
  echo "$!" >"$logdir/$name.pgid"
  echo "=== lane $name started ($(date +%T)): $command (log: $logdir/$name.log)"
done
# The lanes are not in the terminal's foreground group: pass an interrupt on to them.
stop_lanes() {
  local group
  for group in "${pids[@]}"; do kill -TERM -- "-$group" 2>/dev/null || true; done
}
trap stop_lanes INT TERM

failed=()
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || failed+=("${names[$i]}")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "=== failed lanes: ${failed[*]} (whole logs in $logdir/)" >&2
  exit 1
fi
