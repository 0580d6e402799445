#!/usr/bin/python3
"""Stores what the fusion screen (bench/fusion_screen.py) needs, per scene and seed:
the default network's reconstructed background (`bs3lnet detect --background`)
and the scores of the landed default, for offline rescoring.

  /usr/bin/python3 bench/fusion_dump.py DIR [--seeds 1] [--threads 2] [--extra "ARGS"]

Writes DIR/<scene>_<seed>_bg.tif and DIR/<scene>_<seed>.tif; skips what is there.
"""
import argparse
import os
import subprocess

from run_bench import HAD, ROOT
from quality import ALL_SCENES


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--seeds", default="1")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--extra", default="", help="more detect options, e.g. '--tile 64'")
    ap.add_argument("--exe", default=os.path.join(ROOT, "build", "plugin", "bs3lnet"))
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    for seed in a.seeds.split(","):
        for scene in ALL_SCENES:
            stem = os.path.join(a.dir, "%s_%s" % (scene[:-4], seed))
            if os.path.exists(stem + "_bg.tif"):
                continue
            cmd = [a.exe, "detect", os.path.join(HAD, scene), stem + ".tif", "--background", stem + "_bg.tif",
                   "--seed", seed, "--threads", str(a.threads), "-q", "--overwrite"] + a.extra.split()
            p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_WAIT_POLICY="PASSIVE"))
            print(scene, seed, p.stdout.strip().splitlines()[-1:] if p.returncode == 0 else p.stderr.strip(),
                  flush=True)


if __name__ == "__main__":
    main()
