#!/usr/bin/env bash
# Module integration tests: start throw-away servers, run pytest through Ansible, always stop them.
# MINIO_BIN (or the build cache) must provide MinIO: without it the run FAILS, it does not skip.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export ONPREM_MLFLOW_IT_DIR="${ONPREM_MLFLOW_IT_DIR:-$(mktemp -d /tmp/onprem-mlflow-it.XXXXXX)}"
rmdir "$ONPREM_MLFLOW_IT_DIR" 2>/dev/null || true
trap '"$here/services.sh" stop' EXIT
start_rc=0
"$here/services.sh" start || start_rc=$?
pytest_rc=0
python3 -m pytest -q -p no:cacheprovider "$here" "$@" || pytest_rc=$?
if [ "$start_rc" -ne 0 ]; then
  echo "run.sh: services.sh start failed (see above); failing the integration stage" >&2
  exit 1
fi
exit "$pytest_rc"
