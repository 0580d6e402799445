#!/usr/bin/python3
"""Synthetic targets implanted in each scene as the rule's criterion (issue 27,
item 1): does the weight of RX that best finds implants in a scene also best
find its real targets? Offline, seed 1.

  /usr/bin/python3 bench/implant_screen.py DUMP MODELS [--kinds foreign,shape]

DUMP: the seed-1 dumps of bench/fusion_dump.py (the scene's own components);
MODELS: DIR/<scene>.pt of `bs3lnet detect --save-model --seed 1` (the same
networks). Per scene and kind: about one target per 400 pixels (1x1 to 2x2
pixels, abundance 0.5-1) is mixed into the cube, the saved network
reconstructs it (`bs3lnet apply --background`), the fused score's parts are
recomputed on it and the weight w of RX is taken from a grid as the one that
best separates the implants from every other pixel (AUC, then Pd@1e-2). That
w then fuses the real scene's parts and is judged against its truth, beside
the landed kurtosis rule and the best w in hindsight.

Kinds of implant spectrum: foreign = a pixel of the scene far from the site;
shape = such a pixel with smooth random absorption and reflectance features
(a material the scene does not hold).
"""
import argparse
import os
import subprocess

import numpy as np

from fusion_screen import figures, kurtosis, load_mat, mad_weights, nb3, pfa, rule_weight, rx_fit, rx_score, \
    tail_fit, top_keep, read_tif
from quality import ALL_SCENES
from run_bench import ROOT

GRID = (0.0, 0.2, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
EXE = os.path.join(ROOT, "build", "plugin", "bs3lnet")


def implant(cube, rng, kind):
    H, W, B = cube.shape
    X = cube.copy()
    mask = np.zeros((H, W), bool)
    taken = np.zeros((H, W), bool)
    n = max(5, H * W // 400)
    far = 0.3 * min(H, W)
    placed = 0
    for _ in range(50 * n):
        if placed == n:
            break
        h, w = [(1, 1), (1, 2), (2, 1), (2, 2)][rng.integers(4)]
        r, c = rng.integers(2, H - 2 - h), rng.integers(2, W - 2 - w)
        if taken[r - 2:r + h + 2, c - 2:c + w + 2].any():
            continue
        while True:
            sr, sc = rng.integers(H), rng.integers(W)
            if np.hypot(sr - r, sc - c) >= far:
                break
        t = cube[sr, sc].copy()
        if kind == "shape":
            x = np.arange(B) / B
            g = sum(rng.uniform(-0.7, 0.7) * np.exp(-0.5 * ((x - rng.uniform()) / rng.uniform(0.03, 0.2)) ** 2)
                    for _ in range(3))
            t = t * np.exp(g)
        f = rng.uniform(0.5, 1.0)
        X[r:r + h, c:c + w] = f * t + (1 - f) * X[r:r + h, c:c + w]
        mask[r:r + h, c:c + w] = True
        taken[r:r + h, c:c + w] = True
        placed += 1
    return X, mask.ravel()


def write_tif(path, cube):
    from osgeo import gdal
    H, W, B = cube.shape
    d = gdal.GetDriverByName("GTiff").Create(path, W, H, B, gdal.GDT_Float32)
    for b in range(B):
        d.GetRasterBand(b + 1).WriteArray(cube[:, :, b].astype(np.float32))
    d = None


def parts(X, bg, H, W):
    """pfa of scaled, of purified RX and of RX over the scene X (N x B) given the network's background."""
    R = X - bg
    e = (R * R) @ mad_weights(R)
    scaled = nb3(e, H, W)
    rx = rx_score(X, *rx_fit(X, np.ones(len(X), bool)))
    rxp = rx_score(X, *rx_fit(X, top_keep(scaled, 0.05)))
    return (pfa(tail_fit(scaled, False), scaled), pfa(tail_fit(rxp, True), rxp), pfa(tail_fit(rx, True), rx), rx)


def fused(p, w):
    return -np.log10(np.maximum(p[0] + 0.2 * p[1] + w * p[2], 1e-300))


def scene_rows(scene, dump, models, kinds, seed):
    cube, truth = load_mat(scene)
    H, W, B = cube.shape
    z = np.load(os.path.join(dump, "%s_1.npz" % scene[:-4]))
    real = (pfa(tail_fit(z["scaled"], False), z["scaled"]), pfa(tail_fit(z["rxp"], True), z["rxp"]),
            pfa(tail_fit(z["rx"], True), z["rx"]))
    out = {"truth": {w: figures(truth, fused(real, w)) for w in GRID}, "rx": figures(truth, z["rx"]),
           "landed": rule_weight(kurtosis(z["rx"]), 200, 1.2)}
    out["landed_fig"] = figures(truth, fused(real, out["landed"]))
    for kind in kinds:
        rng = np.random.default_rng([seed, ALL_SCENES.index(scene), kinds.index(kind)])
        Xi, m = implant(cube, rng, kind)
        stem = os.path.join(models, "%s_%s" % (scene[:-4], kind))
        write_tif(stem + "_in.tif", Xi)
        subprocess.run([EXE, "apply", os.path.join(models, scene[:-4] + ".pt"), stem + "_in.tif", stem + "_s.tif",
                        "--background", stem + "_bg.tif", "--threads", "2", "-q", "--overwrite"], check=True,
                       env=dict(os.environ, OMP_WAIT_POLICY="PASSIVE"))
        bg = read_tif(stem + "_bg.tif").reshape(B, -1).T
        p = parts(Xi.reshape(-1, B), bg, H, W)
        out[kind] = {w: figures(m, fused(p, w)) for w in GRID}
        out[kind + "_rx"] = figures(m, p[3])
        for f in ("_in.tif", "_s.tif", "_bg.tif"):
            os.remove(stem + f)
    return out


def pick(fig):
    """The grid weight with the best (AUC, Pd@1e-2); ties to the smaller weight."""
    return max(GRID, key=lambda w: (round(fig[w][0], 4), fig[w][1], -w))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dump")
    ap.add_argument("models")
    ap.add_argument("--kinds", default="foreign,shape")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scenes", default=",".join(ALL_SCENES))
    a = ap.parse_args()
    kinds = a.kinds.split(",")
    rows = {}
    for scene in a.scenes.split(","):
        rows[scene] = r = scene_rows(scene, a.dump, a.models, kinds, a.seed)
        best = pick(r["truth"])
        print(scene, "landed w %.1f %.4f" % (r["landed"], r["landed_fig"][0]), "| hindsight w %g %.4f" % (
            best, r["truth"][best][0]), "| RX %.4f" % r["rx"][0], *["| %s: w %g -> %.4f (implants: net %.3f, "
            "RX %.3f)" % (k, pick(r[k]), r["truth"][pick(r[k])][0], r[k][0.0][0], r[k + "_rx"][0]) for k in kinds],
              flush=True)
    print("\n| scene | global RX | landed rule | hindsight | " + " | ".join(
        "implants: %s" % k for k in kinds) + " |\n|---|---|---|---|" + "---|" * len(kinds))
    for s, r in rows.items():
        best = pick(r["truth"])
        cell = lambda w: "%.4f / %.3f (w %g)" % (r["truth"][w][0], r["truth"][w][1], w)
        print("| `%s` | %.4f / %.3f | %.4f / %.3f (w %.1f) | %s | %s |" % (
            s, r["rx"][0], r["rx"][1], r["landed_fig"][0], r["landed_fig"][1], r["landed"], cell(best),
            " | ".join(cell(pick(r[k])) for k in kinds)))
    print("\n| candidate | AUC >= RX | Pd@1e-2 >= RX | mean AUC | mean Pd@1e-2 |\n|---|---|---|---|---|")
    cands = {"landed rule": lambda r: r["landed_fig"], "hindsight": lambda r: r["truth"][pick(r["truth"])]}
    cands.update({"implants: %s" % k: (lambda r, k=k: r["truth"][pick(r[k])]) for k in kinds})
    for name, f in cands.items():
        v = [(f(r), r["rx"]) for r in rows.values()]
        print("| %s | %d/%d | %d/%d | %.4f | %.3f |" % (
            name, sum(x[0] >= y[0] for x, y in v), len(v), sum(x[1] >= y[1] for x, y in v), len(v),
            np.mean([x[0] for x, _ in v]), np.mean([x[1] for x, _ in v])))


if __name__ == "__main__":
    main()
