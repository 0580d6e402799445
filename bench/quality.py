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
# Scene families (issue 27): leave-one-family-out choices judge each family
# on settings chosen without it.
FAMILIES = {"LA airports": ["abu-airport-1.mat", "abu-airport-2.mat", "abu-airport-3.mat"],
            "Gulfport": ["abu-airport-4.mat"],
            "beaches": ["abu-beach-1.mat", "abu-beach-2.mat"],
            "Pavia": ["abu-beach-4_lren.mat", "pavia_car.mat"],
            "urban ABU": ["abu-urban-4.mat"],
            "HYDICE": ["hydice.mat", "hydice-ii.mat", "hydice_data_lren.mat", "urban_162band_bslhad.mat",
                       "hydice-urban_175.mat"],
            "San Diego": ["sandiego.mat", "sandiego_plane.mat", "aviris-i.mat", "sddata_georef.mat"],
            "LH": ["lhdata.mat"]}
ALL_SCENES = [s for f in FAMILIES.values() for s in f]
DEFAULT = "default (fused, auto)"
OLD = "previous release (a964f23)"
# Other scores of the same trained network: the previous default's exactly
# (b5086a1: the purified RX term on every principal direction, weight 0.2),
# refitted on the scene as detect does.
SCORES = {"previous default (b5086a1)": ["--stats", "scene", "--rx-rank", "0"]}


def shape(scene):
    from osgeo import gdal
    gdal.UseExceptions()
    ds = gdal.Open(os.path.join(HAD, scene))
    for k, v in ds.GetMetadata("SUBDATASETS").items():
        if k.endswith("_NAME"):
            d = gdal.Open(v)
            if d.RasterCount > 1:
                return d.RasterYSize, d.RasterXSize, d.RasterCount
    return ds.RasterYSize, ds.RasterXSize, ds.RasterCount


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
    # Detection rates at fixed background false-alarm rates, and observed /
    # nominal false-alarm rates, from the written pfa scores.
    out_path = args[3] if args[0] == "apply" else args[2]
    ev = subprocess.run([exe, "evaluate", out_path, truth, "--json"], capture_output=True, text=True)
    j = json.loads(ev.stdout) if ev.returncode == 0 else {}
    for k in ("1e-3", "1e-2"):
        r["pd_" + k] = round(j.get("pd_at_far_" + k, float("nan")), 4)
        r["far_ratio_" + k] = round(j.get("observed_far_at_" + k, float("nan")) / float(k), 3)
    return r


def measure(a, scenes, variants):
    """Per scene: RX, then per seed the default (its network saved) and the
    other scores of that network; the previous release on a few scenes.
    The previous release and the training variants (seed 1) run after every
    scene's default."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out, model = os.path.join(tmp, "s.tif"), os.path.join(tmp, "m.pt")
        jobs, later = [], []
        for scene in scenes:
            path = os.path.join(HAD, scene)
            jobs.append((scene, a.exe, "global RX", None, ["rx", path, out, "--units", "pfa"]))
            for seed in a.seeds:
                sd = ["--seed", str(seed)]
                jobs.append((scene, a.exe, DEFAULT, seed, ["detect", path, out, "--save-model", model] + sd))
                jobs += [(scene, a.exe, name, seed, ["apply", model, path, out] + extra)
                         for name, extra in SCORES.items()]
            if a.old_exe and scene in a.old_scenes:
                later.append((scene, a.old_exe, OLD, a.seeds[0], ["detect", path, out, "--seed", str(a.seeds[0])]))
            later += [(scene, a.exe, name, a.seeds[0], ["detect", path, out, "--seed", str(a.seeds[0])] + extra)
                      for name, extra, only in variants if only(scene)]
        for scene, exe, method, seed, args in jobs + later:
            r = dict(scene=scene, method=method, seed=seed or "", **run(exe, args, a.threads))
            r["command"] = "bs3lnet " + " ".join(x.replace(tmp + "/", "").replace(HAD + "/", "") for x in args)
            rows.append(r)
            print("%-26s %-36s %-4s AUC %.4f Pd@1e-2 %.3f %6.1f s %5d MB" % (
                scene, method, seed or "", r["auc"], r["pd_1e-2"], r["wall_s"], r["peak_rss_mb"]), flush=True)
    return rows


def by(rows, method, key="auc"):
    """{scene: [value per seed]} of one method."""
    out = {}
    for r in rows:
        if r["method"] == method:
            out.setdefault(r["scene"], []).append(float(r[key]))
    return out


def figures(auc, pd, rx, rx_pd, scenes):
    """Mean AUC, worst margin against RX and wins (AUC, and Pd at 1e-2), on
    the seed means and on the first seed."""
    scenes = [s for s in scenes if s in auc]
    mean = [statistics.mean(auc[s]) for s in scenes]
    first = [auc[s][0] for s in scenes]
    marg = [m - rx[s][0] for m, s in zip(mean, scenes)]
    pmean = [statistics.mean(pd[s]) for s in scenes]
    return {"mean": statistics.mean(mean), "worst": min(marg), "worst_scene": scenes[marg.index(min(marg))],
            "wins": sum(m >= 0 for m in marg), "wins_seed1": sum(f >= rx[s][0] for f, s in zip(first, scenes)),
            "mean_seed1": statistics.mean(first), "n": len(scenes),
            "pd_wins": sum(p >= rx_pd[s][0] for p, s in zip(pmean, scenes)),
            "pd_wins_seed1": sum(pd[s][0] >= rx_pd[s][0] for s in scenes), "pd_mean": statistics.mean(pmean)}


def write(rows, scenes, a, cmd):
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "quality.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    methods = [m for m in dict.fromkeys(r["method"] for r in rows) if m != "global RX"]
    auc = {m: by(rows, m) for m in methods + ["global RX"]}
    pd2 = {m: by(rows, m, "pd_1e-2") for m in methods + ["global RX"]}
    pd3 = {m: by(rows, m, "pd_1e-3") for m in methods + ["global RX"]}
    rx, rx2, rx3 = auc.pop("global RX"), pd2.pop("global RX"), pd3.pop("global RX")
    main = [m for m in methods if all(s in auc[m] for s in scenes)]
    cell = lambda v: "%.4f" % statistics.mean(v) + (" [%.4f, %.4f]" % (min(v), max(v)) if len(v) > 1 else "")
    pcell = lambda m, s: "%.3f / %.3f" % (statistics.mean(pd2[m][s]), statistics.mean(pd3[m][s]))
    wall = lambda m, s: statistics.mean(r["wall_s"] for r in rows if r["scene"] == s and r["method"] == m)
    rss = lambda s: max(r["peak_rss_mb"] for r in rows if r["scene"] == s and r["method"] == DEFAULT)
    L = ["# Detection quality against global RX", "",
         "Machine: %s. Threads: %d. Date: %s. Seeds: %s. Commit: %s." % (
             machine(), a.threads, time.strftime("%Y-%m-%d"), ",".join(map(str, a.seeds)), a.commit),
         "", "    " + cmd, "",
         "AUC from the `bs3lnet` command against each file's own truth variable, mean [min, max] over seeds. "
         "Pd: detection rate (share of truth pixels detected) at background false-alarm rates 1e-2 / 1e-3, "
         "mean over seeds (`bs3lnet evaluate`). The scores other than the default are those of the same "
         "trained network (`bs3lnet apply`). Wall: end-to-end `bs3lnet detect` (read, train, detect, write), "
         "mean over seeds; RSS: the largest peak.", "",
         "| scene | global RX AUC | RX Pd | " + " | ".join("%s AUC | Pd" % m for m in main) +
         " | default wall s | default peak RSS MB |", "|---" * (2 * len(main) + 5) + "|"]
    for s in scenes:
        L.append("| `%s` | %.4f | %.3f / %.3f | %s | %.0f | %d |" % (
            s, rx[s][0], rx2[s][0], rx3[s][0], " | ".join("%s | %s" % (cell(auc[m][s]), pcell(m, s)) for m in main),
            wall(DEFAULT, s), rss(s)))
    L += ["", "| candidate | mean AUC (seed mean) | mean AUC (seed 1) | AUC >= RX (seed mean) | AUC >= RX (seed 1) "
          "| Pd@1e-2 >= RX (seed mean) | Pd@1e-2 >= RX (seed 1) | mean Pd@1e-2 | worst AUC margin vs RX (seed mean) |",
          "|---|---|---|---|---|---|---|---|---|"]
    for m in main:
        f = figures(auc[m], pd2[m], rx, rx2, scenes)
        L.append("| %s | %.4f | %.4f | %d/%d | %d/%d | %d/%d | %d/%d | %.3f | %+.4f (`%s`) |" % (
            m, f["mean"], f["mean_seed1"], f["wins"], f["n"], f["wins_seed1"], f["n"], f["pd_wins"], f["n"],
            f["pd_wins_seed1"], f["n"], f["pd_mean"], f["worst"], f["worst_scene"]))
    L += ["", "The default per scene family (the families of issue 27; the default's rules were chosen with "
          "leave-one-family-out checks: bench/results/fusion_screen.md, and the section \"subspace RX\" of "
          "bench/results/quality_screening.md):", "",
          "| family | scenes | mean AUC | AUC >= RX | Pd@1e-2 >= RX | worst margin |", "|---|---|---|---|---|---|"]
    for fam, sc in FAMILIES.items():
        sc = [s for s in sc if s in scenes]
        if sc:
            f = figures(auc[DEFAULT], pd2[DEFAULT], rx, rx2, sc)
            L.append("| %s | %d | %.4f | %d/%d | %d/%d | %+.4f (`%s`) |" % (
                fam, len(sc), f["mean"], f["wins"], f["n"], f["pd_wins"], f["n"], f["worst"], f["worst_scene"]))
    extra = [m for m in methods if m not in main]
    if extra:
        L += ["", "Variants (seed %d, the scenes each applies to; the default with the same seed beside):" % a.seeds[0],
              "", "| variant | scene | AUC | default AUC | Pd@1e-2 / 1e-3 | wall s | default wall s |",
              "|---|---|---|---|---|---|---|"]
        for m in extra:
            for s in auc[m]:
                L.append("| %s | `%s` | %.4f | %.4f | %s | %.0f | %.0f |" % (m, s, auc[m][s][0], auc[DEFAULT][s][0],
                                                                      pcell(m, s), wall(m, s), wall(DEFAULT, s)))
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
    methods = ["global RX", DEFAULT] + [m for m in SCORES]
    first = str(a.seeds[0])
    seed_of = lambda m: "" if m == "global RX" else first
    L = ["# Calibrated scores: observed against nominal false-alarm rate", "",
         "Machine: %s. Date: %s. Commit: %s. From the same run as quality.md:" % (
             machine(), time.strftime("%Y-%m-%d"), a.commit), "",
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
    L += ["", "Scenes within a factor of 2 (seed %s for the network; the other seeds in brackets):" % first, "",
          "| method | at 1e-2 | at 1e-3 |", "|---|---|---|"]
    for m in methods:
        seeds = [""] if m == "global RX" else [str(x) for x in a.seeds]
        count = lambda k, seed, sc: sum(ok(get(m, s, seed, k)) for s in sc if s in scenes)
        cell = lambda k, sc: "%d/%d" % (count(k, seeds[0], sc), len([s for s in sc if s in scenes])) + (
            " [%s]" % ", ".join(str(count(k, x, sc)) for x in seeds[1:]) if len(seeds) > 1 else "")
        L.append("| %s | %s | %s |" % (m, cell("far_ratio_1e-2", scenes), cell("far_ratio_1e-3", scenes)))
    with open(os.path.join(a.out, "calibration.md"), "w") as f:
        f.write("\n".join(L) + "\n")
    print("\n".join(L))


def commit():
    """The checkout's commit, marked when its tracked files differ from it."""
    git = lambda *c: subprocess.run(["git", "-C", ROOT] + list(c), capture_output=True, text=True).stdout.strip()
    return (git("rev-parse", "--short", "HEAD") or "unknown") + (" (modified)" if git("status", "--porcelain", "-uno") else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--exe", default=os.path.join(ROOT, "build", "plugin", "bs3lnet"))
    ap.add_argument("--scenes", default="all", help="comma list, or 'all' (the 19 files with a truth)")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tiles", action="store_true",
                    help="also, seed 1: --tile 64 on the 100x100 scenes, --tile 160 on the larger ones")
    ap.add_argument("--old-exe", default="", help="the previous release's bs3lnet, timed on --old-scenes (seed 1)")
    ap.add_argument("--old-scenes", default="abu-airport-1.mat,abu-urban-4.mat,sandiego_plane.mat")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    a = ap.parse_args()
    a.seeds = [int(s) for s in a.seeds.split(",")]
    scenes = ALL_SCENES if a.scenes == "all" else a.scenes.split(",")
    a.old_scenes = a.old_scenes.split(",")
    a.commit = commit()
    missing = [s for s in scenes if not os.path.exists(os.path.join(HAD, s))]
    if missing:
        raise SystemExit("missing in %s: %s" % (HAD, ", ".join(missing)))
    scenes = [s for s in scenes if has_truth(os.path.join(HAD, s))]
    variants = [("--tile 64", ["--tile", "64"], lambda s: shape(s)[:2] == (100, 100)),
                ("--tile 160", ["--tile", "160"], lambda s: max(shape(s)[:2]) > 128)] if a.tiles else []
    cmd = "/usr/bin/python3 bench/quality.py --seeds %s --threads %d%s%s%s" % (
        ",".join(map(str, a.seeds)), a.threads, "" if a.scenes == "all" else " --scenes " + a.scenes,
        " --tiles" if a.tiles else "", " --old-exe OLD/bs3lnet" if a.old_exe else "")
    write(measure(a, scenes, variants), scenes, a, cmd)


if __name__ == "__main__":
    main()
