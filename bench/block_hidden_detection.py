#!/usr/bin/python3
"""The landed network with a 3x3 block hidden at detection only: each pixel
scored from a pass in which its own 3x3 block was replaced by random pixels
at Chebyshev distance 3 from the block's centre (25 passes on a 5x5 phase
grid, `bs3lnet apply --background`), so that an object of a few pixels
cannot be rebuilt from its own other pixels. Offline, seed 1.

  /usr/bin/python3 bench/block_hidden_detection.py MODELS SCENE ...   # MODELS: DIR/<scene>.pt, detect --save-model --seed 1

Prints AUC of `scaled` and `e` (the energy without its 3x3 mean) and the
objects found at 1e-2 (bench/target_objects.py), plain and block-hidden,
beside global RX. Results in bench/results/quality_screening.md.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

from fusion_screen import figures, load_mat, mad_weights, nb3, read_tif, rx_fit, rx_score
from implant_screen import EXE, write_tif
from target_objects import objects_found

S = 5  # phase grid: blocks 5 pixels apart leave the distance-3 ring of each unhidden


def background(model, cube, hide, tmp):
    """The network's reconstruction, each pixel's from the pass hiding its block (hide) or from one plain pass."""
    H, W, B = cube.shape
    rng = np.random.default_rng(1)
    ring = [(dy, dx) for dy in range(-3, 4) for dx in range(-3, 4) if max(abs(dy), abs(dx)) == 3]
    bg = np.zeros_like(cube)
    for py, px in ([(a, b) for a in range(S) for b in range(S)] if hide else [(0, 0)]):
        X = cube.copy()
        for r in range(py, H, S) if hide else ():
            for c in range(px, W, S):
                for y in range(max(0, r - 1), min(H, r + 2)):
                    for x in range(max(0, c - 1), min(W, c + 2)):
                        while True:
                            oy, ox = ring[rng.integers(len(ring))]
                            if 0 <= r + oy < H and 0 <= c + ox < W:
                                break
                        X[y, x] = cube[r + oy, c + ox]
        write_tif(os.path.join(tmp, "in.tif"), X)
        subprocess.run([EXE, "apply", model, os.path.join(tmp, "in.tif"), os.path.join(tmp, "s.tif"), "--background",
                        os.path.join(tmp, "bg.tif"), "--threads", "2", "-q", "--overwrite"], check=True)
        b = read_tif(os.path.join(tmp, "bg.tif")).transpose(1, 2, 0)
        if not hide:
            return b
        bg[py::S, px::S] = b[py::S, px::S]
    return bg


def main():
    models, scenes = sys.argv[1], sys.argv[2:]
    print("| scene | plain: scaled / e AUC, objects | block hidden: scaled / e AUC, objects | global RX AUC, objects |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for scene in scenes:
            cube, t = load_mat(scene)
            H, W, B = cube.shape
            cells = []
            for hide in (False, True):
                R = (cube - background(os.path.join(models, scene[:-4] + ".pt"), cube, hide, tmp)).reshape(-1, B)
                e = (R * R) @ mad_weights(R)
                cells.append("%.4f / %.4f, %d/%d" % (figures(t, nb3(e, H, W))[0], figures(t, e)[0], *objects_found(t, e, H, W)))
            X = cube.reshape(-1, B)
            rx = rx_score(X, *rx_fit(X, np.ones(len(X), bool)))
            print("| `%s` | %s | %s | %.4f, %d/%d |" % (scene, cells[0], cells[1], figures(t, rx)[0], *objects_found(t, rx, H, W)),
                  flush=True)


if __name__ == "__main__":
    main()
