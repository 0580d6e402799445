#!/usr/bin/python3
"""Output calibration of the default (fused) score: other fit ranges and tail
forms than the command's (exponential tail fitted to the 0.90-0.99
quantiles), and the fused sum read directly as a weighted mean of pfas; the
components' own calibrations beside. Offline on the stored default networks
(bench/fusion_dump.py DIR --seeds 1), seed 1: per candidate, the scenes whose
observed background false-alarm rate at nominal 1e-2 and 1e-3 is within a
factor of 2. Results in bench/results/quality_screening.md.

  /usr/bin/python3 bench/calibration_forms.py DIR
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fusion_screen import components, far_ratios, landed_pfas, pfa, print_calibration_table, tail_fit  # noqa: E402
from quality import ALL_SCENES  # noqa: E402

RANGES = [(0.90, 0.99), (0.80, 0.99), (0.95, 0.99), (0.90, 0.995), (0.95, 0.995), (0.97, 0.995), (0.98, 0.995)]


def refit(f, power, lo, hi):
    g = f - f.min() + 1e-3 if power else f  # the power law needs a positive score
    return -np.log10(np.maximum(pfa(tail_fit(g, power, lo, hi), g), 1e-300))


d = sys.argv[1]
rates = {}
for s in ALL_SCENES:
    c = components(d, s, "1")
    pS, pR, pA, w = landed_pfas(c)
    total = pS + 0.2 * pR + w * pA
    f = -np.log10(np.maximum(total, 1e-300))
    bg = c["truth"].ravel() == 0
    cands = {"%s tail, %.2f-%.3f%s" % ("power-law" if p else "exponential", lo, hi, " (landed)" if (lo, hi, p) == (
        0.9, 0.99, False) else ""): refit(f, p, lo, hi) for lo, hi in RANGES for p in (False, True)}
    cands["the sum as a weighted mean of pfas, sum / (1.2 + w)"] = -np.log10(total / (1.2 + w))
    cands["component: pfa of `scaled`"] = -np.log10(pS)
    cands["component: pfa of global RX"] = -np.log10(pA)
    cands["component: pfa of purified RX"] = -np.log10(pR)
    for k, z in cands.items():
        rates.setdefault(k, []).append(far_ratios(z, bg))
print_calibration_table(rates)
