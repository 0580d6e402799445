#!/usr/bin/python3
"""The fused output ranked onto `scaled` (landed 4e6b8bf): which quantile
range of `scaled`'s exponential tail fit, chosen with leave-one-family-out
(offline, seed 1, on the dumps of bench/fusion_dump.py). Results in
bench/results/quality_screening.md.

  /usr/bin/python3 bench/calibration_ranges.py DIR
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from calibration_rank import log_pfa, ranked_onto  # noqa: E402
from fusion_screen import components, far_ratios, landed_pfas, lofo, pfa, print_calibration_table, tail_fit  # noqa: E402
from quality import ALL_SCENES, FAMILIES  # noqa: E402


def main():
    rates = {}
    for s in ALL_SCENES:
        c = components(sys.argv[1], s, "1")
        pS, pR, pA, w = landed_pfas(c)
        f = log_pfa(pS + 0.2 * pR + w * pA)
        bg = c["truth"].ravel() == 0
        sc = c["scaled"]
        for lo in (0.80, 0.90, 0.95):
            for hi in (0.99, 0.993, 0.995, 0.997, 0.999):
                k = "ranked onto `scaled`, its tail fitted to %.2f-%.3f" % (lo, hi)
                rates.setdefault(k, []).append(far_ratios(ranked_onto(f, pfa(tail_fit(sc, False, lo, hi), sc)), bg))
    print_calibration_table(rates)
    table = {k: dict(zip(ALL_SCENES, v)) for k, v in rates.items()}
    table["global RX"] = next(iter(table.values()))  # lofo's list of scenes; the key ignores it
    within = [lambda v: 0.5 <= v[1] <= 2, lambda v: 0.5 <= v[0] <= 2]
    total = [0, 0]
    print("\n| left out | chosen without it | its scenes within x2 at 1e-2 / 1e-3 |\n|---|---|---|")
    for fam, best, left in lofo(table, list(rates), FAMILIES, lambda rows, _: tuple(sum(map(w, rows)) for w in within)):
        n = [sum(w(v) for _, v, _ in left) for w in within]
        total = [total[0] + n[0], total[1] + n[1]]
        print("| %s | %s | %d/%d / %d/%d |" % (fam, best, n[1], len(left), n[0], len(left)))
    print("\ncross-validated: within x2 at 1e-2 %d/19, at 1e-3 %d/19" % (total[1], total[0]))


if __name__ == "__main__":
    main()
