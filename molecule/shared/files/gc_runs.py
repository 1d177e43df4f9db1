"""Runs for the garbage-collection check, with the real MLflow client over HTTPS + basic auth.

    gc_runs.py create --password-file FILE   a live and a deleted run, each with a small artifact
    gc_runs.py check --password-file FILE --runs JSON   after the gc job: the live run and its
        artifact are intact, the deleted run is gone from the tracking server

The client settings come from the environment as in mlflow_roundtrip.py. Prints one JSON object;
`create` prints the experiment, the two run ids and their artifact's name and sha256.
"""

import argparse
import hashlib
import json
import os
import sys
import tempfile

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

ARTIFACT = "gc-probe.bin"


def create(client):
    experiment_id = client.create_experiment("gc-check-%s" % os.urandom(4).hex())
    payload = os.urandom(64 * 1024)
    runs = {}
    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, ARTIFACT)
        with open(path, "wb") as handle:
            handle.write(payload)
        for name in ("live", "deleted"):
            run = client.create_run(experiment_id)
            client.log_artifact(run.info.run_id, path)
            client.set_terminated(run.info.run_id)
            runs[name] = run.info.run_id
    client.delete_run(runs["deleted"])
    return {"experiment_id": experiment_id, "live": runs["live"], "deleted": runs["deleted"],
            "artifact": ARTIFACT, "sha256": hashlib.sha256(payload).hexdigest(), "size": len(payload)}


def check(client, runs):
    live = client.get_run(runs["live"])
    if live.info.lifecycle_stage != "active":
        sys.exit("the live run %s is %s" % (runs["live"], live.info.lifecycle_stage))
    with tempfile.TemporaryDirectory() as scratch:
        path = client.download_artifacts(runs["live"], runs["artifact"], scratch)
        with open(path, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
    if digest != runs["sha256"]:
        sys.exit("the live run's artifact changed: sha256 %s, expected %s" % (digest, runs["sha256"]))
    try:
        client.get_run(runs["deleted"])
    except MlflowException as error:
        if error.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
    else:
        sys.exit("the deleted run %s is still in the tracking server after gc" % runs["deleted"])
    return {"live": runs["live"], "live_artifact_sha256": digest, "deleted_run_gone": runs["deleted"]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["create", "check"])
    parser.add_argument("--password-file", required=True)
    parser.add_argument("--runs", help="create's output (check)")
    args = parser.parse_args()
    with open(args.password_file) as handle:
        os.environ["MLFLOW_TRACKING_PASSWORD"] = handle.read().strip()
    client = MlflowClient()
    if args.action == "create":
        print(json.dumps(create(client)))
    else:
        print(json.dumps(check(client, json.loads(args.runs))))


if __name__ == "__main__":
    main()
