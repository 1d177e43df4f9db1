"""Memory and disk footprint of the stack's services on this host (stdlib only; run as root).

    footprint.py snapshot --label LABEL --out FILE [--samples N]
    footprint.py sample --label LABEL --stop FILE --out FILE

A service's memory is the sum over its systemd unit's processes (MainPID and every descendant):
RSS, which counts pages shared between forked workers once per process, and PSS, which splits
them (the sum of PSS is what the processes really cost the host). Page cache is not counted.

snapshot: N samples one second apart, the median of each value (idle footprint), plus the disk
used by the MLflow venv and the MinIO binary. sample: every 0.5 s until FILE exists, the peak of
each value (footprint under a workload running meanwhile). Both write one JSON object to --out.
"""

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import time

VENV = "/opt/mlflow/venv"
MINIO_BINARY = "/usr/local/bin/minio"
ENV_FILE = "/etc/mlflow/mlflow.env"


def units():
    """The stack's units on this host, by service name (the database unit is looked up)."""
    found = {}
    listed = subprocess.run(["systemctl", "list-units", "--type=service", "--state=running", "--plain", "--no-legend"],
                            capture_output=True, text=True, check=True).stdout.split("\n")
    names = [line.split()[0] for line in listed if line.strip()]
    for name in names:
        if name.startswith("postgresql@") or name in ("mariadb.service", "mysql.service"):
            found["database"] = name
    for service, unit in (("mlflow", "mlflow.service"), ("minio", "minio.service"), ("nginx", "nginx.service")):
        if unit in names:
            found[service] = unit
    return found


def job_runner():
    """MLflow's job runner setting (MLFLOW_SERVER_ENABLE_JOB_EXECUTION of the deployed server)."""
    try:
        with open(ENV_FILE) as handle:
            for line in handle:
                if line.startswith("MLFLOW_SERVER_ENABLE_JOB_EXECUTION="):
                    return line.split("=", 1)[1].strip().strip('"').lower() == "true"
    except OSError:
        pass
    return None


def unit_pids(unit):
    """MainPID of the unit and all its descendants (children of any thread: the job runner
    starts its consumers from a thread)."""
    main = subprocess.run(["systemctl", "show", "-p", "MainPID", "--value", unit], capture_output=True, text=True,
                          check=True).stdout.strip()
    if not main.isdigit() or int(main) == 0:
        return []
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    pids, todo = [], [int(main)]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children.get(pid, []))
    return pids


def memory(pids):
    """Summed RSS and PSS in bytes, and the process count."""
    rss = pss = count = 0
    for pid in pids:
        try:
            with open("/proc/%d/smaps_rollup" % pid) as handle:
                for line in handle:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1]) * 1024
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
            count += 1
        except OSError:  # the process has just exited
            pass
    return {"rss": rss, "pss": pss, "processes": count}


def measure(unit_map):
    values = {service: memory(unit_pids(unit)) for service, unit in unit_map.items()}
    values["total"] = {key: sum(v[key] for v in values.values()) for key in ("rss", "pss", "processes")}
    return values


def du(path):
    if not os.path.isdir(path):
        return os.lstat(path).st_blocks * 512 if os.path.lexists(path) else 0
    total = 0
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            with contextlib.suppress(OSError):  # a file that has just gone
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total


def as_mb(values):
    return {service: {"rss_mb": round(v["rss"] / 1e6, 1), "pss_mb": round(v["pss"] / 1e6, 1),
                      "processes": v["processes"]} for service, v in values.items()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["snapshot", "sample"])
    parser.add_argument("--label", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--stop")
    parser.add_argument("--max-seconds", type=float, default=7200)
    args = parser.parse_args()
    unit_map = units()
    result = {"benchmark": "footprint", "label": args.label, "mode": args.mode, "units": unit_map,
              "job_runner": job_runner()}
    if result["job_runner"] is not None:
        result["label"] += " (job runner %s)" % ("on" if result["job_runner"] else "off")
    if args.mode == "snapshot":
        samples = []
        for i in range(args.samples):
            if i:
                time.sleep(1)
            samples.append(measure(unit_map))
        median = {service: {key: statistics.median(s[service][key] for s in samples)
                            for key in ("rss", "pss", "processes")} for service in samples[0]}
        result["memory"] = as_mb(median)
        result["disk_mb"] = {"mlflow venv": round(du(VENV) / 1e6, 1),
                             "minio binary": round(du(MINIO_BINARY) / 1e6, 1)}
    else:
        peak, started, count = {}, time.time(), 0
        while True:
            for service, values in measure(unit_map).items():
                for key, value in values.items():
                    peak.setdefault(service, {}).setdefault(key, 0)
                    peak[service][key] = max(peak[service][key], value)
            count += 1
            if (args.stop and os.path.exists(args.stop)) or time.time() - started > args.max_seconds:
                break
            time.sleep(0.5)
        result["memory"] = as_mb(peak)
        result["samples"] = count
        result["seconds"] = round(time.time() - started, 1)
    with open(args.out, "w") as handle:
        json.dump(result, handle, indent=1)
    total = result["memory"]["total"]
    print("footprint %s: total RSS %.0f MB, PSS %.0f MB (%s)" % (
        args.label, total["rss_mb"], total["pss_mb"],
        ", ".join("%s %.0f" % (s, v["pss_mb"]) for s, v in result["memory"].items() if s != "total")))


if __name__ == "__main__":
    main()
