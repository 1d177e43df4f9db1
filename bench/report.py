"""Turn a benchmark results directory into a Markdown report and a plot; print every ratio.

    report.py RESULTS_DIR

Reads the JSON files the benchmarks wrote there (converge.json, tracking.json, artifacts.json,
footprint-*.json; any may be missing), writes RESULTS_DIR/results.md, RESULTS_DIR/tracking.png
(requests/s and p99 latency vs concurrent clients, when matplotlib is installed) and
RESULTS_DIR/ratios.json, and prints the ratios with the goals of issue 8. Goals are reported, never
enforced: the exit status is 0 whatever the numbers.
"""

import json
import sys
from pathlib import Path

GOALS = {
    "converge": ("converge / floor", "<=", 1.25),
    "rerun": ("second converge / converge", "<=", 0.10),
    "nginx/direct": ("through nginx / direct", ">=", 0.9),
    "nginx/stock": ("through nginx / stock setup", ">", 1.0),
    "artifacts": ("MLflow client / boto3", ">=", 0.7),
    "large_rss": ("MLflow RSS growth, MB", "<", 200),
    "idle": ("tracking-only stack idle total, MB", "<", 1000),
}


def verdict(kind, value):
    op, goal = GOALS[kind][1:]
    if value is None:
        return "n/a"
    met = {"<=": value <= goal, ">=": value >= goal, "<": value < goal, ">": value > goal}[op]
    return "goal %s %s: %s" % (op, goal, "met" if met else "MISSED")


def load(directory):
    found = {"footprint": []}
    for path in sorted(directory.glob("*.json")):
        if path.name == "ratios.json":
            continue
        data = json.loads(path.read_text())
        if data.get("benchmark") == "footprint":
            found["footprint"].append(data)
        elif "benchmark" in data:
            found[data["benchmark"]] = data
    return found


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def ratio(a, b):
    return round(a / b, 3) if a is not None and b else None


def converge_section(data, ratios, out):
    b_a = ratio(data["converge_seconds"], data["floor_seconds"])
    c_b = ratio(data["second_converge_seconds"], data["converge_seconds"])
    ratios["converge / floor"] = b_a
    ratios["second converge / converge"] = c_b
    ratios["second converge changed"] = data.get("second_changed")
    out.append("## 1. Converge vs floor\n\n")
    rows = [["(a) floor: plain script (apt, venv with uv, MinIO copy)", "%.0f s" % data["floor_seconds"], ""],
            ["(b) first `site.yml` converge", "%.0f s" % data["converge_seconds"],
             "changed=%s" % data.get("first_changed", "?")],
            ["(c) second converge", "%.0f s" % data["second_converge_seconds"],
             "changed=%s" % data.get("second_changed", "?")]]
    for name, seconds in data.get("floor_steps", {}).items():
        rows.append(["  floor step: " + name, "%.0f s" % seconds, ""])
    out.append(table(["run", "time", "recap"], rows))
    out.append("\nb/a = **%s** (%s); c/b = **%s** (%s); second converge changed=%s\n\n" % (
        b_a, verdict("converge", b_a), c_b, verdict("rerun", c_b), data.get("second_changed")))
    for key, title in (("slowest_tasks_first", "first converge"), ("slowest_tasks_second", "second converge")):
        if data.get(key):
            out.append("Slowest tasks of the %s (ansible.posix.profile_tasks):\n\n" % title)
            out.append(table(["task", "s"], data[key]) + "\n")
    if data.get("package_differences"):
        out.append("Packages the roles installed by name but the floor script did not (or the reverse): %s\n\n"
                   % data["package_differences"])
    print("converge: floor %.0f s, converge %.0f s, second %.0f s (changed=%s)" % (
        data["floor_seconds"], data["converge_seconds"], data["second_converge_seconds"], data.get("second_changed")))
    print("  converge / floor = %s (%s)" % (b_a, verdict("converge", b_a)))
    print("  second / first   = %s (%s)" % (c_b, verdict("rerun", c_b)))


def tracking_section(data, ratios, out, directory):
    phases = data["phases"]
    index = {(p["operation"], p["clients"], p["target"]): p for p in phases}
    targets = data["targets"]
    out.append("## 2. Tracking API throughput\n\n%d requests per level and operation; log-batch carries %d metrics; "
               "each client thread keeps one connection alive.\n\n" % (
                   data["requests_per_level"], data["metrics_per_batch"]))
    rows = []
    for p in phases:
        rows.append([p["operation"], p["clients"], p["target"], p["rps"], p["p50_ms"], p["p99_ms"],
                     sum(p["errors"].values()) if p["errors"] else 0])
    out.append(table(["operation", "clients", "target", "req/s", "p50 ms", "p99 ms", "errors"], rows))
    errors = {"%s %s %d" % (p["operation"], p["target"], p["clients"]): p["errors"] for p in phases if p["errors"]}
    if errors:
        out.append("\nErrors by status: %s\n" % json.dumps(errors))
    out.append("\n")
    rrows = []
    print("tracking (req/s ratios, same run):")
    for operation in sorted({p["operation"] for p in phases}):
        for level in data["levels"]:
            row = [operation, level]
            for other, kind in (("direct", "nginx/direct"), ("stock", "nginx/stock")):
                if "nginx" in targets and other in targets:
                    value = ratio(index[(operation, level, "nginx")]["rps"], index[(operation, level, other)]["rps"])
                    ratios["%s %s %d clients" % (kind, operation, level)] = value
                    row.append("%s (%s)" % (value, verdict(kind, value)))
                    print("  %-11s %2d clients  %-12s = %s (%s)"
                          % (operation, level, kind, value, verdict(kind, value)))
                else:
                    row.append("n/a")
            rrows.append(row)
    out.append(table(["operation", "clients", "nginx / direct (req/s)", "nginx / stock (req/s)"], rrows))
    if data.get("probes"):
        out.append("\nWhere a request's time goes (one client, sequential calls, mean ms):\n\n")
        out.append(table(["probe", "mean ms", "p50 ms", "p99 ms", "answers"],
                         [[name, v["mean_ms"], v["p50_ms"], v["p99_ms"],
                           " ".join("%sx%s" % (n, status) for status, n in sorted(v.get("statuses", {}).items()))]
                          for name, v in data["probes"].items()]))
        breakdown = cost_breakdown(data["probes"])
        if breakdown:
            out.append("\n" + "; ".join("%s ≈ %.1f ms" % item for item in breakdown) + "\n")
            print("  cost of one request through nginx: " + "; ".join("%s ~ %.1f ms" % item for item in breakdown))
    out.append("\n")
    plot = plot_tracking(data, directory)
    if plot:
        out.append("![requests/s and p99 latency vs clients](%s)\n\n" % plot.name)


def cost_breakdown(probes):
    def mean(name):
        return probes[name]["mean_ms"] if name in probes else None

    parts = []
    noauth, wrong = mean("nginx 401, no credentials"), mean("nginx 401, wrong password")
    authed, direct = mean("nginx /health keep-alive"), mean("direct /health keep-alive")
    fresh, crypt = mean("nginx /health new connection per call"), mean("crypt(3) of the nginx htpasswd hash")
    if noauth is not None:
        parts.append(("TLS + nginx, kept-alive connection (401 without credentials)", noauth))
    if crypt is not None:
        parts.append(("basic-auth hash check (crypt(3) of the htpasswd entry)", crypt))
    elif wrong is not None and noauth is not None:
        parts.append(("basic-auth hash check (401 wrong password - 401 none)", wrong - noauth))
    if authed is not None and direct is not None:
        parts.append(("whole /health through nginx - direct", authed - direct))
    if fresh is not None and authed is not None:
        parts.append(("a new TLS connection per call (extra)", fresh - authed))
    return parts


def plot_tracking(data, directory):
    try:
        import matplotlib  # optional: no plot without it

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("  (no plot: matplotlib is not installed; pip install -r requirements-dev.txt)")
        return None
    operations = sorted({p["operation"] for p in data["phases"]})
    figure, axes = plt.subplots(2, len(operations), figsize=(6 * len(operations), 8), squeeze=False)
    for column, operation in enumerate(operations):
        for target in data["targets"]:
            points = sorted((p["clients"], p["rps"], p["p99_ms"]) for p in data["phases"]
                            if p["operation"] == operation and p["target"] == target)
            clients = [x[0] for x in points]
            axes[0][column].plot(clients, [x[1] or 0 for x in points], marker="o", label=target)
            axes[1][column].plot(clients, [x[2] or 0 for x in points], marker="o", label=target)
        for row, label in ((0, "requests/s"), (1, "p99 latency, ms")):
            axis = axes[row][column]
            axis.set_xscale("log", base=2)
            axis.set_xticks(data["levels"], [str(level) for level in data["levels"]])
            axis.set_xlabel("concurrent clients")
            axis.set_ylabel(label)
            axis.set_title(operation)
            axis.set_ylim(bottom=0)
            axis.grid(True, alpha=0.3)
            axis.legend()
    figure.tight_layout()
    path = directory / "tracking.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def artifacts_section(data, ratios, out):
    out.append("## 3. Artifact throughput\n\nMLflow client through nginx (proxied, spooled by MLflow) vs boto3 "
               "straight to MinIO; MB/s (median of %d round(s)); peak MLflow RSS growth and spool use.\n\n"
               % data["rounds"])
    rows = []
    print("artifacts (MB/s ratios, same run):")
    for entry in data["sizes"]:
        for direction in ("upload", "download"):
            mine, theirs = entry["mlflow " + direction], entry["boto3 " + direction]
            value = entry["ratio " + direction]
            ratios["artifacts %s %d MB" % (direction, entry["size_mb"])] = value
            rows.append([entry["size_mb"], direction, mine["mb_per_s"], theirs["mb_per_s"],
                         "%s (%s)" % (value, verdict("artifacts", value)),
                         mine["peak"]["mlflow_rss_growth_mb"], mine["peak"]["spool_peak_mb"]])
            print("  %5d MB %-8s mlflow %7.1f MB/s  boto3 %7.1f MB/s  ratio %s (%s)" % (
                entry["size_mb"], direction, mine["mb_per_s"], theirs["mb_per_s"], value,
                verdict("artifacts", value)))
    out.append(table(["size MB", "direction", "MLflow MB/s", "boto3 MB/s", "ratio", "MLflow RSS growth MB",
                      "spool peak MB"], rows))
    large = data.get("large")
    if large:
        growth = max(large["upload"]["mlflow_rss_growth_mb"], large["download"]["mlflow_rss_growth_mb"])
        ratios["large round trip ok"] = large["ok"]
        ratios["large MLflow RSS growth MB"] = growth
        out.append("\n%d GiB round trip through nginx/TLS/basic auth: sha256 %s; upload %.0f s (%.1f MB/s), download "
                   "%.0f s (%.1f MB/s); MLflow RSS growth %.0f MB (%s); spool (TMPDIR %s) peak %.0f MB up, %.0f MB "
                   "down; tmpfs growth %.0f / %.0f MB.\n" % (
                       large["gib"], "equal" if large["ok"] else "DIFFERENT", large["upload"]["seconds"],
                       large["upload"]["mb_per_s"], large["download"]["seconds"], large["download"]["mb_per_s"],
                       growth, verdict("large_rss", growth), data["spool_dir"], large["upload"]["spool_peak_mb"],
                       large["download"]["spool_peak_mb"], large["upload"]["tmpfs_growth_mb"],
                       large["download"]["tmpfs_growth_mb"]))
        print("  %d GiB round trip: sha256 %s, MLflow RSS growth %.0f MB (%s), spool peak %.0f MB" % (
            large["gib"], "equal" if large["ok"] else "DIFFERENT", growth, verdict("large_rss", growth),
            max(large["upload"]["spool_peak_mb"], large["download"]["spool_peak_mb"])))
    out.append("\n")


def footprint_section(entries, ratios, out):
    out.append("## 4. Footprint\n\nSum over each systemd unit's processes; PSS splits pages shared between "
               "forked workers, RSS counts them in every process. Idle: median of a few samples; under load: "
               "peak while the workload ran.\n\n")
    services = []
    for entry in entries:
        for service in entry["memory"]:
            if service not in services and service != "total":
                services.append(service)
    header = ["state"] + ["%s PSS / RSS MB" % s for s in services] + ["total PSS / RSS MB"]
    rows = []
    print("footprint:")
    for entry in entries:
        memory = entry["memory"]
        cells = ["%.0f / %.0f" % (memory[s]["pss_mb"], memory[s]["rss_mb"]) if s in memory else "-" for s in services]
        total = memory["total"]
        rows.append([entry["label"]] + cells + ["**%.0f** / %.0f" % (total["pss_mb"], total["rss_mb"])])
        line = "  %-34s total PSS %5.0f MB, RSS %5.0f MB" % (entry["label"], total["pss_mb"], total["rss_mb"])
        if entry["mode"] == "snapshot" and entry.get("job_runner") is False:
            ratios["idle total PSS MB (%s)" % entry["label"]] = total["pss_mb"]
            line += " (%s)" % verdict("idle", total["pss_mb"])
        print(line)
    out.append(table(header, rows))
    disks = [e for e in entries if e.get("disk_mb")]
    if disks:
        out.append("\nDisk: " + ", ".join("%s %.0f MB" % item for item in disks[0]["disk_mb"].items()) + ".\n")
    out.append("\n")


def main():
    directory = Path(sys.argv[1])
    data = load(directory)
    ratios, out = {}, ["# onprem.mlflow benchmark results (%s)\n\n" % directory.name]
    meta = directory / "meta.json"
    if meta.exists():
        info = json.loads(meta.read_text())
        out.append(table(["", ""], [[k, v] for k, v in info.items() if k != "benchmark"]) + "\n")
    if "converge" in data:
        converge_section(data["converge"], ratios, out)
    if "tracking" in data:
        tracking_section(data["tracking"], ratios, out, directory)
    if "artifacts" in data:
        artifacts_section(data["artifacts"], ratios, out)
    if data["footprint"]:
        footprint_section(data["footprint"], ratios, out)
    (directory / "results.md").write_text("".join(out))
    (directory / "ratios.json").write_text(json.dumps(ratios, indent=1))
    print("report: %s" % (directory / "results.md"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
