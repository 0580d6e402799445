#!/usr/bin/python3
"""The network's energy with and without its 3x3 mean (and capped per-band
contributions), each fused by the landed kurtosis rule, chosen by
leave-one-family-out: offline on the stored default networks
(bench/fusion_dump.py DIR --seeds 1), seed 1. The purified RX is the
dump's (its background leaves out the top 5% of `scaled`, as the command
does for every variant here). Results in bench/results/quality_screening.md.

  /usr/bin/python3 bench/energy_lofo.py DIR
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fusion_screen import components, figures, landed_parts, lofo, pfa, summary_key, tail_fit  # noqa: E402
from quality import ALL_SCENES, FAMILIES  # noqa: E402

d = sys.argv[1]
VARIANTS = {"scaled (landed)": "scaled", "e alone": "e", "capped 9": "capped9", "capped 25": "capped25"}
table = {k: {} for k in ["global RX", *VARIANTS]}
for s in ALL_SCENES:
    if not os.path.exists(os.path.join(d, "%s_1.npz" % s[:-4])):
        continue
    c = components(d, s, "1")
    w, pR, pA = landed_parts(c)
    table["global RX"][s] = figures(c["truth"], c["rx"])
    for name, key in VARIANTS.items():
        pS = pfa(tail_fit(c[key], False), c[key])
        table[name][s] = figures(c["truth"], -np.log10(np.maximum(pS + 0.2 * pR + w * pA, 1e-300)))
    print("%-26s" % s + "".join("  %s %.4f/%.3f" % (k[:8], *table[k][s][:2]) for k in table), flush=True)

rx = table["global RX"]
scenes = list(rx)
print("\n| candidate | AUC >= RX | Pd@1e-2 >= RX | mean AUC | mean Pd@1e-2 | mean Pd@1e-3 |")
print("|---|---|---|---|---|---|")
for k in table:
    t = table[k]
    print("| %s | %d/%d | %d/%d | %.4f | %.3f | %.3f |" % (
        k, sum(t[s][0] >= rx[s][0] for s in scenes), len(scenes), sum(t[s][1] >= rx[s][1] for s in scenes),
        len(scenes), np.mean([t[s][0] for s in scenes]), np.mean([t[s][1] for s in scenes]),
        np.mean([t[s][2] for s in scenes])))
print("\n| left out | chosen without it | its scenes: AUC / Pd@1e-2 (RX) |")
print("|---|---|---|")
held = {}
for fam, pick, rows in lofo(table, list(VARIANTS), FAMILIES, summary_key):
    cells = []
    for s, r, x in rows:
        held[s] = r
        cells.append("`%s` %.4f / %.3f (%.4f / %.3f)%s" % (s, r[0], r[1], x[0], x[1], " **loses**" if r[0] < x[0] else ""))
    print("| %s | %s | %s |" % (fam, pick, "; ".join(cells)))
print("\ncross-validated: AUC >= RX %d/%d, Pd@1e-2 >= RX %d/%d, mean AUC %.4f, mean Pd@1e-2 %.3f" % (
    sum(held[s][0] >= rx[s][0] for s in held), len(held), sum(held[s][1] >= rx[s][1] for s in held), len(held),
    np.mean([held[s][0] for s in held]), np.mean([held[s][1] for s in held])))
