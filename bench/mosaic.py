#!/usr/bin/python3
"""A flight-line stand-in: four 100x100x205 AVIRIS scenes as one 200x200 scene.

  /usr/bin/python3 bench/mosaic.py [--seeds 1,2,3] [--threads 2]

abu-airport-1 (top left), abu-airport-2 (top right), abu-airport-3 (bottom
left) and abu-urban-4 (bottom right), all 100x100x205 AVIRIS, side by side:
larger than the 128-pixel training tile, with a truth in every quadrant.
Each training variant is scored per quadrant against that scene's truth
(AUC, Pd at a background false-alarm rate of 1e-2), with the default
(fused) output and with the network alone (`apply --score scaled`, same
network). Asks: does training with 128-pixel tiles on a scene larger than
the tile lose to whole-scene training, and do more steps close the gap?
Writes bench/results/mosaic.md.
"""
import argparse
import os
import statistics
import tempfile

import numpy as np
from osgeo import gdal

from fusion_screen import figures, load_mat, read_tif
from quality import run
from run_bench import ROOT, write_report

QUADRANTS = ["abu-airport-1.mat", "abu-airport-2.mat", "abu-airport-3.mat", "abu-urban-4.mat"]


def quadrant(q, h, w):
    """Rows and columns of quadrant q (0 top left, 1 top right, 2 bottom left, 3 bottom right)."""
    r, k = divmod(q, 2)
    return slice(r * h, (r + 1) * h), slice(k * w, (k + 1) * w)


def build_mosaic():
    """The four scenes side by side: cube (2h x 2w x bands, float32), truth (bool), h, w."""
    cubes, truths = zip(*(load_mat(s) for s in QUADRANTS))
    h, w, b = cubes[0].shape
    big = np.zeros((2 * h, 2 * w, b), np.float32)
    gt = np.zeros((2 * h, 2 * w), bool)
    for q, (c, t) in enumerate(zip(cubes, truths)):
        big[quadrant(q, h, w)] = c
        gt[quadrant(q, h, w)] = t.reshape(h, w)
    return big, gt, h, w


def write_mosaic(path, truth_path):
    big, gt, h, w = build_mosaic()
    b = big.shape[2]
    drv = gdal.GetDriverByName("GTiff")
    ds = drv.Create(path, 2 * w, 2 * h, b, gdal.GDT_Float32, ["INTERLEAVE=BAND", "TILED=YES"])
    for k in range(b):
        ds.GetRasterBand(k + 1).WriteArray(big[:, :, k])
    ds = None
    ds = drv.Create(truth_path, 2 * w, 2 * h, 1, gdal.GDT_Byte)
    ds.GetRasterBand(1).WriteArray(gt.astype(np.uint8))
    ds = None
    return gt, h, w


def per_quadrant(score_path, gt, h, w):
    s = read_tif(score_path)
    out = []
    for q in range(4):
        sl = quadrant(q, h, w)
        auc, pd2, _ = figures(gt[sl].reshape(-1), s[sl].reshape(-1))
        out.append((auc, pd2))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exe", default=os.path.join(ROOT, "build", "plugin", "bs3lnet"))
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--variants", default="300,default,whole")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "mosaic.md"))
    a = ap.parse_args()
    seeds = a.seeds.split(",")
    # Since 57d5f05 the default trains 300 visits per pixel: 732 steps here.
    known = {"300": ("128-pixel tiles, 300 steps", ["--steps", "300"]),
             "default": ("128-pixel tiles, default steps (732: 300 visits per pixel)", []),
             "whole": ("whole scene (--tile 200), 300 steps", ["--tile", "200"])}
    variants = [known[v] for v in a.variants.split(",")]
    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        src, truth = os.path.join(tmp, "mosaic.tif"), os.path.join(tmp, "truth.tif")
        out, net, model = os.path.join(tmp, "s.tif"), os.path.join(tmp, "n.tif"), os.path.join(tmp, "m.pt")
        gt, h, w = write_mosaic(src, truth)
        run(a.exe, ["rx", src, out, "--truth", truth], a.threads)
        res["global RX of the mosaic"] = {"-": per_quadrant(out, gt, h, w)}
        for name, extra in variants:
            res[name], res[name + ", network alone"] = {}, {}
            for seed in seeds:
                r = run(a.exe, ["detect", src, out, "--truth", truth, "--seed", seed, "--save-model", model] + extra,
                        a.threads)
                res[name][seed] = per_quadrant(out, gt, h, w)
                run(a.exe, ["apply", model, src, net, "--truth", truth, "--score", "scaled"], a.threads)
                res[name + ", network alone"][seed] = per_quadrant(net, gt, h, w)
                print(name, seed, "%.0f s" % r["wall_s"], ["%.4f" % x for x, _ in res[name][seed]],
                      ["%.4f" % x for x, _ in res[name + ", network alone"][seed]], flush=True)
    head = "| variant | " + " | ".join("`%s` AUC | Pd@1e-2" % s for s in QUADRANTS) + " | mean AUC |"
    rows = [head, "|---" * (2 + 2 * len(QUADRANTS)) + "|"]
    for name, by_seed in res.items():
        cells = []
        for q in range(4):
            aucs = [v[q][0] for v in by_seed.values()]
            pds = [v[q][1] for v in by_seed.values()]
            cells.append("%.4f [%.4f, %.4f] | %.3f" % (statistics.mean(aucs), min(aucs), max(aucs), statistics.mean(pds)))
        mean = statistics.mean(statistics.mean(v[q][0] for v in by_seed.values()) for q in range(4))
        rows.append("| %s | %s | %.4f |" % (name, " | ".join(cells), mean))
    write_report(a.out, "A flight-line stand-in: four AVIRIS scenes as one 200x200 mosaic", a.threads, a.seeds,
                 "/usr/bin/python3 bench/mosaic.py --seeds %s --threads %d --variants %s" % (
                     a.seeds, a.threads, a.variants),
                 ["Each quadrant scored against its own scene's truth: mean [min, max] over seeds of the AUC, mean "
                  "Pd at a background false-alarm rate of 1e-2. \"Network alone\": the same network scored with "
                  "`--score scaled`.", ""] + rows)

if __name__ == "__main__":
    main()
