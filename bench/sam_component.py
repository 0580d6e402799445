#!/usr/bin/python3
"""A spectral-angle component (issue 27, item 1: "you may also add components"):
the angle between each pixel and the network's reconstruction of it, plus its
3x3 mean, alone and added to the landed fused score as + v pfa(angle).
Offline, seed 1.

  /usr/bin/python3 bench/sam_component.py DUMP   # DUMP: the seed-1 dumps of bench/fusion_dump.py

Why: the angle ignores brightness, which the residual energy does not, so it
could find targets whose spectra differ in shape only. Results in
bench/results/quality_screening.md.
"""
import os
import sys

import numpy as np

from fusion_screen import figures, landed_pfas, load_mat, nb3, pfa, read_tif, tail_fit
from quality import ALL_SCENES

WEIGHTS = (0, 0.02, 0.05, 0.1, 0.2, 0.5)


def angle(X, bg, H, W):
    cos = (X * bg).sum(1) / np.maximum(np.linalg.norm(X, axis=1) * np.linalg.norm(bg, axis=1), 1e-300)
    return nb3(np.arccos(np.clip(cos, -1, 1)), H, W)


def main():
    d = sys.argv[1]
    table = {}
    print("| scene | global RX | angle alone | " + " | ".join("+ %g pfa(angle)" % v for v in WEIGHTS) +
          " |\n|---|---|---|" + "---|" * len(WEIGHTS))
    for s in ALL_SCENES:
        cube, t = load_mat(s)
        H, W, B = cube.shape
        z = np.load(os.path.join(d, "%s_1.npz" % s[:-4]))
        bg = read_tif(os.path.join(d, "%s_1_bg.tif" % s[:-4])).reshape(B, -1).T
        a = angle(cube.reshape(-1, B), bg, H, W)
        pS, pR, pA, w = landed_pfas(z)
        pM = pfa(tail_fit(a, False), a)
        table[s] = {"rx": figures(t, z["rx"]), "alone": figures(t, a)}
        for v in WEIGHTS:
            table[s][v] = figures(t, -np.log10(pS + 0.2 * pR + w * pA + v * pM))
        print("| `%s` | %.4f | %.4f | %s |" % (s, table[s]["rx"][0], table[s]["alone"][0],
                                             " | ".join("%.4f" % table[s][v][0] for v in WEIGHTS)), flush=True)
    print("\n| candidate | mean AUC | AUC >= RX | Pd@1e-2 >= RX | mean Pd@1e-2 |\n|---|---|---|---|---|")
    rx = [table[s]["rx"] for s in ALL_SCENES]
    for v in ("alone",) + WEIGHTS:
        r = [table[s][v] for s in ALL_SCENES]
        print("| %s | %.4f | %d/19 | %d/19 | %.3f |" % (
            "angle alone" if v == "alone" else "landed + %g pfa(angle)" % v, np.mean([x[0] for x in r]),
            sum(x[0] >= y[0] for x, y in zip(r, rx)), sum(x[1] >= y[1] for x, y in zip(r, rx)),
            np.mean([x[1] for x in r])))


if __name__ == "__main__":
    main()
