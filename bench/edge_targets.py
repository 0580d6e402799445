#!/usr/bin/python3
"""Target pixels near a scene's edge: per scene, how high the network's
fusion (L(pS + 0.2 pR), the previous default) and global RX rank the truth
pixels within 2 pixels of an edge against the interior ones (mean share of the
scene ranked above them), and `hydice-urban_175.mat` against the 162-band
file's truth. Offline on the stored default networks (bench/fusion_dump.py DIR
--seeds 1), seed 1. Results in bench/results/quality_screening.md.

  /usr/bin/python3 bench/edge_targets.py DIR
"""
import os
import sys

import numpy as np
from scipy.stats import rankdata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fusion_screen import components, figures, landed_pfas  # noqa: E402
from quality import ALL_SCENES  # noqa: E402


def network_fusion(c):
    pS, pR, _, _ = landed_pfas(c)
    return -np.log10(pS + 0.2 * pR)


def top_share(s):
    return 1 - (rankdata(s) - 1) / (len(s) - 1)  # 0: ranked first


d = sys.argv[1]
print("| scene | edge / all target pixels | network fusion: edge / interior | global RX: edge / interior |")
print("|---|---|---|---|")
for scene in ALL_SCENES:
    c = components(d, scene, "1")
    H, W, _ = c["shape"]
    t = c["truth"].reshape(H, W)
    r, q = np.mgrid[:H, :W]
    edge = (t & (np.minimum(np.minimum(r, H - 1 - r), np.minimum(q, W - 1 - q)) <= 2)).ravel()
    if not edge.any():
        continue
    inner = t.ravel() & ~edge
    a, x = top_share(network_fusion(c)), top_share(c["rx"])
    print("| `%s` | %d / %d | %.3f / %.3f | %.3f / %.3f |" % (scene, edge.sum(), t.sum(), a[edge].mean(), a[inner].mean(),
                                                      x[edge].mean(), x[inner].mean()))

c175, c162 = components(d, "hydice-urban_175.mat", "1"), components(d, "urban_162band_bslhad.mat", "1")
only175 = np.flatnonzero(c175["truth"] & ~c162["truth"])
W175 = c175["shape"][1]
a, x = top_share(network_fusion(c175)), top_share(c175["rx"])
print("\n`hydice-urban_175.mat`: truth pixels the 162-band file's truth lacks (row, col: network fusion / RX top share):",
      ", ".join("(%d,%d): %.4f / %.4f" % (i // W175, i % W175, a[i], x[i]) for i in only175))
print("its network fusion against its own truth %.4f, against the 162-band truth %.4f" % (
    figures(c175["truth"], network_fusion(c175))[0], figures(c162["truth"], network_fusion(c175))[0]))
