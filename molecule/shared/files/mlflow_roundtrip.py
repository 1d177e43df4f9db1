"""End-to-end check of a deployed stack with the real MLflow client, over HTTPS + basic auth.

Reads the client settings from the environment (MLFLOW_TRACKING_URI, MLFLOW_TRACKING_USERNAME,
MLFLOW_TRACKING_SERVER_CERT_PATH) as a data scientist's `client.env` sets them; the password comes
from --password-file (so it is on no command line) into MLFLOW_TRACKING_PASSWORD.

    mlflow_roundtrip.py --state FILE --password-file FILE [--size-mb N] [--check-only]

Without --check-only: creates an experiment and a run, logs params, metrics and tags, logs an
artifact of N MB (default 50) of random bytes and a small text one (notes.txt, for the browser
check), downloads the large one again and compares sha256. The run is
appended to the state file. In every mode: every run recorded in the state file by an earlier call
(an earlier converge, before a service restart) must still exist with its data, and its artifact
must download with the same sha256. Prints one JSON object: the runs checked and the run created.
Exits non-zero on the first mismatch.
"""

import argparse
import contextlib
import hashlib
import json
import os
import sys
import tempfile
import time

from mlflow.tracking import MlflowClient

CHUNK = 1024 * 1024


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def fail(message):
    print(json.dumps({"ok": False, "error": message}), file=sys.__stdout__)
    sys.exit(1)


def load_state(path):
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return json.load(handle)


def create_run(client, size_mb, workdir):
    experiment_name = "molecule-verify-%d-%d" % (int(time.time()), os.getpid())
    experiment_id = client.create_experiment(experiment_name)
    run = client.create_run(experiment_id, tags={"purpose": "molecule-verify"})
    run_id = run.info.run_id
    client.log_param(run_id, "alpha", "0.5")
    client.log_param(run_id, "layers", "3")
    for step in range(5):
        client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
    client.set_tag(run_id, "stage", "verify")

    source = os.path.join(workdir, "blob.bin")
    with open(source, "wb") as handle:
        for _chunk in range(size_mb):
            handle.write(os.urandom(CHUNK))
    expected = sha256_of(source)
    client.log_artifact(run_id, source, artifact_path="data")
    # A small text artifact naming its run, for the UI's artifact preview (browser_check.py).
    text = "onprem.mlflow verify run %s\n" % run_id
    client.log_text(run_id, text, "notes.txt")
    client.set_terminated(run_id)
    return {
        "experiment_id": experiment_id,
        "experiment_name": experiment_name,
        "run_id": run_id,
        "run_name": client.get_run(run_id).info.run_name,
        "text_artifact": "notes.txt",
        "text": text.strip(),
        "artifact": "data/blob.bin",
        "sha256": expected,
        "size": size_mb * CHUNK,
        "artifact_uri": client.get_run(run_id).info.artifact_uri,
    }


def check_run(client, record, workdir):
    run = client.get_run(record["run_id"])
    if run.data.params.get("alpha") != "0.5" or run.data.params.get("layers") != "3":
        fail("run %s lost its params: %r" % (record["run_id"], run.data.params))
    if run.data.tags.get("stage") != "verify":
        fail("run %s lost its tags: %r" % (record["run_id"], run.data.tags))
    history = client.get_metric_history(record["run_id"], "loss")
    if len(history) != 5:
        fail("run %s has %d loss points, expected 5" % (record["run_id"], len(history)))
    target = os.path.join(workdir, record["run_id"])
    os.makedirs(target)
    local = client.download_artifacts(record["run_id"], record["artifact"], target)
    size = os.path.getsize(local)
    if size != record["size"]:
        fail("artifact of run %s has %d bytes, expected %d" % (record["run_id"], size, record["size"]))
    actual = sha256_of(local)
    if actual != record["sha256"]:
        fail("artifact of run %s: sha256 %s, expected %s" % (record["run_id"], actual, record["sha256"]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--state", required=True)
    parser.add_argument("--size-mb", type=int, default=50)
    parser.add_argument("--check-only", action="store_true")
    parser.add_argument("--password-file", required=True)
    args = parser.parse_args()
    with open(args.password_file) as handle:
        os.environ["MLFLOW_TRACKING_PASSWORD"] = handle.read().strip()
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        if not os.environ.get(var):
            fail("%s is not set" % var)

    client = MlflowClient()
    state = load_state(args.state)
    if args.check_only and not state:
        fail("--check-only but no run was recorded in %s" % args.state)
    # MLflow prints progress and run links on stdout: keep stdout for the one JSON result.
    with tempfile.TemporaryDirectory() as workdir, contextlib.redirect_stdout(sys.stderr):
        for record in state:
            check_run(client, record, workdir)
        created = None
        if not args.check_only:
            created = create_run(client, args.size_mb, workdir)
            check_run(client, created, workdir)
            state.append(created)
            with open(args.state, "w") as handle:
                json.dump(state, handle, indent=2)
    print(json.dumps({"ok": True, "checked": [r["run_id"] for r in state], "created": created}))


if __name__ == "__main__":
    main()
