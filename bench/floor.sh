#!/usr/bin/env bash
# The floor of a converge: a plain script that performs the same installs as the roles on a fresh
# test host, and nothing else (no configuration, no checks, no services set up):
#   - the controller's CA bundle into the host's trust store (common, mlflow_stack_extra_ca_certs);
#   - one `apt-get update` and one `apt-get install` of every package the roles install by name
#     for an all-in-one PostgreSQL stack (common, firewall, postgresql, minio, mlflow, nginx);
#   - the MLflow venv as the mlflow role builds it: python3 -m venv, pip installs the pinned uv,
#     uv installs the pinned packages (same versions, same installer settings);
#   - the MinIO binary copied from the controller cache (docker cp; the role copies it over the
#     same Docker connection).
# Prints the time of each step and writes them as JSON.
#
#   bench/floor.sh CONTAINER OUT_JSON
set -euo pipefail
cd "$(dirname "$0")/.."
host=${1:?usage: bench/floor.sh CONTAINER OUT_JSON}
out=${2:?usage: bench/floor.sh CONTAINER OUT_JSON}
default() { sed -n "s/^$1: *\"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" "roles/$2/defaults/main.yml"; }
mlflow_version=$(default mlflow_version mlflow)
minio_version=$(default minio_version minio)
minio_bin=${MINIO_BIN:-$HOME/.cache/onprem-mlflow/minio/$minio_version/minio}
[ -x "$minio_bin" ] || { echo "no MinIO binary at $minio_bin (make minio)" >&2; exit 1; }
packages=(
  "mlflow==$mlflow_version" "mlflow-skinny==$mlflow_version" "mlflow-tracing==$mlflow_version"
  "boto3==$(default mlflow_boto3_version mlflow)" "psycopg2-binary==$(default mlflow_psycopg2_version mlflow)"
)
uv_pin="uv==$(default mlflow_uv_version mlflow)"
in_host() { docker exec "$host" bash -euo pipefail -c "$1"; }
codename=$(docker exec "$host" sed -n 's/^VERSION_CODENAME=//p' /etc/os-release)
case "$codename" in
  bookworm) pg=15 ;;
  trixie) pg=17 ;;
  *) echo "unknown Debian release $codename" >&2; exit 1 ;;
esac
debs="ca-certificates acl python3-apt python3-cryptography nftables postgresql-common python3-psycopg2 \
postgresql-$pg python3-boto3 python3-argon2 python3-venv python3-packaging nginx apache2-utils"

now() { date +%s.%N; }
steps=()
timed() { # name command
  local name=$1 started
  shift
  started=$(now)
  "$@"
  steps+=("$name=$(awk -v a="$started" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}')")
  printf 'floor: %-40s %ss\n' "$name" "${steps[-1]#*=}"
}
trust() {
  in_host 'mkdir -p /usr/local/share/ca-certificates/onprem-mlflow'
  docker cp /etc/ssl/certs/ca-certificates.crt "$host":/usr/local/share/ca-certificates/onprem-mlflow/ca-certificates.crt
  in_host 'update-ca-certificates >/dev/null 2>&1'
}
quiet() { # a command in the host, its output shown only when it fails
  in_host "($1) >/var/tmp/floor-step.log 2>&1 || { tail -n 40 /var/tmp/floor-step.log; exit 1; }"
}
apt_install() {
  quiet "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $debs"
}
venv() {
  local env='export PIP_CERT=/etc/ssl/certs/ca-certificates.crt SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
    UV_LINK_MODE=copy UV_NO_PROGRESS=1'
  quiet "$env; mkdir -p /opt/mlflow && python3 -m venv /opt/mlflow/venv
    /opt/mlflow/venv/bin/pip install -q '$uv_pin'
    /opt/mlflow/venv/bin/uv pip install -q --python /opt/mlflow/venv/bin/python ${packages[*]}"
}
minio() {
  docker cp "$minio_bin" "$host":/usr/local/bin/minio
  in_host 'chmod 0755 /usr/local/bin/minio'
}

started=$(now)
timed "CA bundle into the trust store" trust
timed "apt-get update + install" apt_install
timed "venv: pip installs uv, uv installs MLflow" venv
timed "MinIO binary copy" minio
total=$(awk -v a="$started" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}')
echo "floor: total ${total}s"
{
  printf '{"floor_seconds": %s, "floor_steps": {' "$total"
  sep=""
  for s in "${steps[@]}"; do printf '%s"%s": %s' "$sep" "${s%=*}" "${s#*=}"; sep=", "; done
  printf '}, "floor_packages": "%s"}\n' "$debs"
} >"$out"
