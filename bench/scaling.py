#!/usr/bin/python3
"""How `bs3lnet detect` (fast defaults) grows with the scene: synthetic
N x N x 200 float32 cubes (N = 250, 500, 1000 by default; 1000 is 800 MB),
wall time, time per pixel and peak RSS.

  /usr/bin/python3 bench/scaling.py [--sizes 250,500,1000] [--threads 2]
"""
import argparse
import os
import tempfile

import numpy as np
from osgeo import gdal, osr

from run_bench import ROOT, machine, timed

gdal.UseExceptions()


def write_scene(path, n, bands=200, seed=0):
    """Smooth mixture of three spectra plus noise and a few implanted targets,
    written band by band so the generator itself stays small."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:n, 0:n].astype(np.float32) / n
    a = 0.5 + 0.5 * np.sin(9 * x + 4 * y)
    b = (1 - a) * (0.5 + 0.5 * np.cos(7 * y))
    wl = np.linspace(0, 1, bands, dtype=np.float32)
    spectra = np.stack([0.1 + 0.4 * wl, 0.5 - 0.3 * wl, 0.3 + 0.1 * np.sin(6 * wl)])
    targets = rng.integers(0, n, size=(max(4, n // 50), 2))
    d = gdal.GetDriverByName("GTiff").Create(path, n, n, bands, gdal.GDT_Float32, ["TILED=YES"])
    d.SetGeoTransform((500000, 1, 0, 4000000, 0, -1))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32611)
    d.SetSpatialRef(srs)
    for k in range(bands):
        band = a * spectra[0, k] + b * spectra[1, k] + (1 - a - b) * spectra[2, k]
        band += 0.01 * rng.standard_normal((n, n), dtype=np.float32)
        band[targets[:, 0], targets[:, 1]] = 0.9 - 0.6 * wl[k]
        d.GetRasterBand(k + 1).WriteArray(band)
    d = None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exe", default=os.path.join(ROOT, "build", "plugin", "bs3lnet"))
    ap.add_argument("--sizes", default="250,500,1000")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    print("Machine: %s; threads %d" % (machine(), a.threads))
    print("| scene | pixels | wall s | us per pixel | peak RSS MB |\n|---|---|---|---|---|")
    base = None
    for n in [int(s) for s in a.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            scene = os.path.join(tmp, "scene.tif")
            write_scene(scene, n)
            _, wall, _, rss = timed([a.exe, "detect", scene, os.path.join(tmp, "s.tif"), "-q",
                                     "--threads", str(a.threads)])
        per_px = wall / (n * n) * 1e6
        base = base or per_px
        print("| %dx%dx200 | %d | %.1f | %.1f (%.2fx the first) | %.0f |" % (n, n, n * n, wall, per_px, per_px / base, rss),
              flush=True)


if __name__ == "__main__":
    main()
