#!/usr/bin/env python3
"""Real scenes with bad bands or stray values added: the default against global RX.

    /usr/bin/python3 bench/stray_values.py [--exe build/plugin/bs3lnet] [--variants clean,water,wild,spiky,...]
                                           [--seed 1] [--threads 2] SCENE.mat ...

Variants (the added bands go in at 45% and 65% of the band range):
  clean  the scene as it is;
  water  24 absorbed bands: 3% of a neighbour band plus sensor noise of the same size;
  wild   24 uncalibrated bands: noise as large as the whole scene's spread;
  spiky  2 bands holding a neighbour band with 0.1% of its values at 100 times the scene's maximum
         (dead or saturated detector elements, an undeclared fill value);
  border 0 in every band over a corner triangle (about 6% of the pixels), as an orthorectified
         line's fill border, left undeclared; border0: the same declared (--nodata 0).
Prints one markdown row per scene and variant: AUC and Pd@1e-2 of the default and of global RX,
against the file's own truth (on the scene's own pixels: the border's are left out). Scenes are read from ../shared/data/had/ unless a path is given.
"""
import argparse, os, subprocess, sys, tempfile
import numpy as np, scipy.io as sio
from osgeo import gdal
from sklearn.metrics import roc_auc_score

HAD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "had")


def load(name):
    m = sio.loadmat(name if os.path.exists(name) else os.path.join(HAD, name))
    return m["data"].astype(np.float32), m["map"] > 0


def write(path, cube):
    r, c, b = cube.shape
    ds = gdal.GetDriverByName("GTiff").Create(path, c, r, b, gdal.GDT_Float32, ["INTERLEAVE=PIXEL"])
    for i in range(b):
        ds.GetRasterBand(i + 1).WriteArray(cube[:, :, i])
    ds = None


def border(cube):
    r, c, _ = cube.shape
    yy, xx = np.mgrid[:r, :c]
    return (yy + xx) < 0.35 * (r + c) / 2


def variant(cube, kind, rng):
    if kind == "clean":
        return cube
    if kind in ("border", "border0"):
        v = cube.copy()
        v[border(cube)] = 0
        return v
    b = cube.shape[2]
    pos = [int(b * 0.45), int(b * 0.65)]
    k = 2 if kind == "spiky" else 24
    add = []
    for i in range(k):
        src = cube[:, :, pos[i % 2]]
        if kind == "water":
            add.append(0.03 * src + rng.normal(0, 0.01 * float(src.mean()), src.shape))
        elif kind == "wild":
            add.append(float(src.mean()) + rng.normal(0, float(cube.std()), src.shape))
        elif kind == "spiky":
            x = src.copy()
            x[rng.random(src.shape) < 0.001] = 100 * float(cube.max())
            add.append(x)
        else:
            sys.exit(f"unknown variant {kind}")
    add = np.stack(add, -1).astype(np.float32)
    h = k // 2
    return np.concatenate([cube[:, :, :pos[0]], add[:, :, :h], cube[:, :, pos[0]:pos[1]], add[:, :, h:],
                           cube[:, :, pos[1]:]], -1)


def figures(path, truth, keep):
    s = np.nan_to_num(gdal.Open(path).ReadAsArray().astype(np.float64), nan=-1e300)[keep]
    truth = truth[keep]
    thr = np.quantile(s[~truth], 1 - 1e-2)
    return roc_auc_score(truth.ravel(), s.ravel()), float((s[truth] > thr).mean())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exe", default="build/plugin/bs3lnet")
    ap.add_argument("--variants", default="clean,water,wild,spiky,border,border0")
    ap.add_argument("--seed", default="1")
    ap.add_argument("--threads", default="2")
    ap.add_argument("scenes", nargs="+")
    a = ap.parse_args()
    print("| scene | variant | bands | default AUC / Pd@1e-2 | global RX AUC / Pd@1e-2 |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in a.scenes:
            cube, truth = load(name)
            for kind in a.variants.split(","):
                v = variant(cube, kind, np.random.default_rng(7))
                src, det, rx = (os.path.join(tmp, f) for f in ("in.tif", "det.tif", "rx.tif"))
                write(src, v)
                common = ["-q", "--overwrite", "--threads", a.threads] + (["--nodata", "0"] if kind == "border0" else [])
                keep = ~border(cube) if kind.startswith("border") else np.ones(truth.shape, bool)
                subprocess.run([a.exe, "detect", src, det, "--seed", a.seed] + common, check=True)
                subprocess.run([a.exe, "rx", src, rx] + common, check=True)
                d, r = figures(det, truth, keep), figures(rx, truth, keep)
                print(f"| `{os.path.basename(name)}` | {kind} | {v.shape[2]} | {d[0]:.4f} / {d[1]:.3f} | "
                      f"{r[0]:.4f} / {r[1]:.3f} |", flush=True)


if __name__ == "__main__":
    main()
