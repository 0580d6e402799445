#!/usr/bin/python3
"""Benchmark bs3lnet on the real scenes in ../shared/data/had/.

For each scene with a ground truth and each method (global RX, the fast mode
over several seeds, optionally the faithful protocol at N epochs) it runs the
`bs3lnet` command under /usr/bin/time and records AUC (printed by the command
against the file's own truth variable), wall and CPU seconds, peak RSS and
threads; then writes a CSV and a Markdown table with the published figures
from the data README beside ours.

  /usr/bin/python3 bench/run_bench.py [--scenes a.mat,b.mat] [--seeds 1,2,3]
      [--faithful-epochs 10 --faithful-scenes hydice-ii.mat] [--threads 2]
      [--methods rx,fast,faithful] [--merge]

--merge keeps the rows of bench/results/latest.csv that this run does not
redo, so a long faithful run can be added to an earlier table.
"""
import argparse
import csv
import os
import platform
import re
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HAD = os.path.join(ROOT, "..", "shared", "data", "had")
# This script's own GDAL reads the .mat files through the project's driver.
os.environ.setdefault("GDAL_DRIVER_PATH", os.path.join(ROOT, "build", "gdal_driver"))
ISSUE_SCENES = ["abu-airport-1.mat", "abu-airport-2.mat", "abu-airport-4.mat", "hydice-ii.mat",
                "sandiego_plane.mat", "aviris-i.mat"]
# Published AUCs from ../shared/data/had/README.md ("Published AUC on these files").
PUBLISHED = {"abu-airport-1.mat": {"RX": 0.8221, "BS3LNet": 0.8550, "best": 0.9793},
             "abu-airport-2.mat": {"RX": 0.8404, "BS3LNet": 0.8424, "best": 0.9942},
             "abu-airport-4.mat": {"RX": 0.9526, "BS3LNet": 0.9467, "best": 0.9978},
             "sandiego_plane.mat": {"RX": 0.9403, "best": 0.9917}}


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return "%s, %d cores, %s" % (cpu, os.cpu_count(), platform.platform())


def write_report(path, title, threads, seeds, command, lines):
    """A results page: title, machine, the command that made it, then lines; also printed."""
    text = ["# " + title, "", "Machine: %s. Threads: %d. Seeds: %s." % (machine(), threads, seeds), "",
            "    " + command, ""] + lines
    with open(path, "w") as f:
        f.write("\n".join(text) + "\n")
    print("\n".join(text))


def timed(cmd):
    """Runs cmd under /usr/bin/time; returns (stdout, wall s, cpu s, peak RSS MB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
        t0 = time.time()
        p = subprocess.run(["/usr/bin/time", "-o", t.name, "-f", "%U %S %M"] + cmd, capture_output=True, text=True,
                           env=env)
        wall = time.time() - t0
        if p.returncode != 0:
            raise RuntimeError("%s failed: %s" % (" ".join(cmd), p.stderr.strip()))
        user, sys_, rss = t.read().split()[-3:]
    return p.stdout, wall, float(user) + float(sys_), int(rss) / 1024


def has_truth(path):
    from osgeo import gdal
    gdal.UseExceptions()
    try:
        return len(gdal.Open(path).GetMetadata("SUBDATASETS")) >= 4  # a cube and a truth variable
    except RuntimeError:
        return False


def run_one(exe, scene, method, args, threads, out_dir):
    out = os.path.join(out_dir, "score.tif")
    cmd = [exe] + args[:1] + [os.path.join(HAD, scene), out] + args[1:] + ["--overwrite", "-q"]
    if args[0] != "rx":
        cmd += ["--threads", str(threads)]
    stdout, wall, cpu, rss = timed(cmd)
    m = re.search(r"AUC (\d\.\d+)", stdout)
    return {"scene": scene, "method": method, "auc": float(m.group(1)) if m else float("nan"), "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1), "peak_rss_mb": round(rss), "threads": 1 if args[0] == "rx" else threads,
            "command": " ".join(["bs3lnet"] + cmd[1:]).replace(out_dir + "/", "")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--exe", default=os.path.join(ROOT, "build", "plugin", "bs3lnet"))
    ap.add_argument("--scenes", default=",".join(ISSUE_SCENES), help="comma list, or 'all' (every file with a truth)")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--faithful-epochs", type=int, default=0, help="also run the paper's protocol for N epochs")
    ap.add_argument("--faithful-scenes", default="hydice-ii.mat")
    ap.add_argument("--methods", default="rx,fast,faithful", help="subset of rx,fast,faithful")
    ap.add_argument("--merge", action="store_true", help="keep other rows of the existing latest.csv")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    a = ap.parse_args()
    methods = a.methods.split(",")
    scenes = sorted(f for f in os.listdir(HAD) if f.endswith(".mat")) if a.scenes == "all" else a.scenes.split(",")
    scenes = [s for s in scenes if has_truth(os.path.join(HAD, s))]
    if not scenes:
        raise SystemExit("no scene with a ground truth found in %s" % HAD)
    seeds = [int(s) for s in a.seeds.split(",")]
    os.makedirs(a.out, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for scene in scenes:
            jobs = [("global RX", ["rx"])] if "rx" in methods else []
            if "fast" in methods:
                jobs += [("fast seed %d" % s, ["detect", "--seed", str(s), "--score", "mse"]) for s in seeds]
            if "faithful" in methods and a.faithful_epochs and scene in a.faithful_scenes.split(","):
                jobs += [("faithful %d epochs seed %d" % (a.faithful_epochs, s),
                          ["detect", "--mode", "faithful", "--epochs", str(a.faithful_epochs), "--normalize", "none",
                           "--seed", str(s)]) for s in seeds]
            for method, args in jobs:
                r = run_one(a.exe, scene, method, args, a.threads, tmp)
                rows.append(r)
                print("%-22s %-28s AUC %.4f  %6.1f s wall  %6.1f s cpu  %5d MB" %
                      (scene, method, r["auc"], r["wall_s"], r["cpu_s"], r["peak_rss_mb"]), flush=True)
    csv_path = os.path.join(a.out, "latest.csv")
    commands = [command_line(a)]
    if a.merge and os.path.exists(csv_path):
        done = {(r["scene"], r["method"]) for r in rows}
        with open(csv_path) as f:
            old = [r for r in csv.DictReader(f) if (r["scene"], r["method"]) not in done]
        for r in old:
            for k in ("auc", "wall_s", "cpu_s", "peak_rss_mb"):
                r[k] = float(r[k])
        rows = old + rows
        scenes = [s for s in ISSUE_SCENES + sorted({r["scene"] for r in rows}) if any(r["scene"] == s for r in rows)]
        scenes = list(dict.fromkeys(scenes))
        if os.path.exists(os.path.join(a.out, "commands.txt")):
            with open(os.path.join(a.out, "commands.txt")) as f:
                commands = [l.strip() for l in f if l.strip()] + commands
    with open(os.path.join(a.out, "commands.txt"), "w") as f:
        f.write("\n".join(commands) + "\n")
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    write_markdown(rows, scenes, a, commands, os.path.join(a.out, "latest.md"))


def command_line(a):
    line = "/usr/bin/python3 bench/run_bench.py --scenes %s --seeds %s --threads %d --methods %s" % (
        a.scenes, a.seeds, a.threads, a.methods)
    if a.faithful_epochs:
        line += " --faithful-epochs %d --faithful-scenes %s" % (a.faithful_epochs, a.faithful_scenes)
    return line + (" --merge" if a.merge else "")


def mean_of(rows, scene, prefix, key):
    v = [r[key] for r in rows if r["scene"] == scene and r["method"].startswith(prefix)]
    return (statistics.mean(v), min(v), max(v), len(v)) if v else None


def write_markdown(rows, scenes, a, commands, path):
    lines = ["# bs3lnet benchmark", "",
             "Machine: %s. Threads: %d. Date: %s." % (machine(), a.threads, time.strftime("%Y-%m-%d")),
             "Commands (in order; later ones `--merge` into the table):", ""]
    lines += ["    " + c for c in commands]
    lines += ["",
             "AUC against each file's own truth variable; fast = `bs3lnet detect` defaults (mean [min, max] over "
             "seeds); wall = end-to-end `bs3lnet` time (read, train, detect, write).", "",
             "| scene | RX AUC | fast AUC | fast wall s | fast peak RSS MB | faithful AUC | faithful wall s | "
             "published RX | published BS3LNet | best published |", "|---|---|---|---|---|---|---|---|---|---|"]
    for s in scenes:
        rx = mean_of(rows, s, "global RX", "auc")
        fa = mean_of(rows, s, "fast", "auc")
        fw = mean_of(rows, s, "fast", "wall_s")
        fr = mean_of(rows, s, "fast", "peak_rss_mb")
        fl = mean_of(rows, s, "faithful", "auc")
        flw = mean_of(rows, s, "faithful", "wall_s")
        pub = PUBLISHED.get(s, {})
        cell = lambda x, fmt="%.4f": (fmt % x[0] + (" [%s, %s]" % (fmt % x[1], fmt % x[2]) if x[3] > 1 else "")) if x else "-"
        lines.append("| `%s` | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            s, cell(rx), cell(fa), cell(fw, "%.0f"), cell(fr, "%.0f"), cell(fl), cell(flw, "%.0f"),
            pub.get("RX", "-"), pub.get("BS3LNet", "-"), pub.get("best", "-")))
    lines += ["", "Fast against faithful with the same seed (AUC):", ""]
    for s in scenes:
        pairs = []
        for r in rows:
            m = re.match(r"faithful (\d+) epochs seed (\d+)", r["method"])
            fast = [f for f in rows if f["scene"] == s and f["method"] == "fast seed %s" % (m.group(2) if m else "")]
            if r["scene"] == s and m and fast:
                pairs.append("seed %s: %.4f vs %.4f" % (m.group(2), fast[0]["auc"], r["auc"]))
        if pairs:
            lines.append("- `%s`: %s" % (s, "; ".join(pairs)))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
