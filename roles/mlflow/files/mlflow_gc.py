# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`mlflow gc` for a server with proxied artifacts: deleted runs' artifacts are deleted too.

    mlflow_gc.py --artifacts-destination s3://BUCKET/PREFIX [mlflow gc options ...]

Run with the MLflow venv's Python and the server's environment (MLFLOW_BACKEND_STORE_URI, the S3
endpoint and keys). The runs of a server started with `--serve-artifacts` keep artifact URIs of the
form `mlflow-artifacts:/<path>`, which `mlflow gc` resolves through the tracking server over HTTP
(mlflow/mlflow#11642, #13188). On a stack whose server listens on a Unix socket there is no HTTP
address to give it, and going through the public proxy would need a user and its password. The
server maps such a URI to `<artifacts destination>/<path>` (mlflow.server.handlers); this script
makes `mlflow gc` resolve them the same way, with the same S3 keys the server uses, then runs
`mlflow gc` itself with the options that follow.

Holds the stack's maintenance lock (shared with the backup job) while it runs.
"""

import argparse
import fcntl
import os
import sys
import urllib.parse

LOCK_FILE = "/run/lock/mlflow-maintenance.lock"


def main():
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--artifacts-destination", required=True)
    parser.add_argument("--lock-file", default=LOCK_FILE)
    args, gc_args = parser.parse_known_args()
    destination = args.artifacts_destination.rstrip("/")

    # Opened read-only: the file (created at boot by tmpfiles.d, group of the MLflow user) is
    # shared with the backup job, which runs as root.
    with open(args.lock_file) as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            sys.exit("mlflow_gc: another maintenance job (backup, restore or gc) holds %s" % args.lock_file)

        from mlflow.cli import gc
        from mlflow.store.artifact.artifact_repository_registry import (
            _artifact_repository_registry,
            get_artifact_repository,
        )

        def resolve(artifact_uri, *args, **kwargs):
            path = urllib.parse.urlparse(artifact_uri).path.lstrip("/")
            return get_artifact_repository(destination + "/" + path)

        _artifact_repository_registry.register("mlflow-artifacts", resolve)
        # gc refuses to run without a tracking URI; the backend store is the one it cleans.
        os.environ.setdefault("MLFLOW_TRACKING_URI", os.environ["MLFLOW_BACKEND_STORE_URI"])
        gc.main(args=gc_args, prog_name="mlflow gc")


if __name__ == "__main__":
    main()
