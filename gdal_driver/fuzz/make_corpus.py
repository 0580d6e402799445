"""Writes a seed corpus of small MAT files (v5, v7, v7.3, odd variables).

Usage: /usr/bin/python3 make_corpus.py OUT_DIR  (v7.3 seeds need
GDAL_DRIVER_PATH pointing at gdal_MATLAB.so; they are skipped otherwise).
"""
import os
import sys

import numpy as np
import scipy.io
import scipy.sparse


def main(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(0)
    cube = rng.integers(0, 700, size=(6, 5, 4)).astype(np.uint16)
    cell = np.empty((1, 2), dtype=object)
    cell[0, 0], cell[0, 1] = np.ones(2), "x"
    seeds = {
        "cube_map": {"data": cube, "map": (cube[:, :, 0] > 600).astype(np.uint8)},
        "georef": {"data": cube.astype(np.int16), "map_info": "{UTM, 1, 1, 480805.4, 3618830.5, 3.5, 3.5, 11, North}",
                   "wavelength": np.linspace(400, 900, 4), "geotransform": np.array([0, 1, 0, 0, 0, -1.0]),
                   "crs_wkt": "EPSG:32611", "nodata": np.array([[0.0]])},
        "types": {"f32": rng.random((3, 4)).astype(np.float32), "i8": np.arange(-6, 6, dtype=np.int8).reshape(3, 4),
                  "u64": np.arange(12, dtype=np.uint64).reshape(3, 4), "b": np.eye(3, dtype=bool)},
        "odd": {"s": {"a": np.ones(2)}, "c": cell, "z": np.ones((2, 2)) * 1j, "sp": scipy.sparse.eye(3).tocsc(),
                "four": np.zeros((2, 2, 2, 2)), "empty": np.zeros((0, 3)), "txt": "hello"},
    }
    n = 0
    for name, variables in seeds.items():
        for compress in (False, True):
            scipy.io.savemat(os.path.join(out, "%s_v%d.mat" % (name, 7 if compress else 5)), variables,
                             do_compression=compress)
            n += 1
    try:
        from osgeo import gdal
        gdal.UseExceptions()
        mem = gdal.GetDriverByName("MEM").Create("", 5, 6, 3, gdal.GDT_Float32)
        mem.SetGeoTransform((10, 1, 0, 20, 0, -1))
        gdal.Translate(os.path.join(out, "cube_v73.mat"), mem, format="MATLAB", creationOptions=["FORMAT=7.3"])
        n += 1
    except Exception as e:  # noqa: BLE001 - the v5 seeds still make a corpus
        print("no v7.3 seed:", e)
    print("%d seeds in %s" % (n, out))


if __name__ == "__main__":
    main(sys.argv[1])
