#!/usr/bin/python3
"""Flight-line stand-ins: real scenes of one sensor side by side as one scene.

  /usr/bin/python3 bench/mosaic.py [--layout airports|hydice|sandiego] [--seeds 1,2,3] [--threads 2]

Layouts (each piece keeps its own truth; rows cropped to their shortest piece):
- airports: abu-airport-1 | abu-airport-2 over abu-airport-3 | abu-urban-4
  (100x100x205 AVIRIS each): 200x200, the fused score's blocks on the pieces.
- hydice: hydice | hydice-ii (HYDICE, 162 bands): 80x160, blocks of 80
  columns across the pieces' edge at column 100.
- sandiego: sandiego_plane | sandiego (AVIRIS, 189 bands): 100x200.
Each training variant is scored per piece against that piece's truth (AUC,
Pd at a background false-alarm rate of 1e-2) with the default (fused)
output, with the network alone (`apply --score scaled`, same network), and,
for the default variant, with one weight for the whole scene
(`apply --rx-all-weight W`, W the scene's own rule weight: the fused default
before the weight per block). Writes bench/results/mosaic_LAYOUT.md
(bench/results/mosaic.md: the airports at 3f49028, before the steps and
weights per area and block).
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

LAYOUTS = {
    "airports": [["abu-airport-1.mat", "abu-airport-2.mat"], ["abu-airport-3.mat", "abu-urban-4.mat"]],
    "hydice": [["hydice.mat", "hydice-ii.mat"]],
    "sandiego": [["sandiego_plane.mat", "sandiego.mat"]],
}
QUADRANTS = [s for row in LAYOUTS["airports"] for s in row]


def quadrant(q, h, w):
    """Rows and columns of quadrant q of the airports layout (0 top left ... 3 bottom right)."""
    r, k = divmod(q, 2)
    return slice(r * h, (r + 1) * h), slice(k * w, (k + 1) * w)


def build(layout):
    """The pieces side by side: cube (rows x cols x bands, float32), truth (bool), [(scene, slices)]."""
    rows, places, top = [], [], 0
    for row in LAYOUTS[layout]:
        pieces = [load_mat(s) for s in row]
        h = min(c.shape[0] for c, _ in pieces)
        cubes, truths, left = [], [], 0
        for s, (c, t) in zip(row, pieces):
            cubes.append(c[:h])
            truths.append(t.reshape(c.shape[:2])[:h])
            places.append((s, (slice(top, top + h), slice(left, left + c.shape[1]))))
            left += c.shape[1]
        rows.append((np.concatenate(cubes, 1), np.concatenate(truths, 1)))
        top += h
    cube = np.concatenate([c for c, _ in rows], 0).astype(np.float32)
    return cube, np.concatenate([t for _, t in rows], 0).astype(bool), places


def build_mosaic():
    """The airports layout: cube, truth, h, w (one quadrant's size)."""
    cube, gt, _ = build("airports")
    return cube, gt, cube.shape[0] // 2, cube.shape[1] // 2


def write_scene(path, truth_path, cube, gt):
    drv = gdal.GetDriverByName("GTiff")
    ds = drv.Create(path, cube.shape[1], cube.shape[0], cube.shape[2], gdal.GDT_Float32,
                    ["INTERLEAVE=BAND", "TILED=YES"])
    for k in range(cube.shape[2]):
        ds.GetRasterBand(k + 1).WriteArray(cube[:, :, k])
    ds = None
    ds = drv.Create(truth_path, cube.shape[1], cube.shape[0], 1, gdal.GDT_Byte)
    ds.GetRasterBand(1).WriteArray(gt.astype(np.uint8))
    ds = None


def per_piece(score_path, gt, places):
    s = read_tif(score_path)
    return [figures(gt[sl].reshape(-1), s[sl].reshape(-1))[:2] for _, sl in places]


def fusion_of(path):
    ds = gdal.Open(path)
    return ds.GetRasterBand(1).GetMetadataItem("BS3LNET_FUSION") or ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exe", default=os.path.join(ROOT, "build", "plugin", "bs3lnet"))
    ap.add_argument("--layout", default="airports", choices=sorted(LAYOUTS))
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--variants", default="300,default,whole")
    ap.add_argument("--out")
    a = ap.parse_args()
    out_md = a.out or os.path.join(ROOT, "bench", "results", "mosaic_%s.md" % a.layout)
    seeds = a.seeds.split(",")
    cube, gt, places = build(a.layout)
    H, W = gt.shape
    known = {"300": ("128-pixel tiles, 300 steps", ["--steps", "300"]),
             "default": ("default", []),
             "whole": ("whole scene (--tile %d), 300 steps" % max(H, W), ["--tile", str(max(H, W))])}
    variants = [(v,) + known[v] for v in a.variants.split(",")]
    res, fusions = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        src, truth = os.path.join(tmp, "mosaic.tif"), os.path.join(tmp, "truth.tif")
        out, net, model = os.path.join(tmp, "s.tif"), os.path.join(tmp, "n.tif"), os.path.join(tmp, "m.pt")
        write_scene(src, truth, cube, gt)
        run(a.exe, ["rx", src, out, "--truth", truth], a.threads)
        res["global RX of the scene"] = {"-": per_piece(out, gt, places)}
        for key, name, extra in variants:
            res[name], res[name + ", network alone"] = {}, {}
            one = name + ", one weight for the whole scene (the fused default before dccf3b6)"
            for seed in seeds:
                r = run(a.exe, ["detect", src, out, "--truth", truth, "--seed", seed, "--save-model", model] + extra,
                        a.threads)
                res[name][seed] = per_piece(out, gt, places)
                fusion = fusion_of(out)
                run(a.exe, ["apply", model, src, net, "--truth", truth, "--score", "scaled"], a.threads)
                res[name + ", network alone"][seed] = per_piece(net, gt, places)
                line = [name, seed, "%.0f s" % r["wall_s"], ["%.4f" % x for x, _ in res[name][seed]],
                        ["%.4f" % x for x, _ in res[name + ", network alone"][seed]]]
                if key == "default":
                    fusions.append("seed %s: %s" % (seed, fusion))
                    w = fusion.split("-> weight ")[1].split()[0]
                    run(a.exe, ["apply", model, src, net, "--truth", truth, "--rx-all-weight", w], a.threads)
                    res.setdefault(one, {})[seed] = per_piece(net, gt, places)
                    line.append(["%.4f" % x for x, _ in res[one][seed]])
                print(*line, flush=True)
    names = [s for s, _ in places]
    head = "| variant | " + " | ".join("`%s` AUC | Pd@1e-2" % s for s in names) + " | mean AUC |"
    rows = [head, "|---" * (2 + 2 * len(names)) + "|"]
    for name, by_seed in res.items():
        cells = []
        for q in range(len(names)):
            aucs = [v[q][0] for v in by_seed.values()]
            pds = [v[q][1] for v in by_seed.values()]
            cells.append("%.4f [%.4f, %.4f] | %.3f" % (statistics.mean(aucs), min(aucs), max(aucs), statistics.mean(pds)))
        mean = statistics.mean(statistics.mean(v[q][0] for v in by_seed.values()) for q in range(len(names)))
        rows.append("| %s | %s | %.4f |" % (name, " | ".join(cells), mean))
    layout = " over ".join(" | ".join("`%s`" % s for s in row) for row in LAYOUTS[a.layout])
    write_report(out_md, "A flight-line stand-in: %s as one %dx%d scene" % (layout, H, W), a.threads, a.seeds,
                 "/usr/bin/python3 bench/mosaic.py --layout %s --seeds %s --threads %d --variants %s" % (
                     a.layout, a.seeds, a.threads, a.variants),
                 ["Each piece scored against its own scene's truth: mean [min, max] over seeds of the AUC, mean "
                  "Pd at a background false-alarm rate of 1e-2. \"Network alone\": the same network scored with "
                  "`--score scaled`. \"One weight for the whole scene\": the same network scored with "
                  "`apply --rx-all-weight W`, W the rule's weight for the whole scene (as the default scored "
                  "every scene before the weight per block).", ""] + rows +
                 ["", "The default's fusion, as its output's metadata gives it:", ""] + ["- " + f for f in fusions])


if __name__ == "__main__":
    main()
