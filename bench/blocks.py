#!/usr/bin/python3
"""The fused score's RX weight and RX background per block, offline (a lead, not landed).

  /usr/bin/python3 bench/blocks.py DIR      # DIR: the seed-1 dumps of bench/fusion_dump.py

The landed default decides one RX weight (from RX's kurtosis) and fits one
RX background for the whole scene. Here the scene is cut into n x n equal
blocks; each block gets its own weight and, optionally, its own RX, and the
sum of pfas is divided by (1.2 + w) so that blocks with different weights
stay comparable. Scenes: abu-beach-1 (150x150, the one scene over 128
pixels) and the 200x200 mosaic of bench/mosaic.py, built from the four
scenes' own networks (their `scaled` scores side by side). A scene within
one block is the landed default. Writes bench/results/blocks.md.
"""
import os
import sys

import numpy as np

from fusion_screen import figures, kurtosis, landed_pfas, landed_score, load_mat, pfa, rule_weight, rx_fit, \
    rx_score, tail_fit, top_keep
from mosaic import QUADRANTS, build_mosaic, quadrant
from quality import ALL_SCENES
from run_bench import ROOT


def mosaic(d):
    cube, truth, h, w = build_mosaic()
    cube = cube.astype(np.float64)  # the .mat values are integers: exact either way
    scaled = np.zeros(truth.shape)
    for q, scene in enumerate(QUADRANTS):
        scaled[quadrant(q, h, w)] = np.load(os.path.join(d, "%s_1.npz" % scene[:-4]))["scaled"].reshape(h, w)
    X, s = cube.reshape(-1, cube.shape[2]), scaled.ravel()
    rx = rx_score(X, *rx_fit(X, np.ones(len(X), bool)))
    rxp = rx_score(X, *rx_fit(X, top_keep(s, 0.05)))
    c = {"scaled": s, "rx": rx, "rxp": rxp}
    return cube, c, [(truth[quadrant(q, h, w)].ravel(), quadrant(q, h, w)) for q in range(4)]


def beach1(d):
    cube, t = load_mat("abu-beach-1.mat")
    z = np.load(os.path.join(d, "abu-beach-1_1.npz"))
    return cube, {k: z[k] for k in ("scaled", "rx", "rxp")}, [(t, (slice(None), slice(None)))]


def blocked(cube, c, n, local, alone=False):
    """-log10((pS + 0.2 pR + w_b pA_b) / (1.2 + w_b)); w_b from the block's own RX kurtosis.
    alone: -log10(pA_b), the block's own RX alone."""
    H, W, B = cube.shape
    pS, pR, pA, _ = landed_pfas(c)
    w, pa = np.zeros((H, W)), pA.reshape(H, W).copy()
    er, ec = np.linspace(0, H, n + 1).astype(int), np.linspace(0, W, n + 1).astype(int)
    for a in range(n):
        for b in range(n):
            sl = (slice(er[a], er[a + 1]), slice(ec[b], ec[b + 1]))
            X = cube[sl].reshape(-1, B)
            rx = rx_score(X, *rx_fit(X, np.ones(len(X), bool)))
            w[sl] = rule_weight(kurtosis(rx), 200, 1.2)
            if local:
                pa[sl] = pfa(tail_fit(rx, True), rx).reshape(w[sl].shape)
    w, pa = w.ravel(), pa.ravel()
    if alone:
        return -np.log10(pa)
    return -np.log10((pS + 0.2 * pR + w * pa) / (1.2 + w))


def main():
    d = sys.argv[1]
    rows = ["| scene (part) | score | AUC | Pd@1e-2 |", "|---|---|---|---|"]
    for name, (cube, c, parts) in (("abu-beach-1.mat", beach1(d)), ("mosaic", mosaic(d))):
        H, W, _ = cube.shape
        w = landed_pfas(c)[3]
        scores = [("landed (one weight, %.1f; global RX)" % w, landed_score(c)),
                  ("global RX", c["rx"]), ("network alone (`scaled`)", c["scaled"])]
        for n in (2, 3):
            scores.append(("%dx%d blocks: weight per block, global RX" % (n, n), blocked(cube, c, n, False)))
            scores.append(("%dx%d blocks: weight and RX per block" % (n, n), blocked(cube, c, n, True)))
            scores.append(("%dx%d blocks: RX per block alone" % (n, n), blocked(cube, c, n, True, True)))
        for label, s in scores:
            s = s.reshape(H, W)
            for q, (t, sl) in enumerate(parts):
                auc, pd2, _ = figures(t, s[sl].ravel())
                part = name if len(parts) == 1 else "mosaic (`%s`)" % QUADRANTS[q]
                rows.append("| %s | %s | %.4f | %.3f |" % (part, label, auc, pd2))
    rows += ["", "Every scene cut into n x n blocks (a 100x100 scene: 50- or 33-pixel blocks), weight and RX per "
             "block, AUC / Pd@1e-2:", "",
             "| scene | global RX | landed | 2x2 | 3x3 |", "|---|---|---|---|---|"]
    figs = []
    for scene in ALL_SCENES:
        cube, t = load_mat(scene)
        z = np.load(os.path.join(d, "%s_1.npz" % scene[:-4]))
        c = {k: z[k] for k in ("scaled", "rx", "rxp")}
        f = [figures(t, c["rx"]), figures(t, landed_score(c))]
        f += [figures(t, blocked(cube, c, n, True)) for n in (2, 3)]
        figs.append(f)
        rows.append("| `%s` | %s |" % (scene, " | ".join("%.4f / %.3f" % x[:2] for x in f)))
    a = np.array([[x[:2] for x in f] for f in figs])  # scene x score x (auc, pd)
    rows.append("| mean AUC; AUC >= RX; Pd@1e-2 >= RX | %s |" % " | ".join(
        "%.4f; %d/19; %d/19" % (a[:, j, 0].mean(), (a[:, j, 0] >= a[:, 0, 0]).sum(), (a[:, j, 1] >= a[:, 0, 1]).sum())
        for j in range(4)))
    text = ["# Per-block RX weight and background (offline, seed 1)", "",
            "    /usr/bin/python3 bench/blocks.py DIR    # DIR: seed-1 dumps of bench/fusion_dump.py", "",
            "Each scene (part) against its own truth. The mosaic's quadrants are scored with the four scenes' own "
            "networks, so its `landed` row is this construction's, not the command's (bench/results/mosaic.md).", ""] + rows
    with open(os.path.join(ROOT, "bench", "results", "blocks.md"), "w") as f:
        f.write("\n".join(text) + "\n")
    print("\n".join(text))


if __name__ == "__main__":
    main()
