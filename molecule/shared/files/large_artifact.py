"""Round trip of one large artifact through the proxy with the real MLflow client.

Reads the client settings like mlflow_roundtrip.py (MLFLOW_TRACKING_URI, MLFLOW_TRACKING_USERNAME,
MLFLOW_TRACKING_SERVER_CERT_PATH; password from --password-file).

    large_artifact.py --password-file FILE --gib N --workdir DIR

Creates a sparse file of N GiB (no disk used; the bytes are zeros), logs it as an artifact of a new
run, downloads it into --workdir and compares sha256; the download is deleted afterwards. Prints
one JSON object with the sizes, the digests and the upload and download times.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

from mlflow.tracking import MlflowClient
from mlflow_roundtrip import sha256_of  # same directory: molecule/shared/files


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--password-file", required=True)
    parser.add_argument("--gib", type=int, required=True)
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args()
    with open(args.password_file) as handle:
        os.environ["MLFLOW_TRACKING_PASSWORD"] = handle.read().strip()
    os.makedirs(args.workdir, exist_ok=True)
    work = tempfile.mkdtemp(dir=args.workdir)
    try:
        source = os.path.join(work, "large.bin")
        with open(source, "wb") as handle:
            handle.truncate(args.gib * 1024**3)
        expected = sha256_of(source)
        client = MlflowClient()
        experiment_id = client.create_experiment("molecule-large-%d-%d" % (int(time.time()), os.getpid()))
        run_id = client.create_run(experiment_id, tags={"purpose": "molecule-large-artifact"}).info.run_id
        started = time.time()
        client.log_artifact(run_id, source, artifact_path="large")
        uploaded = time.time()
        client.set_terminated(run_id)
        os.unlink(source)
        target = os.path.join(work, "download")
        os.makedirs(target)
        downloaded_path = client.download_artifacts(run_id, "large/large.bin", target)
        downloaded = time.time()
        result = {
            "run_id": run_id,
            "size": os.path.getsize(downloaded_path),
            "expected_size": args.gib * 1024**3,
            "sha256": sha256_of(downloaded_path),
            "expected_sha256": expected,
            "upload_seconds": round(uploaded - started, 1),
            "download_seconds": round(downloaded - uploaded, 1),
        }
        result["ok"] = result["size"] == result["expected_size"] and result["sha256"] == expected
        print(json.dumps(result))
        return 0 if result["ok"] else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
