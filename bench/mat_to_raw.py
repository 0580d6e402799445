#!/usr/bin/python3
"""A .mat scene as bs3l_raw reads it, for machines without GDAL (a GPU box).

  /usr/bin/python3 bench/mat_to_raw.py ../shared/data/had/hydice-ii.mat DIR

writes DIR/cube.f32 (float32, band-sequential: bands x rows x cols),
DIR/truth.u8 (rows x cols, 1 = anomaly), DIR/shape.txt ("bands rows cols")
and DIR/name.txt. The cube is the file's 3-D variable (rows x cols x bands,
as MATLAB stores these scenes); the truth is its 2-D `map`, `gt` or
`groundtruth`. Needs scipy (or h5py for v7.3 files).
"""
import os
import sys

import numpy as np

TRUTH = ("map", "gt", "groundtruth")


def variables(path):
    try:
        import scipy.io
        return {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith("__")}
    except NotImplementedError:  # v7.3: HDF5, dimensions reversed
        import h5py
        with h5py.File(path, "r") as f:
            return {k: np.asarray(f[k]).T for k in f.keys() if isinstance(f[k], h5py.Dataset)}


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: mat_to_raw.py FILE.mat DIR")
    path, out = sys.argv[1:]
    v = variables(path)
    cubes = [k for k, a in v.items() if getattr(a, "ndim", 0) == 3]
    truths = [k for k in TRUTH if k in v and v[k].ndim == 2]
    if not cubes or not truths:
        sys.exit("%s: needs a 3-D cube and a 2-D map, gt or groundtruth variable" % path)
    cube = np.moveaxis(v[max(cubes, key=lambda k: v[k].size)], 2, 0).astype("<f4")
    truth = (v[truths[0]] != 0).astype(np.uint8)
    if truth.shape != cube.shape[1:]:
        sys.exit("%s: truth %s does not match the cube's %s" % (path, truth.shape, cube.shape[1:]))
    os.makedirs(out, exist_ok=True)
    cube.tofile(os.path.join(out, "cube.f32"))
    truth.tofile(os.path.join(out, "truth.u8"))
    with open(os.path.join(out, "shape.txt"), "w") as f:
        f.write("%d %d %d\n" % cube.shape)
    with open(os.path.join(out, "name.txt"), "w") as f:
        f.write(os.path.basename(path) + "\n")
    print("wrote %s: %s (bands x rows x cols), %d anomalous pixels" % (out, cube.shape, truth.sum()))


if __name__ == "__main__":
    main()
