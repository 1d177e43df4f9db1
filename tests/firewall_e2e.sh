#!/usr/bin/env bash
# The firewall role with real packets, on two throw-away systemd test hosts:
#   fw-e2e-a = mlflow_db + mlflow_storage, fw-e2e-b = mlflow_server, this machine = an outsider.
# Plain TCP listeners (python3 -m http.server) stand in for the services on their ports, plus one
# on 8080 for "anything else the host serves". Then, in order:
#   check mode on the fresh hosts changes nothing; the first run filters; the outsider cannot reach
#   5432/9000/9001/5000, fw-e2e-b reaches 5432/9000 but not the console; 8080 and loopback stay
#   open; a second run and a check run report changed=0; a table deleted by hand is loaded again;
#   restarting/stopping the unit reloads/deletes only our table; starting, reloading, restarting and
#   stopping Debian's nftables.service (each flushes the ruleset) leaves our table loaded; firewall_deny_action=reject and an
#   extra console source take effect; firewall_enabled=false removes table and unit (twice: idempotent).
#
#   tests/firewall_e2e.sh [IMAGE]    default image: onprem-mlflow/debian-bookworm:test
set -euo pipefail
cd "$(dirname "$0")/.."
image=${1:-onprem-mlflow/debian-bookworm:test}
a=fw-e2e-a
b=fw-e2e-b
export PATH="$PWD/.venv/bin:$PATH" PYTHONPATH="$PWD/.cache/collections" ANSIBLE_CONFIG="$PWD/ansible.cfg"
work=$(mktemp -d /tmp/onprem-mlflow-fw.XXXXXX)
cleanup() {
  tests/scripts/testhost.sh stop "$a"
  tests/scripts/testhost.sh stop "$b"
  rm -rf "$work"
}
trap cleanup EXIT
failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

for h in "$a" "$b"; do tests/scripts/testhost.sh stop "$h"; tests/scripts/testhost.sh start "$h" "$image"; done
ip_of() { docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }
ip_a=$(ip_of "$a")
ip_b=$(ip_of "$b")
# The address the hosts see this machine's packets come from (the bridge's gateway).
outsider=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.Gateway}}{{end}}' "$a")
echo "fw-e2e-a=$ip_a fw-e2e-b=$ip_b outsider=$outsider"

listen() { # host port...: a TCP listener per port, as a transient systemd unit of the host
  local host=$1 port
  shift
  for port in "$@"; do
    docker exec "$host" systemd-run --unit "listen-$port" --quiet python3 -m http.server --bind 0.0.0.0 "$port"
  done
}
listen "$a" 5432 9000 9001 8080
listen "$b" 5000 8080
sleep 2

# connect: "open", "timeout" (dropped) or "refused" (rejected / no listener)
probe_py='
import socket, sys
s = socket.socket(); s.settimeout(2)
try:
    s.connect((sys.argv[1], int(sys.argv[2]))); print("open")
except socket.timeout:
    print("timeout")
except ConnectionRefusedError:
    print("refused")
'
probe() { # from(outsider|host) address port
  if [ "$1" = outsider ]; then python3 -c "$probe_py" "$2" "$3"; else docker exec "$1" python3 -c "$probe_py" "$2" "$3"; fi
}
expect() { # from address port expected
  local got
  got=$(probe "$1" "$2" "$3")
  if [ "$got" = "$4" ]; then pass "$1 -> $2:$3 $got"; else fail "$1 -> $2:$3 is $got, expected $4"; fi
}

cat >"$work/hosts.yml" <<EOF
all:
  vars:
    ansible_connection: community.docker.docker
  children:
    mlflow_db: {hosts: {$a: {}}}
    mlflow_storage: {hosts: {$a: {}}}
    mlflow_server: {hosts: {$b: {}}}
    mlflow_proxy: {hosts: {}}
EOF
cat >"$work/play.yml" <<'EOF'
- name: Firewall
  hosts: all
  roles:
    - onprem.mlflow.firewall
EOF
run=0
converge() { # label, then ansible-playbook options; the recap must say failed=0
  local label=$1 log
  shift
  run=$((run + 1))
  log="$work/run-$run.log"
  echo "=== $label"
  if ansible-playbook -i "$work/hosts.yml" "$work/play.yml" "$@" >"$log" 2>&1; then
    grep -E "^($a|$b) " "$log"
  else
    tail -n 40 "$log"
    fail "$label: ansible-playbook failed"
  fi
  last_log=$log
}
changed_total() { grep -E "^($a|$b) " "$last_log" | sed -n 's/.*changed=\([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}'; }
has_table() { docker exec "$1" sh -c 'command -v nft >/dev/null && nft list table inet onprem_mlflow >/dev/null 2>&1'; }

echo "=== baseline: every listener answers the outsider"
for p in 5432 9000 9001 8080; do expect outsider "$ip_a" "$p" open; done
expect outsider "$ip_b" 5000 open

converge "check mode on fresh hosts" --check --diff
if has_table "$a" || docker exec "$a" test -e /etc/onprem-mlflow/firewall.nft; then
  fail "check mode changed fw-e2e-a"
else pass "check mode left fw-e2e-a unchanged"; fi
if [ "$(changed_total)" -gt 0 ]; then pass "check mode reports the changes to come"; else fail "check mode reported no change"; fi

converge "first run"
expect outsider "$ip_a" 5432 timeout
expect outsider "$ip_a" 9000 timeout
expect outsider "$ip_a" 9001 timeout
expect outsider "$ip_b" 5000 timeout
expect outsider "$ip_a" 8080 open
expect outsider "$ip_b" 8080 open
expect "$b" "$ip_a" 5432 open
expect "$b" "$ip_a" 9000 open
expect "$b" "$ip_a" 9001 timeout
expect "$a" "$ip_b" 5000 timeout
expect "$a" 127.0.0.1 9001 open
expect "$a" "$ip_a" 5432 open # the host itself, over its own private address (loopback interface)
docker exec "$a" nft list table inet onprem_mlflow || fail "no table on fw-e2e-a"

converge "second run"
if [ "$(changed_total)" = 0 ]; then pass "second run: changed=0"; else fail "second run changed something"; fi
converge "check run after convergence" --check
if [ "$(changed_total)" = 0 ]; then pass "check run: changed=0"; else fail "check run reports changes"; fi

docker exec "$a" nft delete table inet onprem_mlflow
converge "table deleted by hand"
if has_table "$a"; then pass "missing table loaded again"; else fail "missing table not loaded again"; fi

docker exec "$a" systemctl restart onprem-mlflow-firewall.service
if has_table "$a"; then pass "unit restart keeps the table"; else fail "unit restart lost the table"; fi
docker exec "$a" nft add table inet somebody_else
docker exec "$a" systemctl stop onprem-mlflow-firewall.service
if has_table "$a"; then fail "unit stop left the table"; else pass "unit stop deletes the table"; fi
if docker exec "$a" nft list table inet somebody_else >/dev/null; then pass "unit stop left other tables alone"
else fail "unit stop deleted another table"; fi
docker exec "$a" nft delete table inet somebody_else
docker exec "$a" systemctl start onprem-mlflow-firewall.service
# Debian's nftables.service flushes the whole ruleset on start, reload and stop: the role's drop-in
# loads our table again after each.
for verb in start reload restart stop; do
  docker exec "$a" systemctl "$verb" nftables.service
  if has_table "$a"; then pass "table kept across systemctl $verb nftables"; else fail "systemctl $verb nftables lost the table"; fi
done

converge "reject, and the outsider as a console source" \
  -e firewall_deny_action=reject -e "{\"firewall_s3_console_sources\": [\"$outsider\"]}"
expect outsider "$ip_a" 5432 refused
expect outsider "$ip_a" 9001 open
expect "$b" "$ip_a" 9001 refused

converge "firewall_enabled=false" -e firewall_enabled=false
for h in "$a" "$b"; do
  if has_table "$h" || docker exec "$h" test -e /etc/systemd/system/onprem-mlflow-firewall.service \
    || docker exec "$h" test -e /etc/onprem-mlflow; then
    fail "$h: table, unit or directory left"
  else pass "$h: table, unit and directory removed"; fi
done
expect outsider "$ip_a" 5432 open
expect outsider "$ip_b" 5000 open
converge "firewall_enabled=false again" -e firewall_enabled=false
if [ "$(changed_total)" = 0 ]; then pass "second disabled run: changed=0"; else fail "second disabled run changed something"; fi

echo "firewall e2e: $failures failure(s)"
[ "$failures" = 0 ]
