#!/usr/bin/python3
"""Scenes larger than memory: wall time, time per megapixel and peak RSS of
`bs3lnet detect` (default training) and `bs3lnet apply` (saved model) on
synthetic 200-band scenes written as a tiled float32 GeoTIFF and as an ENVI
BIL int16 flight line, under the default memory budget and --max-memory 1G;
plus the largest difference between streamed and in-memory scores.

  /usr/bin/python3 bench/streaming.py [--scenes 1000x1000,2000x2000,1000x8000] [--threads 2] [--dir /tmp]
      [--runs detect,detect-1G,apply,apply-1G] [--exe build/plugin/bs3lnet]

apply scores with the model the first detect saved (or, without a detect,
one `train` makes). The first scene, up to 4 megapixels, is also applied in
memory and streamed, and the two outputs compared.
"""
import argparse
import os
import tempfile

import numpy as np
from osgeo import gdal, osr

from run_bench import ROOT, machine, timed

gdal.UseExceptions()


def rows_of(cols, r0, r1, bands, seed):
    """Rows r0..r1 of a smooth three-material scene with noise and targets,
    as [rows, bands, cols] float32 (BIL order)."""
    rng = np.random.default_rng(seed + r0)
    y, x = np.mgrid[r0:r1, 0:cols].astype(np.float32) / 1000.0
    a = 0.5 + 0.5 * np.sin(9 * x + 4 * y)
    b = (1 - a) * (0.5 + 0.5 * np.cos(7 * y))
    wl = np.linspace(0, 1, bands, dtype=np.float32)
    spectra = np.stack([0.1 + 0.4 * wl, 0.5 - 0.3 * wl, 0.3 + 0.1 * np.sin(6 * wl)])
    cube = (a[:, None, :] * spectra[0][None, :, None] + b[:, None, :] * spectra[1][None, :, None] +
            (1 - a - b)[:, None, :] * spectra[2][None, :, None])
    cube += 0.01 * rng.standard_normal(cube.shape, dtype=np.float32)
    for _ in range(max(1, (r1 - r0) * cols // 2500)):  # a target every 2500 pixels
        r, c = rng.integers(0, r1 - r0), rng.integers(0, cols)
        cube[r, :, c] = 0.9 - 0.6 * wl
    return cube


def georef(d):
    d.SetGeoTransform((500000, 5, 0, 4000000, 0, -5))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32611)
    d.SetSpatialRef(srs)


def write_envi_bil(path, rows, cols, bands=200, seed=0):
    """int16 BIL, as flight lines come: values x 10000 (reflectance)."""
    with open(path, "wb") as f:
        for r0 in range(0, rows, 100):
            f.write((rows_of(cols, r0, min(rows, r0 + 100), bands, seed) * 10000).astype("<i2").tobytes())
    with open(os.path.splitext(path)[0] + ".hdr", "w") as h:
        h.write("ENVI\nsamples = %d\nlines = %d\nbands = %d\nheader offset = 0\nfile type = ENVI Standard\n"
                "data type = 2\ninterleave = bil\nbyte order = 0\n"
                "map info = {UTM, 1, 1, 500000, 4000000, 5, 5, 11, North, WGS-84}\n" % (cols, rows, bands))


def write_tiled_tif(path, rows, cols, bands=200, seed=0):
    d = gdal.GetDriverByName("GTiff").Create(path, cols, rows, bands, gdal.GDT_Float32,
                                             ["TILED=YES", "INTERLEAVE=PIXEL", "BIGTIFF=IF_SAFER"])
    georef(d)
    for r0 in range(0, rows, 100):
        block = rows_of(cols, r0, min(rows, r0 + 100), bands, seed).transpose(1, 0, 2)  # [bands, rows, cols]
        d.WriteRaster(0, r0, cols, block.shape[1], block.tobytes(), band_list=list(range(1, bands + 1)))
    d = None


# --runs: the command, its extra arguments and the budget column.
RUNS = {"detect": ("detect", [], "default"), "detect-1G": ("detect", ["--max-memory", "1G"], "1G"),
        "apply": ("apply", [], "default"), "apply-1G": ("apply", ["--max-memory", "1G"], "1G")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exe", default=os.path.join(ROOT, "build", "plugin", "bs3lnet"))
    ap.add_argument("--scenes", default="1000x1000,2000x2000,1000x8000")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dir", default=tempfile.gettempdir(), help="where the scenes are written (GBs)")
    ap.add_argument("--runs", default="detect,detect-1G,apply,apply-1G")
    a = ap.parse_args()
    unknown = [r for r in a.runs.split(",") if r not in RUNS]
    if unknown:
        ap.error("unknown --runs %s (known: %s)" % (",".join(unknown), ",".join(RUNS)))
    t = ["-q", "--threads", str(a.threads), "--overwrite"]
    print("Machine: %s; threads %d\n" % (machine(), a.threads))
    print("| scene | file | command | budget | wall s | s per megapixel | peak RSS MB |\n|---|---|---|---|---|---|---|",
          flush=True)
    with tempfile.TemporaryDirectory(dir=a.dir) as tmp:
        for spec in a.scenes.split(","):
            cols, rows = map(int, spec.split("x"))
            # The flight line as ENVI BIL int16; square scenes as tiled GeoTIFF.
            if rows > cols:
                scene, kind = os.path.join(tmp, "line_%s.bil" % spec), "ENVI BIL int16"
                write_envi_bil(scene, rows, cols)
            else:
                scene, kind = os.path.join(tmp, "scene_%s.tif" % spec), "tiled GeoTIFF float32"
                write_tiled_tif(scene, rows, cols)
            mp = rows * cols / 1e6
            out, model = os.path.join(tmp, "score.tif"), os.path.join(tmp, "model.pt")
            for cmd, extra, budget in (RUNS[r] for r in a.runs.split(",")):
                if cmd == "apply" and not os.path.exists(model):
                    timed([a.exe, "train", scene, model] + t)
                if cmd == "detect" and not os.path.exists(model):
                    extra = extra + ["--save-model", model]
                args = [a.exe, cmd] + ([model] if cmd == "apply" else []) + [scene, out] + t + extra
                _, wall, _, rss = timed(args)
                print("| %dx%dx200 | %s | %s | %s | %.0f | %.1f | %.0f |" % (cols, rows, kind, cmd, budget, wall,
                                                                           wall / mp, rss), flush=True)
            if os.path.exists(model):
                print("model file: %.1f MB" % (os.path.getsize(model) / 2**20), flush=True)
            # Streamed == in memory, on the first scene if it fits in memory twice over.
            if spec == a.scenes.split(",")[0] and rows * cols <= 4e6:
                timed([a.exe, "apply", model, scene, os.path.join(tmp, "mem.tif")] + t)
                timed([a.exe, "apply", model, scene, os.path.join(tmp, "str.tif"), "--stream"] + t)
                m = gdal.Open(os.path.join(tmp, "mem.tif")).ReadAsArray().astype(np.float64)
                s = gdal.Open(os.path.join(tmp, "str.tif")).ReadAsArray().astype(np.float64)
                rel = np.nanmax(np.abs(m - s) / np.maximum(np.abs(m), 1e-12))
                print("\nStreamed vs in-memory apply on %s: max relative difference %.3g\n" % (spec, rel), flush=True)
            os.remove(model)
            for f in os.listdir(tmp):
                os.remove(os.path.join(tmp, f))


if __name__ == "__main__":
    main()
