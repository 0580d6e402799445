#!/usr/bin/python3
"""A cap on the rule's weight: where a block's weight w exceeds T, its score
is RX alone (the network's share, 1 / (1.2 + w), dropped), chosen with
leave-one-family-out (offline, seed 1; the landed blocks of 128 px).

  /usr/bin/python3 bench/rx_cap_lofo.py DIR      # DIR: the seed-1 dumps of bench/fusion_dump.py

Why: on abu-beach-2.mat (w = 84) the network's 1/85 share costs 0.0001 AUC
against RX. Results in bench/results/quality_screening.md.
"""
import sys

import numpy as np

from blocks_lofo import landed_scenes, per_block
from fusion_screen import figures, lofo, summary_key
from quality import ALL_SCENES, FAMILIES

CAPS = (None, 20, 30, 50, 100, 200, 300, 500)


def main():
    table = {}
    for scene, cube, t, pS, pR, pA, wg in landed_scenes(sys.argv[1], table):
        w, pb = per_block(cube, 128, wg)
        pa = pA if pb is None else pb
        fused = (pS + 0.2 * pR + w * pa) / (1.2 + w)
        for cap in CAPS:
            p = fused if cap is None else np.where(w > cap, pa, fused)
            table.setdefault("no cap" if cap is None else "RX alone where w > %d" % cap, {})[scene] = \
                figures(t, -np.log10(np.maximum(p, 1e-300)))
    rx = [table["global RX"][s] for s in ALL_SCENES]
    cands = [k for k in table if k != "global RX"]
    print("| candidate | AUC >= RX | Pd@1e-2 >= RX | mean AUC | abu-beach-2 AUC (RX %.5f) |\n|---|---|---|---|---|"
          % table["global RX"]["abu-beach-2.mat"][0])
    for k in cands:
        r = [table[k][s] for s in ALL_SCENES]
        print("| %s | %d/19 | %d/19 | %.4f | %.5f |" % (
            k, sum(a[0] >= x[0] for a, x in zip(r, rx)), sum(a[1] >= x[1] for a, x in zip(r, rx)),
            np.mean([a[0] for a in r]), table[k]["abu-beach-2.mat"][0]))
    print("\n| left out | chosen without it | its scenes: AUC / RX |\n|---|---|---|")
    for fam, best, left in lofo(table, cands, FAMILIES, summary_key):
        print("| %s | %s | %s |" % (fam, best, ", ".join("%.5f / %.5f" % (v[0], x[0]) for _, v, x in left)))


if __name__ == "__main__":
    main()
