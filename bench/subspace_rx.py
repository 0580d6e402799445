#!/usr/bin/python3
"""RX in the scene's leading principal subspace as a fourth fusion component,
chosen with leave-one-family-out (offline, seed 1).

  /usr/bin/python3 bench/subspace_rx.py DIR      # DIR: the seed-1 dumps of bench/fusion_dump.py

Global RX sums a pixel's squared whitened coordinates over every principal
direction; the low-variance ones are mostly sensor noise, and whitening
blows them up to equal weight. RX over the K leading directions (K fixed,
the same for every scene) keeps the background model and drops that noise.
Candidates: the landed score plus v pfa(RX over K directions), and the
landed score with the purified RX term replaced by it. Scenes larger than
the 128-pixel block (abu-beach-1) take the subspace per block, as RX is.
Results in bench/results/quality_screening.md.
"""
import sys

import numpy as np

from blocks_lofo import edges, landed_scenes, per_block
from fusion_screen import components, figures, lofo, pfa, summary_key, tail_fit, top_keep
from quality import ALL_SCENES, FAMILIES

KS = (10, 15, 20, 30)
VS = (0.2, 0.5, 1, 2, 5)


def subspace_rx(X, k, keep=None):
    Y = X if keep is None else X[keep]
    mu = Y.mean(0)
    ev, V = np.linalg.eigh(np.cov(Y, rowvar=False))
    ev, V = ev[::-1][:k], V[:, ::-1][:, :k]
    P = (X - mu) @ V
    return (P * P / np.maximum(ev, 1e-300)).sum(1)


def subspace_pfa(cube, k, size=128):
    """pfa of RX over k leading directions, per block as the command cuts a scene."""
    H, W, B = cube.shape
    er, ec = edges(H, size), edges(W, size)
    p = np.zeros((H, W))
    for a in range(len(er) - 1):
        for b in range(len(ec) - 1):
            sl = (slice(er[a], er[a + 1]), slice(ec[b], ec[b + 1]))
            s = subspace_rx(cube[sl].reshape(-1, B), k)
            p[sl] = pfa(tail_fit(s, True), s).reshape(p[sl].shape)
    return p.ravel()


def main():
    table = {}
    for scene in ALL_SCENES:
        components(sys.argv[1], scene, "1")  # the cache landed_scenes reads
    for scene, cube, t, pS, pR, pA, wg in landed_scenes(sys.argv[1], table):
        w, pb = per_block(cube, 128, wg)
        pa = pA if pb is None else pb
        score = lambda p: figures(t, -np.log10(np.maximum(p, 1e-300)))
        table.setdefault("landed", {})[scene] = score((pS + 0.2 * pR + w * pa) / (1.2 + w))
        keep = top_keep(np.load("%s/%s_1.npz" % (sys.argv[1], scene[:-4]))["scaled"], 0.05)
        for k in KS:
            pT = subspace_pfa(cube, k)
            sp = subspace_rx(cube.reshape(-1, cube.shape[2]), k, keep)
            pP = pfa(tail_fit(sp, True), sp)
            for v in VS:
                table.setdefault("purified RX term -> purified subspace, weight %g, K=%d" % (v, k), {})[scene] = \
                    score((pS + v * pP + w * pa) / (1 + v + w))
            table.setdefault("subspace RX alone, K=%d" % k, {})[scene] = score(pT)
            table.setdefault("purified RX term -> subspace, K=%d" % k, {})[scene] = score((pS + 0.2 * pT + w * pa) / (1.2 + w))
            for v in VS:
                table.setdefault("landed + %g pT, K=%d" % (v, k), {})[scene] = score(
                    (pS + 0.2 * pR + w * pa + v * pT) / (1.2 + v + w))
        print(scene, "landed %.4f" % table["landed"][scene][0], flush=True)
    rx = [table["global RX"][s] for s in ALL_SCENES]
    cands = [k for k in table if k != "global RX" and "alone" not in k]
    print("| candidate | AUC >= RX | Pd@1e-2 >= RX | mean AUC | mean Pd@1e-2 | mean Pd@1e-3 |\n|---|---|---|---|---|---|")
    for k in table:
        r = [table[k][s] for s in ALL_SCENES]
        print("| %s | %d/19 | %d/19 | %.4f | %.3f | %.3f |" % (
            k, sum(a[0] >= x[0] for a, x in zip(r, rx)), sum(a[1] >= x[1] for a, x in zip(r, rx)),
            np.mean([a[0] for a in r]), np.mean([a[1] for a in r]), np.mean([a[2] for a in r])))
    print("\n| left out | chosen without it | its scenes: AUC / Pd@1e-2 (RX) |\n|---|---|---|")
    cv = []
    for fam, best, left in lofo(table, cands, FAMILIES, summary_key):
        print("| %s | %s | %s |" % (fam, best, "; ".join(
            "`%s` %.4f / %.3f (%.4f / %.3f)" % (s, v[0], v[1], x[0], x[1]) for s, v, x in left)))
        cv += [(v, x) for _, v, x in left]
    print("\ncross-validated: AUC >= RX %d/19, Pd@1e-2 >= RX %d/19, mean AUC %.4f" % (
        sum(v[0] >= x[0] for v, x in cv), sum(v[1] >= x[1] for v, x in cv), np.mean([v[0] for v, _ in cv])))
    pick = "purified RX term -> purified subspace, weight 1, K=20"
    print("\n| scene | landed AUC / Pd@1e-2 / Pd@1e-3 | %s | global RX |\n|---|---|---|---|" % pick)
    for s in ALL_SCENES:
        print("| `%s` | " % s + " | ".join("%.5f / %.3f / %.3f" % table[c][s] for c in ("landed", pick, "global RX")) + " |")
    print("\n| scene | " + " | ".join(cands[:1] + ["landed + 1 pT, K=%d" % k for k in KS]) + " | RX |")
    for s in ALL_SCENES:
        print("| `%s` | " % s + " | ".join("%.4f / %.3f" % table[c][s][:2] for c in
                                         cands[:1] + ["landed + 1 pT, K=%d" % k for k in KS]) +
              " | %.4f / %.3f |" % table["global RX"][s][:2])


if __name__ == "__main__":
    main()
