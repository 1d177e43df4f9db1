"""Benchmark: build the MLflow venv with pip versus uv (the mlflow role's `mlflow_installer`).

    python3 bench/venv_install.py [--rounds N]

Installs the mlflow role's pinned package set (read from roles/mlflow/defaults/main.yml, engine
postgresql) into fresh virtualenvs on this machine, alternating pip and uv, each with an empty
cache, so every round downloads and installs everything, as a first converge on a new host does.
Prints each timing and the pip/uv ratio measured in this run. Needs the package index; it is a
benchmark, not a test: nothing here passes or fails on time.
"""

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def packages():
    defaults = yaml.safe_load((ROOT / "roles" / "mlflow" / "defaults" / "main.yml").read_text())
    version = defaults["mlflow_version"]
    return defaults, [
        "mlflow==%s" % version,
        "mlflow-skinny==%s" % version,
        "mlflow-tracing==%s" % version,
        "boto3==%s" % defaults["mlflow_boto3_version"],
        "psycopg2-binary==%s" % defaults["mlflow_psycopg2_version"],
    ]


def run(argv, **kwargs):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, **kwargs)


def timed_install(installer, defaults, pkgs, workdir):
    venv = Path(workdir) / ("venv-" + installer)
    cache = Path(workdir) / ("cache-" + installer)
    run([sys.executable, "-m", "venv", str(venv)])
    py = str(venv / "bin" / "python")
    start = time.monotonic()
    if installer == "pip":
        run([py, "-m", "pip", "install", "--quiet", "--cache-dir", str(cache), *pkgs])
    else:
        # as the role does: uv itself goes into the venv with pip, then installs everything else
        uv_pin = "uv==%s" % defaults["mlflow_uv_version"]
        run([py, "-m", "pip", "install", "--quiet", "--cache-dir", str(cache), uv_pin])
        run([str(venv / "bin" / "uv"), "pip", "install", "--quiet", "--cache-dir", str(cache), "--python", py, *pkgs])
    elapsed = time.monotonic() - start
    run([py, "-c", "import mlflow, boto3, psycopg2"])  # the venv works
    shutil.rmtree(venv)
    shutil.rmtree(cache, ignore_errors=True)
    return elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    defaults, pkgs = packages()
    times = {"pip": [], "uv": []}
    with tempfile.TemporaryDirectory(prefix="onprem-mlflow-bench-") as workdir:
        for round_no in range(1, args.rounds + 1):
            for installer in ("pip", "uv"):
                elapsed = timed_install(installer, defaults, pkgs, workdir)
                times[installer].append(elapsed)
                print("round %d  %-3s  %6.1f s" % (round_no, installer, elapsed), flush=True)
    pip_s, uv_s = statistics.median(times["pip"]), statistics.median(times["uv"])
    print("median pip %.1f s, uv %.1f s: uv builds the MLflow venv %.1fx faster than pip (%d round(s))"
          % (pip_s, uv_s, pip_s / uv_s, args.rounds))


if __name__ == "__main__":
    main()
