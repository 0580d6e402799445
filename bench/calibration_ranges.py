#!/usr/bin/python3
"""The fused output ranked onto `scaled` (landed 4e6b8bf): which quantile
range of `scaled`'s exponential tail fit, chosen with leave-one-family-out,
and a generalised Pareto tail in its place (offline, seed 1, on the dumps of
bench/fusion_dump.py). Results in bench/results/quality_screening.md.

  /usr/bin/python3 bench/calibration_ranges.py DIR
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from calibration_rank import log_pfa, ranked_onto  # noqa: E402
from fusion_screen import components, far_ratios, landed_pfas, lofo, pfa, print_calibration_table, tail_fit  # noqa: E402
from quality import ALL_SCENES, FAMILIES  # noqa: E402


def pareto_pfa(s, lo, hi):
    """Generalised Pareto tail above the lo quantile, pfa = p_u (1 + xi (x - u) / sigma)^(-1/xi),
    least squares in x over 21 quantile levels lo..hi (xi on a grid, sigma closed form); below u
    the empirical share. Returns the pfas and xi."""
    srt = np.sort(s)
    u = np.quantile(srt, lo)
    p_u = (len(srt) - np.searchsorted(srt, u, "left")) / len(srt)
    ps = lo + (hi - lo) * np.arange(21) / 20
    dx, e = np.quantile(srt, ps) - u, (1 - ps) / p_u
    best = None
    for xi in np.arange(-0.6, 1.005, 0.01):
        a = np.log(1 / e) if abs(xi) < 1e-9 else (e ** -xi - 1) / xi
        sigma = (a * dx).sum() / (a * a).sum()
        err = ((sigma * a - dx) ** 2).sum()
        if sigma > 0 and (best is None or err < best[0]):
            best = (err, xi, sigma)
    _, xi, sigma = best
    z = np.maximum(1 + xi * (s - u) / sigma, 1e-300)  # xi < 0: past the end point, pfa 1e-300
    with np.errstate(over="ignore"):  # below u (not used there) the power may overflow
        tail = p_u * np.exp(-(s - u) / sigma) if abs(xi) < 1e-9 else p_u * z ** (-1 / xi)
    empirical = np.maximum(len(srt) - np.searchsorted(srt, s, "left"), 1) / len(srt)
    return np.where(s > u, np.maximum(tail, 1e-300), empirical), xi


def main():
    rates, shapes = {}, {}
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
        for lo, hi in [(0.90, 0.99), (0.95, 0.995)]:
            p, xi = pareto_pfa(sc, lo, hi)
            k = "ranked onto `scaled`, generalised Pareto tail fitted to %.2f-%.3f" % (lo, hi)
            rates.setdefault(k, []).append(far_ratios(ranked_onto(f, p), bg))
            shapes.setdefault(k, []).append(xi)
    pareto = [k for k in rates if "Pareto" in k]
    print_calibration_table(rates)
    for k in pareto:
        print("%s: shapes %.2f to %.2f" % (k, min(shapes[k]), max(shapes[k])))
    table = {k: dict(zip(ALL_SCENES, v)) for k, v in rates.items()}
    table["global RX"] = next(iter(table.values()))  # lofo's list of scenes; the key ignores it
    within = [lambda v: 0.5 <= v[1] <= 2, lambda v: 0.5 <= v[0] <= 2]
    total = [0, 0]
    print("\n| left out | chosen without it | its scenes within x2 at 1e-2 / 1e-3 |\n|---|---|---|")
    for fam, best, left in lofo(table, [k for k in rates if k not in pareto], FAMILIES, lambda rows, _: tuple(sum(map(w, rows)) for w in within)):
        n = [sum(w(v) for _, v, _ in left) for w in within]
        total = [total[0] + n[0], total[1] + n[1]]
        print("| %s | %s | %d/%d / %d/%d |" % (fam, best, n[1], len(left), n[0], len(left)))
    print("\ncross-validated: within x2 at 1e-2 %d/19, at 1e-3 %d/19" % (total[1], total[0]))


if __name__ == "__main__":
    main()
