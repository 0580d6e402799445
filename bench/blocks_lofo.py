#!/usr/bin/python3
"""RX against every pixel per block: block size and how the block's RX meets
the global one, chosen with leave-one-family-out (offline, seed 1).

  /usr/bin/python3 bench/blocks_lofo.py DIR      # DIR: the seed-1 dumps of bench/fusion_dump.py

Each scene cut as the command cuts it (ceil(side / S) equal blocks per side,
block k starting at floor(k x side / blocks)) for block sizes S; each block
gets the rule's weight from its own RX kurtosis, and the term it weighs is
one of: global RX (landed before 84ff51a), the block's own RX, or their
mean, minimum or geometric mean of pfas. The sum is divided by (1.2 + w),
as in the command. S = 128 is the command's block: of the 19 scenes only
abu-beach-1 (150x150) is cut there. Results in
bench/results/quality_screening.md.
"""
import math
import os
import sys

import numpy as np

from fusion_screen import figures, kurtosis, landed_pfas, load_mat, lofo, pfa, rule_weight, rx_fit, rx_score, \
    summary_key, tail_fit
from quality import ALL_SCENES, FAMILIES

SIZES = (34, 50, 64, 100, 128)
TERMS = {
    "global RX": lambda g, b: g,
    "the block's RX": lambda g, b: b,
    "mean of both": lambda g, b: (g + b) / 2,
    "minimum of both": np.minimum,
    "geometric mean": lambda g, b: np.sqrt(g * b),
}


def edges(extent, size):
    n = max(1, math.ceil(extent / size))
    return (np.arange(n + 1) * extent) // n


def per_block(cube, size, scene_weight):
    """Each pixel's block weight and the pfa of RX against its block's background."""
    H, W, B = cube.shape
    er, ec = edges(H, size), edges(W, size)
    if len(er) == 2 and len(ec) == 2:
        return np.full(H * W, scene_weight), None
    w, p = np.zeros((H, W)), np.zeros((H, W))
    for a in range(len(er) - 1):
        for b in range(len(ec) - 1):
            sl = (slice(er[a], er[a + 1]), slice(ec[b], ec[b + 1]))
            X = cube[sl].reshape(-1, B)
            rx = rx_score(X, *rx_fit(X, np.ones(len(X), bool)))
            w[sl] = rule_weight(kurtosis(rx), 200, 1.2)
            p[sl] = pfa(tail_fit(rx, True), rx).reshape(w[sl].shape)
    return w.ravel(), p.ravel()


def landed_scenes(d, table):
    """Per scene of the 19: its cube, truth and the landed score's parts from
    the seed-1 dumps in d (table["global RX"] gets RX's figures)."""
    table["global RX"] = {}
    for scene in ALL_SCENES:
        cube, t = load_mat(scene)
        z = np.load(os.path.join(d, "%s_1.npz" % scene[:-4]))
        c = {k: z[k] for k in ("scaled", "rx", "rxp")}
        table["global RX"][scene] = figures(t, c["rx"])
        yield (scene, cube, t) + tuple(landed_pfas(c))


def main():
    table = {}
    for scene, cube, t, pS, pR, pA, wg in landed_scenes(sys.argv[1], table):
        for size in SIZES:
            w, pb = per_block(cube, size, wg)
            for name, term in TERMS.items():
                pa = pA if pb is None else term(pA, pb)
                s = -np.log10(np.maximum((pS + 0.2 * pR + w * pa) / (1.2 + w), 1e-300))
                table.setdefault("S=%d, %s" % (size, name), {})[scene] = figures(t, s)
    rx = [table["global RX"][s] for s in ALL_SCENES]
    cands = [k for k in table if k != "global RX"]
    print("| candidate | AUC >= RX | Pd@1e-2 >= RX | mean AUC | mean Pd@1e-2 |\n|---|---|---|---|---|")
    for k in cands:
        r = [table[k][s] for s in ALL_SCENES]
        print("| %s | %d/19 | %d/19 | %.4f | %.3f |" % (
            k, sum(a[0] >= x[0] for a, x in zip(r, rx)), sum(a[1] >= x[1] for a, x in zip(r, rx)),
            np.mean([a[0] for a in r]), np.mean([a[1] for a in r])))
    print("\n| left out | chosen without it | its scenes: AUC / RX |\n|---|---|---|")
    n_auc = n_pd = 0
    aucs = []
    for fam, best, left in lofo(table, cands, FAMILIES, summary_key):
        print("| %s | %s | %s |" % (fam, best, ", ".join("%.4f / %.4f" % (v[0], x[0]) for _, v, x in left)))
        n_auc += sum(v[0] >= x[0] for _, v, x in left)
        n_pd += sum(v[1] >= x[1] for _, v, x in left)
        aucs += [v[0] for _, v, _ in left]
    print("\ncross-validated: AUC >= RX %d/19, Pd@1e-2 >= RX %d/19, mean AUC %.4f" % (n_auc, n_pd, np.mean(aucs)))


if __name__ == "__main__":
    main()
