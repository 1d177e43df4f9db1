"""Kill one process of the stack with SIGKILL on this host and wait until it is replaced.

    fault_kill.py TARGET [--wait SECONDS]

TARGET: mlflow-cli (MainPID of mlflow.service), uvicorn-master (its child), uvicorn-worker (a
child of the master), minio, postgresql (the postmaster), mariadb, nginx (the master). Runs on the
test host as root with the system python3 (stdlib only). Prints one JSON object: the pid killed,
the clock time of the kill, and after how many seconds the same number of processes of that kind
was running again without the killed one (null: not within --wait). Exit 1 when nothing to kill.
"""

import argparse
import glob
import json
import os
import signal
import subprocess
import sys
import time


def main_pid(unit):
    out = subprocess.run(["systemctl", "show", "-p", "MainPID", "--value", unit], capture_output=True, text=True,
                         check=False).stdout.strip()
    return [int(out)] if out.isdigit() and int(out) > 0 else []


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as handle:
            return [int(p) for p in handle.read().split()]
    except OSError:
        return []


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def uvicorn_masters():
    # `mlflow server` runs uvicorn as its child (other children: multiprocessing helpers, a job runner).
    return [p for main in main_pid("mlflow.service") for p in children(main) if "uvicorn" in cmdline(p)]


def uvicorn_workers():
    return [p for master in uvicorn_masters()[:1] for p in children(master) if "spawn_main" in cmdline(p)]


def postmaster():
    for path in sorted(glob.glob("/var/lib/postgresql/*/main/postmaster.pid")):
        with open(path) as handle:
            first = handle.readline().strip()
        if first.isdigit() and os.path.exists("/proc/" + first):
            return [int(first)]
    return []


TARGETS = {
    "mlflow-cli": (lambda: main_pid("mlflow.service"), "mlflow.service"),
    "uvicorn-master": (uvicorn_masters, "mlflow.service"),
    "uvicorn-worker": (uvicorn_workers, "mlflow.service"),
    "minio": (lambda: main_pid("minio.service"), "minio.service"),
    "postgresql": (postmaster, None),
    "mariadb": (lambda: main_pid("mariadb.service"), "mariadb.service"),
    "nginx": (lambda: main_pid("nginx.service"), "nginx.service"),
}


def active(unit):
    return unit is None or subprocess.run(["systemctl", "is-active", "--quiet", unit], check=False).returncode == 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("target", choices=sorted(TARGETS))
    parser.add_argument("--wait", type=float, default=30)
    parser.add_argument("--settle", type=float, default=90, help="seconds to wait for the process to exist first")
    args = parser.parse_args()
    select, unit = TARGETS[args.target]
    settle_until = time.time() + args.settle
    pids = select()
    while not pids and time.time() < settle_until:
        time.sleep(0.5)
        pids = select()
    result = {"target": args.target, "unit": unit}
    if not pids:
        if args.target == "uvicorn-worker" and uvicorn_masters():
            # uvicorn with --workers 1 serves in the master itself: there is no worker to kill.
            result["skipped"] = "uvicorn runs single-process (--workers 1): the master is the worker"
            print(json.dumps(result))
            return 0
        result["error"] = "no process found"
        print(json.dumps(result))
        return 1
    victim = pids[0]
    os.kill(victim, signal.SIGKILL)
    killed_at = time.time()
    result.update(pid=victim, count=len(pids), cmdline=cmdline(victim)[:200], killed_at=killed_at, back_after=None)
    while time.time() - killed_at < args.wait:
        time.sleep(0.2)
        now = select()
        # MLflow is back once the whole tree is: the CLI, the uvicorn master and its workers.
        whole = unit != "mlflow.service" or (uvicorn_masters() and (args.target != "uvicorn-worker" or now))
        if len(now) >= len(pids) and victim not in now and active(unit) and whole:
            result["back_after"] = round(time.time() - killed_at, 2)
            result["new_pids"] = now
            break
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
