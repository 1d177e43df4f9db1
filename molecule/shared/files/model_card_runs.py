"""Runs for the model card check (molecule/shared/tasks/model_card.yml), with the real MLflow
client over HTTPS + basic auth.

    model_card_runs.py --password-file FILE

Creates an experiment with a FINISHED run (params alpha=0.5 and layers=3, metrics loss over three
steps and accuracy=0.93, tag stage=model-card, a dataset input) and a run left RUNNING. The client
settings come from the environment as in mlflow_roundtrip.py. Prints one JSON object on its last
line: the experiment's name and ID and the two run IDs.
"""

import argparse
import contextlib
import json
import os
import sys

from mlflow.entities import Dataset, DatasetInput, InputTag
from mlflow.tracking import MlflowClient


def create(client):
    name = "model-card-%s" % os.urandom(4).hex()
    experiment_id = client.create_experiment(name)
    run_id = client.create_run(experiment_id, run_name="winner").info.run_id
    client.log_param(run_id, "alpha", "0.5")
    client.log_param(run_id, "layers", "3")
    for step in range(3):
        client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
    client.log_metric(run_id, "accuracy", 0.93)
    client.set_tag(run_id, "stage", "model-card")
    client.log_inputs(run_id, datasets=[DatasetInput(
        Dataset(name="iris", digest="abc123", source_type="local", source='{"uri": "/data/iris.csv"}'),
        tags=[InputTag("mlflow.data.context", "training")])])
    client.set_terminated(run_id)
    running = client.create_run(experiment_id, run_name="still-running").info.run_id
    return {"experiment": name, "experiment_id": experiment_id, "finished": run_id, "running": running}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--password-file", required=True)
    args = parser.parse_args()
    with open(args.password_file) as handle:
        os.environ["MLFLOW_TRACKING_PASSWORD"] = handle.read().strip()
    # MLflow prints run links on stdout: keep the last line for the JSON result.
    with contextlib.redirect_stdout(sys.stderr):
        runs = create(MlflowClient())
    print(json.dumps(runs))


if __name__ == "__main__":
    main()
