#!/usr/bin/env bash
# The docker role on two throw-away systemd test hosts, Debian 12 and Debian 13 (Docker-in-Docker:
# tests/scripts/testhost.sh puts /var/lib/docker on a volume, for overlay2). In order:
#   preflight refusals (docker-ce without a pinned version, a version for another Debian release, an
#   unknown source, numeric log-opts, a missing user); check mode on the fresh hosts passes and changes
#   nothing, also with docker_source=docker-ce (Docker's repository is not reachable here: its source
#   and pin are only rendered in check mode); the first run; a second run and a check run report
#   changed=0; docker info (overlay2, live-restore, json-file), the log options on a container, the
#   environment drop-in in dockerd's environment, docker_users in the docker group (a member added by
#   hand stays), the Python Docker SDK, Compose v2 on Debian 13 only; a real container on the default
#   bridge network from an image made here (busybox-static + docker import: nothing is pulled), one
#   through community.docker.docker_container and an SDK-based module; a change of daemon.json and of
#   the environment restarts dockerd once while a container keeps running (live-restore); an invalid
#   daemon.json is refused by `dockerd --validate` on Debian 13 and the old file stays; switching to
#   docker-ce on a host with docker.io is refused; an empty environment removes the drop-in; live-restore
#   on a swarm node is refused.
#
#   tests/docker_role.sh
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
b=docker-role-bookworm
t=docker-role-trixie
hosts=("$b" "$t")
export PATH="$PWD/.venv/bin:$PATH" PYTHONPATH="$PWD/.cache/collections" ANSIBLE_CONFIG="$PWD/ansible.cfg"
work=$(mktemp -d /tmp/onprem-mlflow-docker-role.XXXXXX)
cleanup() {
  for h in "${hosts[@]}"; do tests/scripts/testhost.sh stop "$h"; done
  rm -rf "$work"
}
trap cleanup EXIT
failures=0
passes=0
pass() { echo "PASS: $*"; passes=$((passes + 1)); }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
check() { # description, then a command that must succeed
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

tests/scripts/testhost.sh stop "$b"
tests/scripts/testhost.sh stop "$t"
tests/scripts/testhost.sh start "$b" onprem-mlflow/debian-bookworm:test
tests/scripts/testhost.sh start "$t" onprem-mlflow/debian-trixie:test
for h in "${hosts[@]}"; do
  docker exec "$h" useradd --create-home alice
  docker exec "$h" useradd --create-home bob
done

# DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE: Docker-in-Docker only (the test host's /proc/sys is read-only;
# roles/docker/README.md). ONPREM_TEST checks the quoting of the drop-in (%, quotes, backslash).
cat >"$work/hosts.yml" <<EOF
all:
  vars:
    ansible_connection: community.docker.docker
    docker_users: [alice]
    docker_daemon_options_extra:
      log-opts:
        max-size: 5m
    docker_service_environment:
      DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE: "1"
      HTTP_PROXY: http://proxy.invalid:3128
      NO_PROXY: localhost,127.0.0.1
      ONPREM_TEST: '50% "quoted" back\\slash'
  hosts:
    $b: {}
    $t: {}
EOF
cat >"$work/play.yml" <<'EOF'
- name: Docker
  hosts: all
  roles:
    - onprem.mlflow.docker
EOF
run=0
converge() { # label, then ansible-playbook options; the recap must say failed=0
  local label=$1 log
  shift
  run=$((run + 1))
  log="$work/run-$run.log"
  echo "=== $label"
  local t0=$SECONDS
  if ansible-playbook -i "$work/hosts.yml" "$work/play.yml" "$@" >"$log" 2>&1; then
    grep -E "^($b|$t) " "$log"
    echo "($((SECONDS - t0)) s)"
  else
    tail -n 40 "$log"
    fail "$label: ansible-playbook failed"
  fi
  last_log=$log
}
refused() { # label, expected message, then ansible-playbook options: must fail in the preflight, changing nothing
  local label=$1 message=$2 log
  shift 2
  run=$((run + 1))
  log="$work/run-$run.log"
  if ansible-playbook -i "$work/hosts.yml" "$work/play.yml" "$@" >"$log" 2>&1; then
    fail "$label: not refused"
  elif ! grep -q -- "$message" "$log"; then
    tail -n 30 "$log"
    fail "$label: refused without the message '$message'"
  elif grep -E "^($b|$t) " "$log" | grep -vq "changed=0"; then
    fail "$label: refused after a change"
  else
    pass "$label: refused before any change ($message)"
  fi
}
changed_total() { grep -E "^($b|$t) " "$last_log" | sed -n 's/.*changed=\([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}'; }
recap() { grep -E "^$1 " "$last_log"; }
on() { docker exec "$@"; }
untouched() { # host: nothing of the role's is there
  ! on "$1" dpkg -s docker.io >/dev/null 2>&1 && ! on "$1" test -e /etc/docker/daemon.json \
    && ! on "$1" test -e /etc/systemd/system/docker.service.d \
    && ! on "$1" test -e /etc/apt/sources.list.d/docker.sources \
    && ! on "$1" test -e /etc/apt/preferences.d/onprem-mlflow-docker-ce.pref \
    && ! on "$1" test -e /etc/apt/keyrings/docker.asc
}

echo "=== preflight refusals on the fresh hosts"
refused "docker-ce without docker_ce_version" "set docker_ce_version" -e docker_source=docker-ce
refused "docker-ce version of another Debian release" "is built for another Debian release" \
  -e docker_source=docker-ce -e docker_ce_version=5:27.3.1-1~debian.11~bullseye
refused "unknown docker_source" "must be one of" -e docker_source=podman
refused "numeric log-opts" "must map names to strings" -e '{"docker_daemon_options_extra": {"log-opts": {"max-file": 3}}}'
refused "hosts in daemon.json" "must not set 'hosts'" -e '{"docker_daemon_options_extra": {"hosts": ["unix:///run/d.sock"]}}'
refused "a user that does not exist" "do not exist on" -e '{"docker_users": ["alice", "nosuchuser"]}'
refused "a bad environment variable name" "must map variable names" -e '{"docker_service_environment": {"A-B": "1"}}'

converge "check mode on the fresh hosts" --check --diff
for h in "${hosts[@]}"; do
  check "check mode passes on $h" grep -qE "^$h .*failed=0" "$last_log"
  check "check mode left $h unchanged" untouched "$h"
done
if [ "$(changed_total)" -gt 0 ]; then pass "check mode reports the changes to come"; else fail "check mode reported no change"; fi

# Docker's repository is not reachable here: in check mode the role renders its deb822 source and pin.
# On the Debian 12 host python3-debian (which deb822_repository needs) is installed first, so the
# source is rendered; on the Debian 13 host it is not, so the role reports it would install it. The
# key is a file of the host: a key URL would be fetched, even in check mode.
on "$b" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-debian >/dev/null'
converge "check mode with docker_source=docker-ce" --check --diff -v -e docker_source=docker-ce \
  -e docker_ce_version=27.3.1 -e docker_ce_repository_key=/usr/share/keyrings/debian-archive-keyring.gpg
for h in "${hosts[@]}"; do
  check "docker-ce check mode passes on $h" grep -qE "^$h .*failed=0" "$last_log"
  check "docker-ce check mode left $h unchanged" untouched "$h"
done
check "docker-ce source rendered (Debian 12): Docker's URL" grep -q 'URIs: https://download.docker.com/linux/debian' "$last_log"
check "docker-ce source rendered (Debian 12): suite bookworm" grep -q 'Suites: bookworm' "$last_log"
check "docker-ce pinned to Docker's version of 27.3.1 (Debian 12)" \
  grep -q '+Pin: version 5:27.3.1-1~debian.12~bookworm' "$last_log"
check "docker-ce: python3-debian reported missing (Debian 13)" grep -q 'python3-debian is not installed' "$last_log"

converge "first run"
converge "second run"
if [ "$(changed_total)" = 0 ]; then pass "second run: changed=0"; else fail "second run changed something"; fi
converge "check run after convergence" --check
if [ "$(changed_total)" = 0 ]; then pass "check run: changed=0"; else fail "check run reports changes"; fi

echo "=== the engine"
for h in "${hosts[@]}"; do
  echo "$h: $(on "$h" docker version --format 'server {{.Server.Version}}, API {{.Server.APIVersion}}')"
  check "$h: docker.service enabled and active" on "$h" sh -c 'systemctl is-enabled --quiet docker.service && systemctl is-active --quiet docker.service'
  check "$h: storage driver overlay2" test "$(on "$h" docker info --format '{{.Driver}}')" = overlay2
  check "$h: live-restore on" test "$(on "$h" docker info --format '{{.LiveRestoreEnabled}}')" = true
  check "$h: logging driver json-file" test "$(on "$h" docker info --format '{{.LoggingDriver}}')" = json-file
  env=$(on "$h" systemctl show docker.service -p Environment)
  echo "$h: $env"
  check "$h: drop-in in dockerd's Environment" grep -q 'DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE=1 HTTP_PROXY=http://proxy.invalid:3128' <<<"$env"
  # shellcheck disable=SC2016 # expanded in the test host
  value=$(on "$h" sh -c 'tr "\0" "\n" </proc/$(pidof dockerd)/environ | sed -n "s/^ONPREM_TEST=//p"')
  check "$h: a value with %, quotes and a backslash reaches dockerd as written" test "$value" = '50% "quoted" back\slash'
  check "$h: alice is in the docker group" sh -c "docker exec $h id -nG alice | grep -qw docker"
  check "$h: alice can use docker" on "$h" runuser -u alice -- sh -c 'docker version >/dev/null'
  check "$h: the Python Docker SDK talks to dockerd" on "$h" python3 -c 'import docker; assert docker.from_env().ping()'
done
check "Debian 13: Compose v2 plugin" on "$t" docker compose version
check "Debian 12: no Compose (v1 is not installed)" sh -c "! docker exec $b dpkg -s docker-compose >/dev/null 2>&1"

echo "=== a real container"
for h in "${hosts[@]}"; do
  # An image made here: busybox-static in a tiny root filesystem, imported (nothing is pulled).
  # shellcheck disable=SC2016 # expanded in the test host
  on "$h" sh -ec '
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
    rm -rf /tmp/rootfs && mkdir -p /tmp/rootfs/bin
    cp /bin/busybox /tmp/rootfs/bin/
    for applet in sh echo cat ip sed sleep ping; do ln -s busybox /tmp/rootfs/bin/$applet; done
    tar -C /tmp/rootfs -c . | docker import - docker-role/busybox:test >/dev/null'
  out=$(on "$h" docker run --rm docker-role/busybox:test /bin/sh -c 'echo ok' 2>&1 || true)
  check "$h: docker run on the default bridge prints ok (got: $out)" test "$out" = ok
  # shellcheck disable=SC2016 # expanded in the test host
  out=$(on "$h" docker run --rm docker-role/busybox:test /bin/sh -c \
    'ip -4 -o addr show eth0 && ping -c 1 -W 2 "$(ip route | sed -n "s/^default via \([0-9.]*\).*/\1/p")" >/dev/null && echo reached' 2>&1 || true)
  echo "$h: $out"
  check "$h: the container has a bridge address and reaches its gateway" grep -q reached <<<"$out"
  on "$h" docker run -d --name docker-role-logs docker-role/busybox:test /bin/sleep 600 >/dev/null
  logconfig=$(on "$h" docker inspect -f '{{json .HostConfig.LogConfig}}' docker-role-logs)
  echo "$h: $logconfig"
  check "$h: the container's log options come from daemon.json (max-size 5m merged, max-file 3 kept)" \
    grep -q '"Type":"json-file","Config":{"max-file":"3","max-size":"5m"}' <<<"$logconfig"
done

cat >"$work/sdk.yml" <<'EOF'
- name: community.docker modules on the hosts
  hosts: all
  tasks:
    - name: Run a container through the Docker API
      community.docker.docker_container:
        name: docker-role-sdk
        image: docker-role/busybox:test
        command: [/bin/sh, -c, echo sdk-ok]
        detach: false
        cleanup: true
      register: container
    - name: Check its output
      ansible.builtin.assert:
        that: container.container.Output | trim == 'sdk-ok'
    # The swarm modules are the ones of community.docker that use the Docker SDK for Python; this one
    # fails on a host that is not a swarm manager, after it has talked to dockerd through the SDK.
    - name: An SDK-based module
      community.docker.docker_swarm_info:
      register: swarm
      failed_when: not swarm.can_talk_to_docker or swarm.docker_swarm_active
EOF
if ansible-playbook -i "$work/hosts.yml" "$work/sdk.yml" >"$work/sdk.log" 2>&1; then
  pass "community.docker.docker_container and docker_swarm_info on both hosts"
else
  tail -n 30 "$work/sdk.log"
  fail "community.docker modules on the hosts"
fi

echo "=== changes restart dockerd once; live-restore keeps the container"
declare -A pid started
for h in "${hosts[@]}"; do
  pid[$h]=$(on "$h" systemctl show docker.service -p MainPID --value)
  started[$h]=$(on "$h" docker inspect -f '{{.State.StartedAt}}' docker-role-logs)
done
converge "daemon.json and environment changed" \
  -e '{"docker_daemon_options_extra": {"log-opts": {"max-size": "6m"}}}' \
  -e '{"docker_service_environment": {"DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE": "1", "HTTP_PROXY": "http://other.invalid:3128"}}'
check "one restart handler run for both changes" \
  test "$(grep -c 'RUNNING HANDLER \[onprem.mlflow.docker : Restart docker\]' "$last_log")" = 1
for h in "${hosts[@]}"; do
  check "$h: dockerd restarted" test "$(on "$h" systemctl show docker.service -p MainPID --value)" != "${pid[$h]}"
  check "$h: the container kept running (live-restore)" \
    test "$(on "$h" docker inspect -f '{{.State.Running}} {{.State.StartedAt}}' docker-role-logs)" = "true ${started[$h]}"
  check "$h: new environment" sh -c "docker exec $h systemctl show docker.service -p Environment | grep -q other.invalid"
  check "$h: new daemon.json" on "$h" grep -q '"max-size": "6m"' /etc/docker/daemon.json
done

# Debian 13's dockerd checks daemon.json before it replaces the old one (Debian 12's 20.10 cannot).
before=$(on "$t" sha256sum /etc/docker/daemon.json)
refused "Debian 13: an option dockerd does not know, checked by dockerd --validate" "no-such-option" \
  --limit "$t" -e '{"docker_daemon_options_extra": {"no-such-option": true}}'
check "Debian 13: the old daemon.json stayed" test "$(on "$t" sha256sum /etc/docker/daemon.json)" = "$before"
check "Debian 13: docker still active" on "$t" systemctl is-active --quiet docker.service

refused "switching to docker-ce on a host with docker.io" "does not switch engines" \
  -e docker_source=docker-ce -e docker_ce_version=27.3.1

on "$b" usermod -aG docker bob
converge "empty environment, then back to the inventory's settings" -e '{"docker_service_environment": {}}'
for h in "${hosts[@]}"; do
  check "$h: empty docker_service_environment removes the drop-in" sh -c "! docker exec $h test -e /etc/systemd/system/docker.service.d/onprem-mlflow-environment.conf"
  check "$h: docker active after the drop-in left" on "$h" systemctl is-active --quiet docker.service
done
converge "the inventory's settings again"
converge "and once more"
if [ "$(changed_total)" = 0 ]; then pass "converged again: changed=0"; else fail "converged again: changed=$(changed_total)"; fi
check "a member added by hand stays in the docker group" sh -c "docker exec $b id -nG bob | grep -qw docker"
check "docker_users still in the group" sh -c "docker exec $b id -nG alice | grep -qw docker"

# dockerd does not run swarm mode with live-restore on: the preflight refuses live-restore on a swarm node.
echo "=== a swarm node (Debian 13)"
converge "live-restore off (Debian 13)" --limit "$t" -e '{"docker_daemon_options_extra": {"live-restore": false}}'
on "$t" docker swarm init --advertise-addr 127.0.0.1 >/dev/null
refused "Debian 13: live-restore on a swarm node" "does not start in swarm mode with live-restore on" --limit "$t"
on "$t" docker swarm leave --force >/dev/null

echo "docker role: $passes passed, $failures failed, $run ansible-playbook runs, $(($(date +%s) - start)) s"
[ "$failures" = 0 ]
