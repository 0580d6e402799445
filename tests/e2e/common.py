"""Helpers for the end-to-end tests: run bs3lnet, read rasters with GDAL."""
import atexit
import os
import shutil
import signal
import subprocess
import tempfile

import numpy as np
from osgeo import gdal

gdal.UseExceptions()
BS3LNET = os.environ["BS3LNET"]
SAMPLE = os.environ["BS3L_SAMPLE_DIR"]
SOURCE = os.environ.get("BS3L_SOURCE_DIR", "")
HAD_DIR = os.environ.get("BS3L_HAD_DIR", os.path.join(SOURCE, "../shared/data/had"))


def run(*args, env=None, cwd=None):
    """Runs bs3lnet; returns (exit code, stdout, stderr)."""
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([BS3LNET, *map(str, args)], capture_output=True, text=True, env=e, timeout=900, cwd=cwd)
    return p.returncode, p.stdout, p.stderr


def read(path, band=1):
    d = gdal.Open(str(path))
    b = d.GetRasterBand(band)
    return b.ReadAsArray().astype(np.float64), b.GetNoDataValue(), d


def write_cube(path, cube, gt=(500000, 10, 0, 4000000, 0, -10), epsg=32611, nodata=None, fmt="GTiff"):
    """cube: bands x rows x cols float32."""
    from osgeo import osr
    b, r, c = cube.shape
    d = gdal.GetDriverByName(fmt).Create(str(path), c, r, b, gdal.GDT_Float32)
    d.SetGeoTransform(gt)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    d.SetProjection(srs.ExportToWkt())
    for i in range(b):
        band = d.GetRasterBand(i + 1)
        band.WriteArray(cube[i])
        if nodata is not None:
            band.SetNoDataValue(nodata)
    d = None


_SCRATCH = []


def _remove_scratch():
    for d in _SCRATCH:
        shutil.rmtree(d, True)


def _terminated(signum, frame):
    # A time limit (ctest's, or CI's `timeout`) sends SIGTERM, which skips
    # atexit: without this every folder of the module stays in /tmp.
    _remove_scratch()
    os._exit(128 + signum)


atexit.register(_remove_scratch)
signal.signal(signal.SIGTERM, _terminated)


def tmpdir():
    """A scratch folder, removed when the test process exits or is stopped."""
    d = tempfile.mkdtemp(prefix="bs3l_e2e_")
    _SCRATCH.append(d)
    return d


def need_had(test):
    """Skips a test without the shared real scenes, except under CI, where
    their absence is a failure."""
    if os.path.isdir(HAD_DIR):
        return
    if os.environ.get("CI") == "true":
        test.fail("real scenes not found at %s (required under CI=true)" % HAD_DIR)
    test.skipTest("real scenes not found at " + HAD_DIR)
