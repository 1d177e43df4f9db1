"""Sample MLflow's memory and the tmpfs usage on this host until told to stop (stdlib only).

    resource_sampler.py --unit mlflow.service --ready FILE --stop FILE --out FILE

Every 0.25 s: the summed RSS of the unit's main process and all its descendants (page cache is not counted:
spooling to disk must not look like memory growth) and the used bytes of every tmpfs (df -t
tmpfs). The first sample is the baseline; --ready is written after it. When --stop exists (or
after --max-seconds) writes the baseline, the peaks and the peak growth as JSON to --out.
"""

import argparse
import json
import os
import subprocess
import time


def service_pids(unit):
    """MainPID of the unit and all its descendants (the CLI, uvicorn and its workers)."""
    main = subprocess.run(["systemctl", "show", "-p", "MainPID", "--value", unit], capture_output=True, text=True,
                          check=True).stdout.strip()
    pids, todo = [], [int(main)] if main.isdigit() and int(main) > 0 else []
    while todo:
        pid = todo.pop()
        pids.append(pid)
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as handle:
                todo.extend(int(p) for p in handle.read().split())
        except OSError:
            pass
    return pids


def rss_bytes(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/status" % pid) as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def tmpfs_used():
    used = {}
    with open("/proc/mounts") as handle:
        for line in handle:
            fields = line.split()
            if fields[2] == "tmpfs":
                stat = os.statvfs(fields[1])
                used[fields[1]] = (stat.f_blocks - stat.f_bfree) * stat.f_frsize
    return used


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--unit", default="mlflow.service")
    parser.add_argument("--ready", required=True)
    parser.add_argument("--stop", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--max-seconds", type=float, default=3600)
    args = parser.parse_args()
    started = time.time()
    base_rss = peak_rss = None
    base_tmpfs = tmpfs_used()
    peak_tmpfs = dict(base_tmpfs)
    samples = 0
    while True:
        rss = rss_bytes(service_pids(args.unit))
        base_rss = rss if base_rss is None else base_rss
        peak_rss = max(peak_rss or 0, rss)
        for mount, used in tmpfs_used().items():
            peak_tmpfs[mount] = max(peak_tmpfs.get(mount, 0), used)
        samples += 1
        if samples == 1:
            with open(args.ready, "w") as handle:
                handle.write("ready\n")
        if os.path.exists(args.stop) or time.time() - started > args.max_seconds:
            break
        time.sleep(0.25)
    if not base_rss:
        raise SystemExit("no RSS measured for %s: is it running?" % args.unit)
    growth = {mount: peak - base_tmpfs.get(mount, 0) for mount, peak in peak_tmpfs.items()}
    result = {
        "samples": samples,
        "seconds": round(time.time() - started, 1),
        "rss_base_mb": round(base_rss / 1e6, 1),
        "rss_peak_mb": round(peak_rss / 1e6, 1),
        "rss_growth_mb": round((peak_rss - base_rss) / 1e6, 1),
        "tmpfs_growth_mb": {mount: round(value / 1e6, 1) for mount, value in sorted(growth.items())},
        "tmpfs_total_growth_mb": round(sum(growth.values()) / 1e6, 1),
    }
    with open(args.out, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
