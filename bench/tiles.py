#!/usr/bin/python3
"""The training tile against whole-scene training, per seed (issue 27, item 2).

  /usr/bin/python3 bench/tiles.py [--seeds 1,2,3] [--threads 2] [--default-csv bench/results/quality.csv]

The 100x100 scenes: `--tile 64` (a stand-in for flight lines) against the
default, which trains on the whole scene. The larger scenes: the default
(128-pixel tiles) against `--tile 160` (the whole scene). With --default-csv
the 100x100 defaults are read from a quality.py run instead of rerun (the
default does not touch the tile code on scenes within one tile).
Writes bench/results/tiles.md.
"""
import argparse
import csv
import os
import statistics
import tempfile

from quality import ALL_SCENES, DEFAULT, run, shape
from run_bench import HAD, ROOT, write_report


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exe", default=os.path.join(ROOT, "build", "plugin", "bs3lnet"))
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--default-csv", default="")
    ap.add_argument("--scenes", default="all", help="comma list, or 'all'")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "tiles.md"))
    a = ap.parse_args()
    seeds = a.seeds.split(",")
    known = {}
    if a.default_csv:
        for r in csv.DictReader(open(a.default_csv)):
            if r["method"] == DEFAULT:
                known[(r["scene"], r["seed"])] = (float(r["auc"]), float(r["pd_1e-2"]))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "s.tif")
        for scene in ALL_SCENES if a.scenes == "all" else a.scenes.split(","):
            h, w, _ = shape(scene)
            if (h, w) == (100, 100):
                pair = ("default (whole scene)", []), ("--tile 64", ["--tile", "64"])
            elif max(h, w) > 128:
                pair = ("default (128 tiles)", []), ("--tile 160", ["--tile", "160"])
            else:
                continue
            res = {}
            for name, extra in pair:
                for seed in seeds:
                    if not extra and (h, w) == (100, 100) and (scene, seed) in known:
                        res[(name, seed)] = known[(scene, seed)]
                        continue
                    r = run(a.exe, ["detect", os.path.join(HAD, scene), out, "--seed", seed] + extra, a.threads)
                    res[(name, seed)] = (r["auc"], r["pd_1e-2"])
                    print(scene, name, seed, res[(name, seed)], "%.0f s" % r["wall_s"], flush=True)
            m = [statistics.mean(res[(n, s)][0] for s in seeds) for n, _ in pair]
            pd = [statistics.mean(res[(n, s)][1] for s in seeds) for n, _ in pair]
            rows.append("| `%s` | %s | %s | %s | %+.4f | %.3f / %.3f |" % (
                scene, pair[0][0] + " / " + pair[1][0],
                " / ".join("%.4f" % res[(pair[0][0], s)][0] for s in seeds) + " (mean %.4f)" % m[0],
                " / ".join("%.4f" % res[(pair[1][0], s)][0] for s in seeds) + " (mean %.4f)" % m[1], m[1] - m[0],
                pd[0], pd[1]))
    write_report(a.out, "Training tiles against whole-scene training", a.threads, a.seeds,
                 "/usr/bin/python3 bench/tiles.py --seeds %s --threads %d%s%s" % (
                     a.seeds, a.threads, " --default-csv " + os.path.relpath(a.default_csv, ROOT) if a.default_csv else "",
                     "" if a.scenes == "all" else " --scenes " + a.scenes),
                 ["AUC of `bs3lnet detect` against each file's truth, per seed; Pd: detection rate at a background "
                  "false-alarm rate of 1e-2, mean over seeds.", "",
                  "| scene | compared | first, per seed | second, per seed | second - first (means) | "
                  "Pd@1e-2 first / second |", "|---|---|---|---|---|---|"] + rows)

if __name__ == "__main__":
    main()
