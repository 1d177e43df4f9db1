"""Tracking API throughput of several ways to reach MLflow, measured side by side (stdlib only).

    tracking.py --targets FILE --levels 1,4,16 --requests 400 --probes 100 --out FILE

Runs on the MLflow host itself (root, any python3). --targets is a JSON list of targets:
  {"name": "nginx", "url": "https://ADDRESS[:PORT]", "user": ..., "password_file": ..., "cafile": ...}
  {"name": "direct", "unix": "/run/mlflow/mlflow.sock", "host_header": PUBLIC_NAME}
  {"name": ..., "url": "http://127.0.0.1:5000", "host_header": ...}

Workload, for each operation, each concurrency level and each target in turn (interleaved, so a
slow phase of the shared machine hits every target alike): --requests calls in all, spread over
`level` worker threads, each with one keep-alive connection (opened and warmed by one untimed
GET /health before the clock starts):
  log-batch    POST /api/2.0/mlflow/runs/log-batch, 100 metrics per call, one run per worker
  search-runs  POST /api/2.0/mlflow/runs/search over the target's own experiment
Every target gets its own experiment with the same runs (created before the clock starts), and
all log-batch phases come first, so every search-runs phase reads the same data.

Probes (one client, sequential, --probes calls each, at most 50 a second) split one request's
cost through nginx:
  GET /health direct; through nginx with keep-alive; through nginx with a new TLS connection per
  call; nginx answering 401 without credentials (TLS + nginx alone) and with a wrong password
  (plus the basic-auth hash check); and the hash check itself, timed with crypt(3) on the
  htpasswd entry nginx uses (--htpasswd).

Writes one JSON object (req/s, p50/p99/mean latency, errors by status) to --out; prints a line per
phase. Timings are printed, never judged.
"""

import argparse
import base64
import concurrent.futures
import ctypes
import ctypes.util
import http.client
import itertools
import json
import os
import random
import socket
import ssl
import statistics
import threading
import time

OPERATIONS = ("log-batch", "search-runs")
METRICS_PER_BATCH = 100


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a Unix socket (MLflow's own socket in the all-in-one deployment)."""

    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


class Target:
    def __init__(self, spec, timeout):
        self.name = spec["name"]
        self.spec = spec
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json"}
        if spec.get("host_header"):
            self.headers["Host"] = spec["host_header"]
        self.password = None
        if spec.get("password_file"):
            with open(spec["password_file"]) as handle:
                self.password = handle.read().strip()
            token = base64.b64encode(("%s:%s" % (spec["user"], self.password)).encode()).decode()
            self.headers["Authorization"] = "Basic " + token
        self.context = None
        if spec.get("url", "").startswith("https://"):
            self.context = ssl.create_default_context(cafile=spec.get("cafile"))

    def connect(self):
        if "unix" in self.spec:
            return UnixHTTPConnection(self.spec["unix"], self.timeout)
        scheme, rest = self.spec["url"].split("://", 1)
        if scheme == "https":
            return http.client.HTTPSConnection(rest, timeout=self.timeout, context=self.context)
        return http.client.HTTPConnection(rest, timeout=self.timeout)


def call(conn, method, path, body=None, headers=None):
    """One request on a kept-alive connection: (status, body bytes, seconds)."""
    payload = None if body is None else json.dumps(body).encode()
    started = time.perf_counter()
    conn.request(method, path, body=payload, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    return response.status, data, time.perf_counter() - started


def api(target, path, body):
    conn = target.connect()
    try:
        status, data = call(conn, "POST", path, body, target.headers)[:2]
    finally:
        conn.close()
    if status != 200:
        raise SystemExit("%s: %s answered %d: %s" % (target.name, path, status, data[:300]))
    return json.loads(data or b"{}")


def percentile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def summarize(latencies, wall, errors, total):
    ok = len(latencies)
    return {
        "requests": total,
        "ok": ok,
        "errors": errors,
        "seconds": round(wall, 3),
        "rps": round(ok / wall, 2) if wall > 0 else None,
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1) if latencies else None,
        "mean_ms": round(statistics.mean(latencies) * 1000, 1) if latencies else None,
    }


def log_batch_body(run_id, step):
    now = int(time.time() * 1000)
    return {"run_id": run_id, "metrics": [
        {"key": "m%02d" % k, "value": random.random(), "timestamp": now, "step": step}
        for k in range(METRICS_PER_BATCH)]}


def phase(target, operation, level, requests, state):
    """`requests` calls over `level` threads, each with one warmed keep-alive connection."""
    counter = itertools.count()
    lock = threading.Lock()
    latencies, errors = [], {}
    barrier = threading.Barrier(level + 1)
    runs = state["runs"][level]

    def body(worker, step):
        if operation == "log-batch":
            return "/api/2.0/mlflow/runs/log-batch", log_batch_body(runs[worker], step)
        return "/api/2.0/mlflow/runs/search", {"experiment_ids": [state["experiment_id"]], "max_results": 100}

    def worker(index):
        conn = target.connect()
        warm_error = None
        try:  # connect, TLS handshake, basic auth: GET /health (cheap in MLflow), not timed
            status, data = call(conn, "GET", "/health", None, target.headers)[:2]
            if status != 200:
                warm_error = "warm-up answered %d: %s" % (status, data[:200])
        except (OSError, http.client.HTTPException) as exc:
            warm_error = "warm-up failed: %r" % exc
        barrier.wait()
        if warm_error:
            with lock:
                errors[warm_error] = errors.get(warm_error, 0) + 1
        mine, my_errors = [], {}
        while True:
            with lock:
                number = next(counter)
            if number >= requests:
                break
            path, payload = body(index, number + 1)
            try:
                status, _body, seconds = call(conn, "POST", path, payload, target.headers)
                if status == 200:
                    mine.append(seconds)
                else:
                    my_errors[str(status)] = my_errors.get(str(status), 0) + 1
            except (OSError, http.client.HTTPException) as exc:
                key = type(exc).__name__
                my_errors[key] = my_errors.get(key, 0) + 1
                conn.close()
                conn = target.connect()
        conn.close()
        with lock:
            latencies.extend(mine)
            for key, value in my_errors.items():
                errors[key] = errors.get(key, 0) + value

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(level)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return summarize(latencies, time.perf_counter() - started, errors, requests)


def probe(target, count, path="/health", new_connection=False, auth="yes", rate=50.0):
    """Sequential calls of one client; auth: yes (the target's), none, or wrong (a wrong password).
    At most `rate` calls a second, below nginx's per-address limit (nginx_rate_limit, 100r/s):
    cheap calls would otherwise be answered 429 instead of being measured."""
    headers = dict(target.headers)
    headers.pop("Content-Type", None)
    if auth == "none":
        headers.pop("Authorization", None)
    elif auth == "wrong":
        token = base64.b64encode(("%s:%s" % (target.spec["user"], "bench-wrong-password")).encode()).decode()
        headers["Authorization"] = "Basic " + token
    latencies, statuses = [], {}
    conn = target.connect()
    call(conn, "GET", path, None, headers)  # warm: connection and TLS handshake
    for _number in range(count):
        paced = time.perf_counter()
        if new_connection:
            conn.close()
            conn = target.connect()
        status, _body, seconds = call(conn, "GET", path, None, headers)
        time.sleep(max(0.0, 1.0 / rate - (time.perf_counter() - paced)))
        latencies.append(seconds)
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    conn.close()
    result = summarize(latencies, sum(latencies), {}, count)
    result["statuses"] = statuses
    return result


def crypt_probe(htpasswd, user, count):
    """Seconds per crypt(3) call on the user's htpasswd hash: what nginx computes per request."""
    with open(htpasswd) as handle:
        entries = dict(line.strip().split(":", 1) for line in handle if ":" in line)
    stored = entries[user]
    library = ctypes.util.find_library("crypt") or "libcrypt.so.1"
    crypt = ctypes.CDLL(library).crypt
    crypt.restype = ctypes.c_char_p
    crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    latencies = []
    for _number in range(count):
        started = time.perf_counter()
        crypt(b"bench-wrong-password", stored.encode())
        latencies.append(time.perf_counter() - started)
    result = summarize(latencies, sum(latencies), {}, count)
    result["scheme"] = stored.split("$")[1] if stored.startswith("$") else "other"
    result["cost"] = stored.split("$")[2] if stored.startswith("$2") else None
    return result


def setup(target, levels, stamp):
    """The target's own experiment, and one run per worker of every level (created 8 at a time)."""
    name = "bench-tracking-%s-%s" % (target.name, stamp)
    experiment_id = api(target, "/api/2.0/mlflow/experiments/create", {"name": name})["experiment_id"]

    def create(label):
        body = {"experiment_id": experiment_id, "run_name": label, "start_time": int(time.time() * 1000)}
        return api(target, "/api/2.0/mlflow/runs/create", body)["run"]["info"]["run_id"]

    labels = [(level, "level%d-worker%d" % (level, i)) for level in levels for i in range(level)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(create, [label for _level, label in labels]))
    runs = {level: [] for level in levels}
    for (level, _label), run_id in zip(labels, ids, strict=True):
        runs[level].append(run_id)
    return {"experiment_id": experiment_id, "experiment_name": name, "runs": runs}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", required=True)
    parser.add_argument("--levels", default="1,4,16")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--probes", type=int, default=100)
    parser.add_argument("--htpasswd", default="/etc/nginx/mlflow.htpasswd")
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    with open(args.targets) as handle:
        targets = [Target(spec, args.timeout) for spec in json.load(handle)]
    levels = [int(x) for x in args.levels.split(",")]
    stamp = "%d-%d" % (int(time.time()), os.getpid())
    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(targets)) as pool:
        states = dict(zip([t.name for t in targets], pool.map(lambda t: setup(t, levels, stamp), targets), strict=True))
    print("setup: an experiment and %d runs per target, %.0f s" % (sum(levels), time.time() - started), flush=True)
    result = {"benchmark": "tracking", "levels": levels, "requests_per_level": args.requests,
              "metrics_per_batch": METRICS_PER_BATCH, "cpus": os.cpu_count(),
              "targets": [t.name for t in targets], "phases": [], "probes": {},
              "experiments": [s["experiment_id"] for s in states.values()]}
    # All log-batch phases first: every search-runs phase then reads the same runs and metrics.
    for operation in OPERATIONS:
        for level in levels:
            for target in targets:
                outcome = phase(target, operation, level, args.requests, states[target.name])
                outcome.update(target=target.name, operation=operation, clients=level)
                result["phases"].append(outcome)
                print("%-12s %-7s %2d clients: %7.1f req/s  p50 %7.1f ms  p99 %7.1f ms  errors %s" % (
                    operation, target.name, level, outcome["rps"] or 0, outcome["p50_ms"] or 0,
                    outcome["p99_ms"] or 0, outcome["errors"] or 0), flush=True)
    if args.probes > 0:
        probes = result["probes"]
        for target in targets:
            probes["%s /health keep-alive" % target.name] = probe(target, args.probes)
            if "password_file" in target.spec:
                probes["%s /health new connection per call" % target.name] = probe(
                    target, args.probes, new_connection=True)
                probes["%s 401, no credentials" % target.name] = probe(target, args.probes, auth="none")
                probes["%s 401, wrong password" % target.name] = probe(target, args.probes, auth="wrong")
        authed = [t for t in targets if "password_file" in t.spec]
        if authed and os.path.exists(args.htpasswd):
            probes["crypt(3) of the nginx htpasswd hash"] = crypt_probe(
                args.htpasswd, authed[0].spec["user"], min(args.probes, 50))
        for name, values in probes.items():
            print("probe %-45s mean %7.2f ms  p50 %7.2f ms  p99 %7.2f ms" % (
                name, values["mean_ms"], values["p50_ms"], values["p99_ms"]), flush=True)
    for target in targets:  # the experiments are no longer listed (soft delete)
        api(target, "/api/2.0/mlflow/experiments/delete", {"experiment_id": states[target.name]["experiment_id"]})
    with open(args.out, "w") as handle:
        json.dump(result, handle, indent=1)
    print("tracking benchmark: %.0f s" % (time.time() - started))


if __name__ == "__main__":
    main()
