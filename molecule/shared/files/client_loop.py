"""A client that works through nginx while servers go down: every request must succeed.

    client_loop.py --url https://PROXY --ca CA --user U --password-file F
                   (--count N | --until-file PATH --max-count N) [--max-seconds S] [--pause S]

It makes an experiment and a run of its own, then goes round these requests, one at a time:
  - GET  experiments/get-by-name      (database, read)
  - POST runs/log-metric              (database, write)
  - PUT  an artifact of a few KiB     (MLflow -> MinIO, write)
  - GET  that artifact, compared byte for byte (MinIO -> MLflow, read)
  - POST runs/search                  (database, read)
Each counts as one request. --count stops after N requests; --until-file stops once PATH exists (a
converge running beside it creates it), but never after more than --max-count requests or
--max-seconds. Prints one JSON object (counts per kind, every failure with its status or error)
and exits 1 when any request failed, or when it made none.
"""

import argparse
import json
import os
import sys
import time

import requests


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-file", required=True)
    parser.add_argument("--count", type=int)
    parser.add_argument("--until-file")
    parser.add_argument("--max-count", type=int, default=5000)
    parser.add_argument("--max-seconds", type=float, default=1800)
    parser.add_argument("--pause", type=float, default=0.05)
    args = parser.parse_args()
    if (args.count is None) == (args.until_file is None):
        parser.error("give --count or --until-file")
    with open(args.password_file) as handle:
        auth = (args.user, handle.read().strip())
    session = requests.Session()
    session.auth = auth
    api = args.url + "/api/2.0/mlflow"
    failures = []
    counts = {}

    def call(kind, method, url, check=None, **kwargs):
        counts[kind] = counts.get(kind, 0) + 1
        try:
            # verify on each request: a Session's verify loses to REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE.
            response = session.request(method, url, timeout=60, verify=args.ca, **kwargs)
        except requests.RequestException as error:
            failures.append({"kind": kind, "error": "%s: %s" % (type(error).__name__, error)[:300]})
            return None
        if response.status_code != 200 or (check and not check(response)):
            failures.append({"kind": kind, "status": response.status_code, "body": response.text[:300]})
            return None
        return response

    name = "client-loop-%d-%d" % (os.getpid(), int(time.time()))
    setup = call("setup", "POST", api + "/experiments/create", json={"name": name})
    experiment_id = setup.json()["experiment_id"] if setup else None
    setup = experiment_id and call(
        "setup",
        "POST",
        api + "/runs/create",
        json={"experiment_id": experiment_id, "start_time": int(time.time() * 1000)},
    )
    if not setup:
        print(json.dumps({"ok": False, "requests": sum(counts.values()), "failures": failures}))
        return 1
    run = setup.json()["run"]["info"]
    run_id = run["run_id"]
    artifacts = "%s/api/2.0/mlflow-artifacts/artifacts/%s/%s/artifacts/loop" % (args.url, experiment_id, run_id)

    started = time.monotonic()
    step = 0
    while True:
        made = sum(counts.values())
        if args.count is not None and made >= args.count:
            break
        if args.until_file is not None and (os.path.exists(args.until_file) or made >= args.max_count):
            break
        if time.monotonic() - started > args.max_seconds:
            failures.append({"kind": "loop", "error": "still running after %s s" % args.max_seconds})
            break
        kind = step % 5
        if kind == 0:
            call("get-experiment", "GET", api + "/experiments/get-by-name", params={"experiment_name": name})
        elif kind == 1:
            call(
                "log-metric",
                "POST",
                api + "/runs/log-metric",
                json={
                    "run_id": run_id,
                    "key": "loop",
                    "value": step,
                    "timestamp": int(time.time() * 1000),
                    "step": step,
                },
            )
        elif kind == 2:
            body = ("%d " % step).encode() * 1024
            call("put-artifact", "PUT", "%s/%d.txt" % (artifacts, step), data=body)
        elif kind == 3:
            body = ("%d " % (step - 1)).encode() * 1024
            call("get-artifact", "GET", "%s/%d.txt" % (artifacts, step - 1), check=lambda r, b=body: r.content == b)
        else:
            call(
                "search-runs", "POST", api + "/runs/search", json={"experiment_ids": [experiment_id], "max_results": 5}
            )
        step += 1
        time.sleep(args.pause)
    made = sum(counts.values())
    result = {
        "ok": not failures and made > 0,
        "requests": made,
        "seconds": round(time.monotonic() - started, 1),
        "counts": counts,
        "failures": failures[:20],
        "failed": len(failures),
    }
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
