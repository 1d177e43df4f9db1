"""Artifact throughput: the MLflow client through nginx vs boto3 straight to MinIO, same host, same run.

    artifacts.py --url https://ADDRESS --user USER --password-file FILE --sizes-mb 100,1024
                 [--large-gib 5] [--rounds 1] --workdir DIR --out FILE

Runs on the stack's host with the MLflow venv's python (mlflow and boto3 come with it), as root
(it reads MLflow's S3 keys and endpoint from /etc/mlflow/mlflow.env, samples mlflow.service and
the spool directory). For every size: one file of pseudo-random bytes; per round the MLflow client
(MLFLOW_TRACKING_URI = --url, basic auth, the stack's CA) uploads it as a run artifact and
downloads it again (proxied: nginx → MLflow → MinIO, spooled in MLflow's TMPDIR), then boto3
uploads and downloads it with MLflow's own MinIO user, with boto3's default transfer settings
(multipart, 10 threads). Every download is compared with the source (size and sha256).

While anything transfers, a sampler thread records the summed RSS of mlflow.service's processes
(baseline before, peak during), the bytes in MLflow's spool directory (TMPDIR of the service) and
the bytes used on tmpfs mounts. --large-gib N ends with one round trip of an N GiB artifact through
the MLflow client (sha256 compared) under the same sampler.

Everything the benchmark stored is deleted afterwards (S3 objects; the experiment is deleted in
MLflow, which keeps it in its database as deleted).
"""

import argparse
import contextlib
import hashlib
import json
import os
import random
import shutil
import statistics
import sys
import threading
import time
import uuid

from footprint import memory, unit_pids  # same directory
from stock import read_env  # same directory

ENV_FILE = "/etc/mlflow/mlflow.env"
UNIT_FILE = "/etc/systemd/system/mlflow.service"
CHUNK = 64 * 1024 * 1024


def unit_setting(flag_or_env):
    """A value of the deployed unit: the word after a flag, or an Environment=NAME=value."""
    with open(UNIT_FILE) as handle:
        text = handle.read()
    words = text.split()
    if flag_or_env.startswith("--"):
        return words[words.index(flag_or_env) + 1]
    for word in words:
        if word.startswith("Environment=%s=" % flag_or_env):
            return word.split("=", 2)[2]
    return None


def rss(pids):
    return memory(pids)["rss"]


def dir_bytes(path):
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # a file that has just gone
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total


def tmpfs_bytes():
    total = 0
    with open("/proc/mounts") as handle:
        for line in handle:
            fields = line.split()
            if fields[2] == "tmpfs":
                stat = os.statvfs(fields[1])
                total += (stat.f_blocks - stat.f_bfree) * stat.f_frsize
    return total


class Sampler:
    """Baseline and peak of MLflow's RSS, its spool directory and tmpfs while a transfer runs."""

    def __init__(self, spool_dir, interval=0.25):
        self.spool_dir, self.interval = spool_dir, interval
        self.stop_event = threading.Event()

    def sample(self):
        return rss(unit_pids("mlflow.service")), dir_bytes(self.spool_dir), tmpfs_bytes()

    def __enter__(self):
        self.base = self.sample()
        self.peak = list(self.base)
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()
        return self

    def loop(self):
        while not self.stop_event.wait(self.interval):
            for i, value in enumerate(self.sample()):
                self.peak[i] = max(self.peak[i], value)

    def __exit__(self, *exc):
        self.stop_event.set()
        self.thread.join()

    def result(self):
        return {"mlflow_rss_base_mb": round(self.base[0] / 1e6, 1),
                "mlflow_rss_peak_mb": round(self.peak[0] / 1e6, 1),
                "mlflow_rss_growth_mb": round((self.peak[0] - self.base[0]) / 1e6, 1),
                "spool_peak_mb": round(self.peak[1] / 1e6, 1),
                "tmpfs_growth_mb": round((self.peak[2] - self.base[2]) / 1e6, 1)}


def make_file(path, size, seed):
    """size bytes: a 64 MiB block of pseudo-random bytes, repeated; returns the sha256."""
    block = random.Random(seed).randbytes(min(size, CHUNK))
    digest = hashlib.sha256()
    with open(path, "wb") as handle:
        left = size
        while left > 0:
            piece = block[:left]
            handle.write(piece)
            digest.update(piece)
            left -= len(piece)
    return digest.hexdigest()


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for piece in iter(lambda: handle.read(CHUNK), b""):
            digest.update(piece)
    return digest.hexdigest()


def timed(function, positional, keywords, spool_dir):
    with Sampler(spool_dir) as sampler:
        started = time.perf_counter()
        function(*positional, **keywords)
        seconds = time.perf_counter() - started
    return seconds, sampler.result()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-file", required=True)
    parser.add_argument("--cafile", default="/etc/onprem-mlflow/ca.crt")
    parser.add_argument("--sizes-mb", default="100,1024")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--large-gib", type=int, default=0)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "AWS_CA_BUNDLE"):
        os.environ.pop(name, None)
    with open(args.password_file) as handle:
        os.environ["MLFLOW_TRACKING_PASSWORD"] = handle.read().strip()
    os.environ.update(MLFLOW_TRACKING_URI=args.url, MLFLOW_TRACKING_USERNAME=args.user,
                      MLFLOW_TRACKING_SERVER_CERT_PATH=args.cafile, MLFLOW_HTTP_REQUEST_TIMEOUT="3600",
                      GIT_PYTHON_REFRESH="quiet")
    # The venv's packages, imported once the environment is set.
    import boto3
    from mlflow.tracking import MlflowClient

    deployed = read_env(ENV_FILE)
    destination = unit_setting("--artifacts-destination")  # s3://bucket[/prefix]
    bucket, _slash, prefix = destination[len("s3://"):].partition("/")
    spool_dir = unit_setting("TMPDIR") or "/tmp"
    s3 = boto3.client("s3", endpoint_url=deployed["MLFLOW_S3_ENDPOINT_URL"],
                      aws_access_key_id=deployed["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=deployed["AWS_SECRET_ACCESS_KEY"],
                      verify=deployed.get("AWS_CA_BUNDLE", True))
    boto3_prefix = "/".join(p for p in (prefix, "bench-boto3", uuid.uuid4().hex) if p)

    os.makedirs(args.workdir, exist_ok=True)
    work = os.path.join(args.workdir, "artifacts-%s" % uuid.uuid4().hex[:8])
    os.makedirs(work)
    client = MlflowClient()
    experiment_id = client.create_experiment("bench-artifacts-%d-%d" % (int(time.time()), os.getpid()))
    run_id = client.create_run(experiment_id, tags={"purpose": "onprem-mlflow-bench"}).info.run_id
    result = {"benchmark": "artifacts", "url": args.url, "spool_dir": spool_dir, "rounds": args.rounds,
              "sizes": [], "large": None}
    status = 0
    try:
        for size_mb in [int(x) for x in args.sizes_mb.split(",") if x]:
            size = size_mb * 1024 * 1024
            source = os.path.join(work, "blob-%dmb.bin" % size_mb)
            expected = make_file(source, size, size_mb)
            times = {key: [] for key in ("mlflow upload", "mlflow download", "boto3 upload", "boto3 download")}
            samples = {}
            for round_no in range(args.rounds):
                artifact_dir = "size%dmb-round%d" % (size_mb, round_no)
                target = os.path.join(work, "download")
                key = "%s/%s/blob.bin" % (boto3_prefix, artifact_dir)
                steps = (
                    ("mlflow upload", client.log_artifact, (run_id, source), {"artifact_path": artifact_dir}),
                    ("mlflow download", client.download_artifacts,
                     (run_id, "%s/%s" % (artifact_dir, os.path.basename(source)), target), {}),
                    ("boto3 upload", s3.upload_file, (source, bucket, key), {}),
                    ("boto3 download", s3.download_file, (bucket, key, os.path.join(target, "boto3.bin")), {}),
                )
                for name, function, positional, keywords in steps:
                    os.makedirs(target, exist_ok=True)
                    seconds, sampled = timed(function, positional, keywords, spool_dir)
                    times[name].append(seconds)
                    samples.setdefault(name, []).append(sampled)
                    if name.endswith("download"):
                        got = os.path.join(target, "boto3.bin" if name.startswith("boto3")
                                           else os.path.basename(source))
                        if os.path.getsize(got) != size or sha256_of(got) != expected:
                            print("%s of %d MB: the download differs from the source" % (name, size_mb))
                            status = 1
                        shutil.rmtree(target)
            entry = {"size_mb": size_mb, "bytes": size}
            for name, values in times.items():
                seconds = statistics.median(values)
                entry[name] = {"seconds": round(seconds, 3), "mb_per_s": round(size / 1e6 / seconds, 1),
                               "all_seconds": [round(v, 3) for v in values],
                               "peak": max(samples[name], key=lambda s: s["mlflow_rss_growth_mb"])}
            entry["ratio upload"] = round(entry["mlflow upload"]["mb_per_s"] / entry["boto3 upload"]["mb_per_s"], 3)
            entry["ratio download"] = round(
                entry["mlflow download"]["mb_per_s"] / entry["boto3 download"]["mb_per_s"], 3)
            result["sizes"].append(entry)
            print("%5d MB  mlflow up %6.1f MB/s down %6.1f MB/s | boto3 up %6.1f MB/s down %6.1f MB/s"
                  " | ratio up %.2f down %.2f | mlflow RSS growth up %.0f MB down %.0f MB" % (
                      size_mb, entry["mlflow upload"]["mb_per_s"], entry["mlflow download"]["mb_per_s"],
                      entry["boto3 upload"]["mb_per_s"], entry["boto3 download"]["mb_per_s"],
                      entry["ratio upload"], entry["ratio download"],
                      entry["mlflow upload"]["peak"]["mlflow_rss_growth_mb"],
                      entry["mlflow download"]["peak"]["mlflow_rss_growth_mb"]), flush=True)
            os.unlink(source)
        if args.large_gib > 0:
            size = args.large_gib * 1024**3
            source = os.path.join(work, "large.bin")
            expected = make_file(source, size, 5)
            target = os.path.join(work, "large-download")
            os.makedirs(target)
            up_s, up_sample = timed(client.log_artifact, (run_id, source), {"artifact_path": "large"}, spool_dir)
            os.unlink(source)
            down_s, down_sample = timed(client.download_artifacts, (run_id, "large/large.bin", target), {},
                                        spool_dir)
            got = os.path.join(target, "large.bin")
            large = {"gib": args.large_gib, "bytes": size, "sha256_expected": expected,
                     "size_downloaded": os.path.getsize(got), "sha256_downloaded": sha256_of(got),
                     "upload": {"seconds": round(up_s, 1), "mb_per_s": round(size / 1e6 / up_s, 1), **up_sample},
                     "download": {"seconds": round(down_s, 1), "mb_per_s": round(size / 1e6 / down_s, 1),
                                  **down_sample}}
            large["ok"] = large["size_downloaded"] == size and large["sha256_downloaded"] == expected
            shutil.rmtree(target)
            result["large"] = large
            status = status or (0 if large["ok"] else 1)
            print("%d GiB round trip: sha256 %s; up %.0f s (%.1f MB/s), down %.0f s (%.1f MB/s); MLflow RSS growth"
                  " up %.0f MB, down %.0f MB; spool peak up %.0f MB, down %.0f MB" % (
                      args.large_gib, "equal" if large["ok"] else "DIFFERENT", up_s, large["upload"]["mb_per_s"],
                      down_s, large["download"]["mb_per_s"], up_sample["mlflow_rss_growth_mb"],
                      down_sample["mlflow_rss_growth_mb"], up_sample["spool_peak_mb"], down_sample["spool_peak_mb"]),
                  flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        # What the benchmark stored: the run's artifacts (under the experiment's prefix) and boto3's.
        experiment_prefix = "/".join(p for p in (prefix, experiment_id) if p) + "/"
        for doomed in (experiment_prefix, boto3_prefix + "/"):
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=doomed):
                keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if keys:
                    s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})
        client.delete_experiment(experiment_id)
    with open(args.out, "w") as handle:
        json.dump(result, handle, indent=1)
    return status


if __name__ == "__main__":
    sys.exit(main())
