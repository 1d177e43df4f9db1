"""Poll the stack through nginx until it answers again; print how long that took.

    wait_recovery.py --url https://PROXY --ca CA --user U --password-file F --since EPOCH
                     --deadline SECONDS [--run-id ID]

Every round GETs /health and a database-backed API call (experiments search), and with --run-id
an artifact listing of that run (read from MinIO through MLflow); the stack is back when all of
them answer 200 in the same round. Prints one JSON object with the seconds since --since (the
kill or the last container start); exits 1 when the deadline (counted from --since) passes.
"""

import argparse
import json
import sys
import time

import requests


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-file", required=True)
    parser.add_argument("--since", type=float, required=True)
    parser.add_argument("--deadline", type=float, required=True)
    parser.add_argument("--run-id")
    args = parser.parse_args()
    with open(args.password_file) as handle:
        auth = (args.user, handle.read().strip())
    paths = ["/health", "/api/2.0/mlflow/experiments/search?max_results=1"]
    if args.run_id:
        paths.append("/api/2.0/mlflow/artifacts/list?run_id=" + args.run_id)
    session = requests.Session()
    attempts = 0
    last = {}
    while True:
        attempts += 1
        last = {}
        for path in paths:
            try:
                last[path] = session.get(args.url + path, verify=args.ca, auth=auth, timeout=5).status_code
            except requests.RequestException as error:
                last[path] = type(error).__name__
                session = requests.Session()
        elapsed = time.time() - args.since
        if all(code == 200 for code in last.values()):
            print(json.dumps({"ok": True, "seconds": round(elapsed, 2), "attempts": attempts}))
            return 0
        if elapsed > args.deadline:
            print(json.dumps({"ok": False, "seconds": round(elapsed, 2), "attempts": attempts, "last": last}))
            return 1
        time.sleep(0.25)


if __name__ == "__main__":
    sys.exit(main())
