#!/usr/bin/python3
"""Which target objects each score finds: per scene, the truth's connected
objects (8-connected), their sizes, and how many have a pixel above the
threshold that lets through 1e-2 of the background (truth 0) pixels, for the
network's `scaled` score, its unsmoothed energy `e`, and global RX.
Offline, seed 1.

  /usr/bin/python3 bench/target_objects.py DUMP [SCENE ...]   # DUMP: bench/fusion_dump.py's seed-1 dumps

Then the landed fused score with `e` in place of `scaled` (the 3x3 mean
dropped, or halved), and leave one family out between the three.

Why: to see what RX finds on the scenes where it beats the network, and
whether the 3x3 mean costs small objects at the operating point.
"""
import os
import sys

import numpy as np
from scipy import ndimage

from fusion_screen import figures, landed_parts, load_mat, lofo, nb3, pfa, summary_key, tail_fit
from quality import ALL_SCENES, FAMILIES


def objects_found(t, sc, H, W):
    """Truth objects (8-connected) with a pixel of score sc at or above the 1e-2 background threshold, and their count."""
    lab, n = ndimage.label(t.reshape(H, W), structure=np.ones((3, 3)))
    thr, s2 = np.quantile(sc[~t], 0.99), sc.reshape(H, W)
    return sum(s2[lab == k].max() >= thr for k in range(1, n + 1)), n


def without_neighbours(d):
    """The landed fusion with the network's part from e, 0.5 e + 0.5 nb3(e), or scaled (= nb3(e))."""
    table = {"global RX": {}}
    for s in ALL_SCENES:
        z = np.load(os.path.join(d, "%s_1.npz" % s[:-4]))
        t, (H, W, _) = z["truth"], z["shape"]
        w, pR, pA = landed_parts(z)
        table["global RX"][s] = figures(t, z["rx"])
        for name, sc in (("scaled (landed)", z["scaled"]), ("e", z["e"]), ("e + half its 3x3 term",
                                                                            0.5 * z["e"] + 0.5 * nb3(z["e"], H, W))):
            table.setdefault(name, {})[s] = figures(t, -np.log10(pfa(tail_fit(sc, False), sc) + 0.2 * pR + w * pA))
    rx = [table["global RX"][s] for s in ALL_SCENES]
    print("\n| the fused score's network part | mean AUC | AUC >= RX | Pd@1e-2 >= RX | mean Pd@1e-2 | mean Pd@1e-3 |")
    print("|---|---|---|---|---|---|")
    for k in list(table)[1:]:
        r = [table[k][s] for s in ALL_SCENES]
        print("| %s | %.4f | %d/19 | %d/19 | %.3f | %.3f |" % (
            k, np.mean([x[0] for x in r]), sum(a[0] >= b[0] for a, b in zip(r, rx)),
            sum(a[1] >= b[1] for a, b in zip(r, rx)), np.mean([x[1] for x in r]), np.mean([x[2] for x in r])))
    print("\nLeft out one family at a time, the key picks: " + "; ".join(
        "%s: %s" % (fam, best) for fam, best, _ in lofo(table, list(table)[1:], FAMILIES, summary_key)))


def main():
    d, scenes = sys.argv[1], sys.argv[2:] or ALL_SCENES
    print("| scene | objects | median size (px) | largest | single pixels | found at 1e-2: scaled | e | global RX |")
    print("|---|---|---|---|---|---|---|---|")
    for s in scenes:
        cube, t = load_mat(s)
        H, W = cube.shape[:2]
        z = np.load(os.path.join(d, "%s_1.npz" % s[:-4]))
        lab, n = ndimage.label(t.reshape(H, W), structure=np.ones((3, 3)))
        sizes = np.bincount(lab.ravel())[1:]
        found = [objects_found(t, z[name], H, W)[0] for name in ("scaled", "e", "rx")]
        print("| `%s` | %d | %g | %d | %d | %d | %d | %d |" % (s, n, np.median(sizes), sizes.max(), (sizes == 1).sum(),
                                                             *found))
    if not sys.argv[2:]:
        without_neighbours(d)


if __name__ == "__main__":
    main()
