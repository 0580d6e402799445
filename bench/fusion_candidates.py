#!/usr/bin/python3
"""Fixed fusions and spatial variants of the network's score, offline on the
stored default networks (bench/fusion_dump.py DIR --seeds 1), seed 1:
AUC / Pd@1e-2 per scene, then counts against global RX. Results in
bench/results/quality_screening.md.

  /usr/bin/python3 bench/fusion_candidates.py DIR
"""
import os
import sys

import numpy as np
from scipy import ndimage as ndi

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fusion_screen import components, tail_fit, pfa, figures, kurtosis, rule_weight  # noqa: E402
from quality import ALL_SCENES  # noqa: E402

d = sys.argv[1]
C = {}
for s in ALL_SCENES:
    if not os.path.exists(os.path.join(d, s[:-4] + "_1_bg.tif")):
        continue
    c = components(d, s, "1")
    c["k"] = kurtosis(c["rx"])
    for name, key, power in (("pS", "scaled", False), ("pR", "rxp", True), ("pA", "rx", True), ("pQ", "rxres", True)):
        c[name] = np.maximum(pfa(tail_fit(c[key], power), c[key]), 1e-300)
    C[s] = c
L = lambda p: -np.log10(p)
cands = {
    "RX": lambda c: c["rx"],
    "net(prev)": lambda c: L(c["pS"] + 0.2 * c["pR"]),
    "rule": lambda c: L(c["pS"] + 0.2 * c["pR"] + rule_weight(c["k"], 200, 1.2) * c["pA"]),
    "w1": lambda c: L(c["pS"] + 0.2 * c["pR"] + 1 * c["pA"]),
    "w3": lambda c: L(c["pS"] + 0.2 * c["pR"] + 3 * c["pA"]),
    "fisher": lambda c: L(c["pS"]) + L(c["pA"]),
    "fisher.5": lambda c: L(c["pS"]) + 0.5 * L(c["pA"]),
    "fisher2": lambda c: L(c["pS"]) + 2 * L(c["pA"]),
    "fisherR": lambda c: L(c["pS"] + 0.2 * c["pR"]) + L(c["pA"]),
    "fisherQ": lambda c: L(c["pS"]) + L(c["pA"]) + L(c["pQ"]),
    "rxres": lambda c: c["rxres"],
    "S+Q": lambda c: L(c["pS"]) + L(c["pQ"]),
}
T = {k: {} for k in cands}
for s, c in C.items():
    for k, f in cands.items():
        T[k][s] = figures(c["truth"], f(c))
print("%-24s" % "scene" + "".join("%18s" % k for k in cands))
for s in C:
    print("%-24s" % s[:24] + "".join("   %.4f / %.3f" % T[k][s][:2] for k in cands))
rx = T["RX"]
print("%-24s" % "AUC>=RX" + "".join("%18d" % sum(T[k][s][0] >= rx[s][0] for s in C) for k in cands))
print("%-24s" % "Pd2>=RX" + "".join("%18d" % sum(T[k][s][1] >= rx[s][1] for s in C) for k in cands))
print("%-24s" % "mean AUC" + "".join("%18.4f" % np.mean([T[k][s][0] for s in C]) for k in cands))
print("%-24s" % "mean Pd2" + "".join("%18.3f" % np.mean([T[k][s][1] for s in C]) for k in cands))
print("%-24s" % "worst" + "".join("%18.4f" % min(T[k][s][0] - rx[s][0] for s in C) for k in cands))

# --- spatial variants of the network's energy e (with 0.2 x purified RX) ---
def variants(c):
    H, W, B = c["shape"]
    e = c["e"].reshape(H, W)
    out = {"scaled": c["scaled"], "e": c["e"]}
    out["e+med3"] = (e + ndi.median_filter(e, 3, mode="nearest")).ravel()
    out["med3"] = ndi.median_filter(e, 3, mode="nearest").ravel()
    op = ndi.grey_opening(e, size=(2, 2), mode="nearest")
    out["e+open2"] = (e + op).ravel()
    out["open2"] = op.ravel()
    out["e+2mean3"] = (e + 2 * ndi.uniform_filter(e, 3, mode="nearest")).ravel()
    out["mean5"] = (e + ndi.uniform_filter(e, 5, mode="nearest")).ravel()
    return out
rows = {}
for s, c in C.items():
    V = variants(c)
    r = {}
    for k, v in V.items():
        r[k] = figures(c["truth"], L(pfa(tail_fit(v, False), v) + 0.2 * c["pR"]))
    rows[s] = r
    print("%-22s" % s[:22] + "".join("  %s %.4f/%.3f" % (k, *r[k][:2]) for k in r), flush=True)
ks = list(next(iter(rows.values())))
print("mean AUC " + "  ".join("%s %.4f" % (k, np.mean([rows[s][k][0] for s in rows])) for k in ks))
print("mean Pd2 " + "  ".join("%s %.3f" % (k, np.mean([rows[s][k][1] for s in rows])) for k in ks))
