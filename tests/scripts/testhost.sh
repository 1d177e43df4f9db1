#!/usr/bin/env bash
# Start / stop a throw-away systemd test host (a container of a locally built image) for
# developing a role by hand. Molecule uses the same container settings (molecule/*/molecule.yml).
#
#   tests/scripts/testhost.sh start NAME [IMAGE [NETWORK ADDRESS]]
#       default image: onprem-mlflow/debian-bookworm:test; with NETWORK (made by `network`) the host
#       gets the static ADDRESS there, which it keeps across `docker stop`/`docker start`
#   tests/scripts/testhost.sh stop NAME
#   tests/scripts/testhost.sh network NAME SUBNET    # a bridge network, unless it exists
#   tests/scripts/testhost.sh rmnetwork NAME
#   ansible-playbook -i NAME, -c community.docker.docker play.yml
set -euo pipefail
cmd=${1:?start|stop|network|rmnetwork}; name=${2:?name}
image=${3:-onprem-mlflow/debian-bookworm:test}
case "$cmd" in
  start)
    net=()
    if [ -n "${4:-}" ]; then net=(--network "$4" --ip "${5:?start NAME IMAGE NETWORK ADDRESS}"); fi
    docker run -d --name "$name" --hostname "$name" "${net[@]}" \
      --cap-add SYS_ADMIN --cap-add NET_ADMIN \
      --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
      --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
      --tmpfs /run --tmpfs /run/lock --tmpfs /tmp:exec \
      -v "${name}-docker:/var/lib/docker" \
      "$image" >/dev/null
    for _ in $(seq 1 60); do
      state=$(docker exec "$name" systemctl is-system-running 2>/dev/null || true)
      case "$state" in running|degraded) echo "$name: systemd $state"; exit 0 ;; esac
      sleep 1
    done
    echo "$name: systemd did not come up" >&2; exit 1 ;;
  stop)
    docker rm -f "$name" >/dev/null 2>&1 || true
    docker volume rm "${name}-docker" >/dev/null 2>&1 || true ;;
  network)
    subnet=${3:?network NAME SUBNET}
    docker network inspect "$name" >/dev/null 2>&1 || docker network create --subnet "$subnet" "$name" >/dev/null ;;
  rmnetwork)
    docker network rm "$name" >/dev/null 2>&1 || true ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
