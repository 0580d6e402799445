#!/usr/bin/python3
"""Output calibration of the default (fused) score, as the command does it
(empirical below the 0.90 quantile, an exponential tail fitted to the
0.90-0.99 quantiles above), against the same fit on a purified sample that
leaves out the top D of the scene's scores (rates then measured among the
rest). Offline on the stored default networks (bench/fusion_dump.py DIR
--seeds 1), seed 1: per scene the observed background false-alarm rate at
nominal 1e-2 and 1e-3 (truth background pixels at or above the threshold),
and the count within a factor of 2. Results in bench/results/quality_screening.md.

  /usr/bin/python3 bench/calibration_purified.py DIR
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fusion_screen import components, landed_score, pfa, tail_fit  # noqa: E402
from quality import ALL_SCENES  # noqa: E402

DROPS = [0, 0.005, 0.01, 0.02, 0.05]


def calibrated(f, drop):
    """-log10 pfa of `f`, its tail fitted on the scores below the top `drop`."""
    s = np.sort(f)
    keep = s[:len(s) - int(drop * len(s))] if drop > 0 else s
    return -np.log10(np.maximum(pfa(tail_fit(keep, False, 0.90, 0.99), f), 1e-300))


d = sys.argv[1]
ratios = {dr: {1e-2: [], 1e-3: []} for dr in DROPS}
print("%-26s %s" % ("scene", "  ".join("drop %-5g 1e-2/1e-3" % dr for dr in DROPS)))
for s in ALL_SCENES:
    if not os.path.exists(os.path.join(d, "%s_1.npz" % s[:-4])):
        continue
    c = components(d, s, "1")
    f = landed_score(c)
    bg = c["truth"].ravel() == 0
    cells = []
    for dr in DROPS:
        z = calibrated(f, dr)
        r = [np.mean(z[bg] >= -np.log10(p)) / p for p in (1e-2, 1e-3)]
        ratios[dr][1e-2].append(r[0]), ratios[dr][1e-3].append(r[1])
        cells.append("%5.2f / %5.2f   " % tuple(r))
    print("%-26s %s" % (s, "  ".join(cells)), flush=True)
within = lambda v: sum(0.5 <= x <= 2 for x in v)
print("\n| tail fitted on | within x2 of 1e-2 | within x2 of 1e-3 | median observed / nominal at 1e-3 |")
print("|---|---|---|---|")
for dr in DROPS:
    print("| %s | %d/%d | %d/%d | %.2f |" % ("every pixel (landed)" if dr == 0 else "all but the top %g%%" % (100 * dr),
                                         within(ratios[dr][1e-2]), len(ratios[dr][1e-2]), within(ratios[dr][1e-3]),
                                         len(ratios[dr][1e-3]), np.median(ratios[dr][1e-3])))
