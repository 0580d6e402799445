#!/usr/bin/python3
"""Detection quality on every real scene with a truth, against global RX.

For each scene in ../shared/data/had/ that carries a truth variable (15 files),
one run of this script measures, with the `bs3lnet` command:
  - global RX (`bs3lnet rx`);
  - for each seed, the default detector (`bs3lnet detect`, end-to-end wall
    time and peak RSS), saving its trained network;
  - on that same network, the other scores (`bs3lnet apply --score ...`);
  - optional training variants (`--train-variants "trim 0.02=--trim 0.02"`).
Then, per candidate: AUC per scene (mean [min, max] over seeds), wins against
RX with seed 1 and on the seed mean, the mean over scenes and the worst margin.

Split-half check: the scenes at odd positions of the issue's list choose the
candidate (best worst-margin against RX, then best mean) and the even ones
check it, then the other way round; the choice is made by this script, not by
hand.

  /usr/bin/python3 bench/quality.py [--seeds 1,2,3] [--threads 2] [--scenes all]

Calibration: every output here is in pfa units (`detect`/`apply` by default,
`rx --units pfa`; the AUC is that of the raw score), and `bs3lnet evaluate`
reads the observed background false-alarm rate at nominal 1e-2 and 1e-3.

Writes bench/results/quality.csv, quality.md and calibration.md.
"""
import json
import subprocess
import argparse
import csv
import os
import re
import statistics
import tempfile
import time

from run_bench import HAD, ROOT, has_truth, machine, timed

# The order of the list; the split halves are its odd/even positions.
SCENES = ["abu-airport-1.mat", "abu-airport-2.mat", "abu-airport-3.mat", "abu-airport-4.mat", "abu-beach-4_lren.mat",
          "hydice.mat", "hydice-ii.mat", "hydice_data_lren.mat", "urban_162band_bslhad.mat", "pavia_car.mat",
          "sandiego.mat", "sandiego_plane.mat", "aviris-i.mat", "sddata_georef.mat", "lhdata.mat"]
DEFAULT = "default (fused)"
# Other scores of the same trained network.
SCORES = {"fused, plain RX (the default before)": ["--stats", "scene", "--rx-purify", "0", "--rx-weight", "0.1"],
          "scaled": ["--score", "scaled"], "mse (paper's score)": ["--score", "mse"]}


def auc_of(stdout):
    m = re.search(r"AUC (\d\.\d+) \(against (.*)\)", stdout)
    return (float(m.group(1)), m.group(2)) if m else (float("nan"), "")


def run(exe, args, threads):
    cmd = [exe] + args + ["--overwrite", "-q"]
    if args[0] != "rx":
        cmd += ["--threads", str(threads)]
    out, wall, cpu, rss = timed(cmd)
    auc, truth = auc_of(out)
    r = {"auc": auc, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "peak_rss_mb": round(rss)}
    # Observed background false-alarm rate / nominal, from the written pfa scores.
    out_path = args[3] if args[0] == "apply" else args[2]
    ev = subprocess.run([exe, "evaluate", out_path, truth, "--json"], capture_output=True, text=True)
    j = json.loads(ev.stdout) if ev.returncode == 0 else {}
    r["far_ratio_1e-2"] = round(j.get("observed_far_at_1e-2", float("nan")) / 1e-2, 3)
    r["far_ratio_1e-3"] = round(j.get("observed_far_at_1e-3", float("nan")) / 1e-3, 3)
    return r


def measure(a, scenes, variants):
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out, model = os.path.join(tmp, "s.tif"), os.path.join(tmp, "m.pt")
        for scene in scenes:
            path = os.path.join(HAD, scene)
            jobs = [("global RX", None, ["rx", path, out, "--units", "pfa"])]
            for seed in a.seeds:
                sd = ["--seed", str(seed)]
                jobs.append((DEFAULT, seed, ["detect", path, out, "--save-model", model] + sd))
                jobs += [(name, seed, ["apply", model, path, out] + extra) for name, extra in SCORES.items()]
                jobs += [(name, seed, ["detect", path, out] + sd + extra) for name, extra in variants]
            for method, seed, args in jobs:
                r = dict(scene=scene, method=method, seed=seed or "", **run(a.exe, args, a.threads))
                r["command"] = "bs3lnet " + " ".join(x.replace(tmp + "/", "").replace(HAD + "/", "") for x in args)
                rows.append(r)
                print("%-26s %-22s %-4s AUC %.4f %6.1f s %5d MB" % (scene, method, seed or "", r["auc"], r["wall_s"],
                                                                     r["peak_rss_mb"]), flush=True)
    return rows


def summarise(rows, scenes):
    """{method: {scene: [auc per seed]}}"""
    out = {}
    for r in rows:
        out.setdefault(r["method"], {}).setdefault(r["scene"], []).append(float(r["auc"]))
    return out


def figures(auc, rx, scenes):
    """Mean AUC, worst margin against RX and wins, on the seed means and on seed 1."""
    mean = [statistics.mean(auc[s]) for s in scenes]
    first = [auc[s][0] for s in scenes]
    marg = [m - rx[s][0] for m, s in zip(mean, scenes)]
    return {"mean": statistics.mean(mean), "worst": min(marg), "worst_scene": scenes[marg.index(min(marg))],
            "wins": sum(m >= 0 for m in marg), "wins_seed1": sum(f >= rx[s][0] for f, s in zip(first, scenes)),
            "mean_seed1": statistics.mean(first), "n": len(scenes)}


def write(rows, scenes, a, cmd):
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "quality.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    res = summarise(rows, scenes)
    rx = res.pop("global RX")
    methods = list(res)
    cell = lambda v: "%.4f" % statistics.mean(v) + (" [%.4f, %.4f]" % (min(v), max(v)) if len(v) > 1 else "")
    wall = lambda s: statistics.mean(r["wall_s"] for r in rows if r["scene"] == s and r["method"] == DEFAULT)
    rss = lambda s: max(r["peak_rss_mb"] for r in rows if r["scene"] == s and r["method"] == DEFAULT)
    L = ["# Detection quality against global RX", "",
         "Machine: %s. Threads: %d. Date: %s. Seeds: %s." % (machine(), a.threads, time.strftime("%Y-%m-%d"),
                                                           ",".join(map(str, a.seeds))),
         "", "    " + cmd, "",
         "AUC from the `bs3lnet` command against each file's own truth variable, mean [min, max] over seeds. "
         "The scores other than the default are those of the same trained network (`bs3lnet apply --score ...`). "
         "Wall: end-to-end `bs3lnet detect` (read, train, detect, write), mean over seeds; RSS: the largest peak.", "",
         "| scene | global RX | " + " | ".join(methods) + " | default wall s | default peak RSS MB |",
         "|---" * (len(methods) + 4) + "|"]
    for s in scenes:
        L.append("| `%s` | %.4f | %s | %.0f | %d |" % (s, rx[s][0], " | ".join(cell(res[m][s]) for m in methods),
                                                       wall(s), rss(s)))
    L += ["", "| candidate | mean AUC (seed mean) | mean AUC (seed 1) | wins vs RX (seed mean) | wins vs RX (seed 1) "
          "| worst margin vs RX (seed mean) |", "|---|---|---|---|---|---|"]
    for m in methods:
        f = figures(res[m], rx, scenes)
        L.append("| %s | %.4f | %.4f | %d/%d | %d/%d | %+.4f (`%s`) |" % (m, f["mean"], f["mean_seed1"], f["wins"], f["n"],
                                                                       f["wins_seed1"], f["n"], f["worst"],
                                                                       f["worst_scene"]))
    halves = {"odd": [s for s in SCENES[0::2] if s in scenes], "even": [s for s in SCENES[1::2] if s in scenes]}
    L += ["", "Split-half check: each half chooses the candidate with the best worst margin against RX (then the "
          "best mean) on its own scenes; the other half checks it.", "",
          "| chosen on | chosen | its worst margin there | checked on | mean AUC there | worst margin there "
          "| wins there |", "|---|---|---|---|---|---|---|"]
    for pick, check in (("odd", "even"), ("even", "odd")):
        if not halves[pick] or not halves[check]:
            continue
        best = max(methods, key=lambda m: (round(figures(res[m], rx, halves[pick])["worst"], 4),
                                           figures(res[m], rx, halves[pick])["mean"]))
        fp, fc = figures(res[best], rx, halves[pick]), figures(res[best], rx, halves[check])
        L.append("| %s (%s) | %s | %+.4f | %s | %.4f | %+.4f (`%s`) | %d/%d |" % (
            pick, ", ".join(halves[pick]), best, fp["worst"], check, fc["mean"], fc["worst"], fc["worst_scene"],
            fc["wins"], fc["n"]))
    with open(os.path.join(a.out, "quality.md"), "w") as f:
        f.write("\n".join(L) + "\n")
    print("\n".join(L))
    write_calibration(rows, scenes, a, cmd)


def write_calibration(rows, scenes, a, cmd):
    """Observed/nominal background false-alarm rates per scene, and how many
    scenes fall within a factor of 2, per method, seed 1 and every seed."""
    ok = lambda v: 0.5 <= v <= 2
    get = lambda m, s, seed, k: next(float(r[k]) for r in rows if r["method"] == m and r["scene"] == s
                                     and str(r["seed"]) == str(seed))
    methods = ["global RX", DEFAULT] + [m for m in dict.fromkeys(r["method"] for r in rows)
                                        if m not in ("global RX", DEFAULT)]
    first = str(a.seeds[0])
    seed_of = lambda m: "" if m == "global RX" else first
    L = ["# Calibrated scores: observed against nominal false-alarm rate", "",
         "Machine: %s. Date: %s. From the same run as quality.md:" % (machine(), time.strftime("%Y-%m-%d")), "",
         "    " + cmd, "",
         "Each output in pfa units (`-log10` of the estimated false-alarm probability; `rx --units pfa`) was "
         "thresholded at 2 and 3 (nominal 1e-2 and 1e-3) by `bs3lnet evaluate`; the table gives the observed "
         "share of background (truth 0) pixels at or above, divided by the nominal rate (1 = exact; * = outside "
         "a factor of 2). Seed %s for the network." % first, "",
         "| scene | " + " | ".join("%s 1e-2 | %s 1e-3" % (m, m) for m in methods[:2]) + " |",
         "|---" * 5 + "|"]
    for s in scenes:
        cells = []
        for m in methods[:2]:
            for k in ("far_ratio_1e-2", "far_ratio_1e-3"):
                v = get(m, s, seed_of(m), k)
                cells.append("%.2f%s" % (v, "" if ok(v) else " *"))
        L.append("| `%s` | %s |" % (s, " | ".join(cells)))
    halves = {"odd": SCENES[0::2], "even": SCENES[1::2]}
    L += ["", "Scenes within a factor of 2 (seed %s for the network; the other seeds in brackets):" % first, "",
          "| method | at 1e-2 | at 1e-3 | odd half 1e-2 / 1e-3 | even half 1e-2 / 1e-3 |", "|---|---|---|---|---|"]
    for m in methods:
        seeds = [""] if m == "global RX" else [str(x) for x in a.seeds]
        count = lambda k, seed, sc: sum(ok(get(m, s, seed, k)) for s in sc if s in scenes)
        cell = lambda k, sc: "%d/%d" % (count(k, seeds[0], sc), len([s for s in sc if s in scenes])) + (
            " [%s]" % ", ".join(str(count(k, x, sc)) for x in seeds[1:]) if len(seeds) > 1 else "")
        L.append("| %s | %s | %s | %s / %s | %s / %s |" % (
            m, cell("far_ratio_1e-2", scenes), cell("far_ratio_1e-3", scenes),
            cell("far_ratio_1e-2", halves["odd"]), cell("far_ratio_1e-3", halves["odd"]),
            cell("far_ratio_1e-2", halves["even"]), cell("far_ratio_1e-3", halves["even"])))
    with open(os.path.join(a.out, "calibration.md"), "w") as f:
        f.write("\n".join(L) + "\n")
    print("\n".join(L))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--exe", default=os.path.join(ROOT, "build", "plugin", "bs3lnet"))
    ap.add_argument("--scenes", default="all", help="comma list, or 'all' (the 15 files with a truth)")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--train-variants", default="",
                    help="semicolon list of NAME=OPTIONS, each trained and scored with the default score")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    a = ap.parse_args()
    a.seeds = [int(s) for s in a.seeds.split(",")]
    scenes = SCENES if a.scenes == "all" else a.scenes.split(",")
    missing = [s for s in scenes if not os.path.exists(os.path.join(HAD, s))]
    if missing:
        raise SystemExit("missing in %s: %s" % (HAD, ", ".join(missing)))
    scenes = [s for s in scenes if has_truth(os.path.join(HAD, s))]
    variants = [(v.split("=", 1)[0].strip(), v.split("=", 1)[1].split()) for v in a.train_variants.split(";") if v]
    cmd = "/usr/bin/python3 bench/quality.py --seeds %s --threads %d%s%s" % (
        ",".join(map(str, a.seeds)), a.threads, "" if a.scenes == "all" else " --scenes " + a.scenes,
        ' --train-variants "%s"' % a.train_variants if a.train_variants else "")
    write(measure(a, scenes, variants), scenes, a, cmd)


if __name__ == "__main__":
    main()
