#!/usr/bin/python3
"""How well global RX's pfa units hold on the real scenes: the observed
background false-alarm rate at nominal 1e-2 and 1e-3, for the tail shapes
the command can fit (bs3lnet's calibration re-done here on `rx --units raw`
scores: the scene's own share up to its 0.90 quantile, above a line in
ln(share) fitted over the quantiles 0.90-0.99, against the score (exponential
tail) or its logarithm (power-law tail, what `rx --units pfa` fits), and two
geometric blends of the two (ln pfa = a ln pfa_power + (1-a) ln pfa_exp)).

  /usr/bin/python3 bench/rx_calibration.py [--exe build/plugin/bs3lnet]

Prints a markdown table; 'within x2' counts scenes whose observed rate is
within a factor of 2 of nominal.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
from osgeo import gdal

sys.path.insert(0, os.path.dirname(__file__))
from quality import ALL_SCENES  # noqa: E402
from run_bench import HAD, ROOT, machine  # noqa: E402

gdal.UseExceptions()


def fit(score, tail, lo=0.90, hi=0.99):
    s = np.sort(score)
    t = (lambda x: np.log(np.maximum(x, 1e-300))) if tail == "power" else (lambda x: x)
    levels = np.linspace(lo, hi, 21)
    q = np.quantile(s, levels)
    slope = np.polyfit(t(q), np.log(1 - levels), 1)[0]
    u = np.quantile(s, lo)
    p_u = (s >= u).mean()
    # the scene's own share below u, the fitted tail above
    share = 1 - np.searchsorted(s, score, side="left") / len(s)
    tailp = p_u * np.exp(slope * (t(score) - t(u)))
    return np.where(score > u, tailp, share)


def observed(pfa, truth, nominal):
    bg = truth == 0
    return float((pfa[bg] <= nominal).mean())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exe", default=os.path.join(ROOT, "build", "plugin", "bs3lnet"))
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for scene in ALL_SCENES:
            out = os.path.join(d, "rx.tif")
            # not quiet: the command prints which truth variable it scored against
            p = subprocess.run([args.exe, "rx", os.path.join(HAD, scene), out, "--units", "raw", "--overwrite"],
                               capture_output=True, text=True)
            if p.returncode != 0:
                sys.exit(p.stderr)
            truth_name = p.stdout.split("(against ")[1].split(")")[0]
            sd, td = gdal.Open(out), gdal.Open(truth_name)  # a band must not outlive its dataset
            s = sd.GetRasterBand(1).ReadAsArray().astype(np.float64).ravel()
            t = td.GetRasterBand(1).ReadAsArray().ravel()
            ok = np.isfinite(s)
            s, t = s[ok], t[ok]
            row = [scene]
            power, expo = np.log(fit(s, "power")), np.log(fit(s, "exponential"))
            for a in (1.0, 0.0, 0.5, 0.75):
                pfa = np.exp(a * power + (1 - a) * expo)
                row += [observed(pfa, t, 1e-2), observed(pfa, t, 1e-3)]
            rows.append(row)
    print("Machine: %s; exe %s\n" % (machine(), args.exe))
    names = ["power", "exponential", "blend a=0.5", "blend a=0.75"]
    print("Observed background false-alarm rate at nominal 1e-2 / 1e-3:\n")
    print("| scene | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for r in rows:
        print("| %s | %s |" % (r[0], " | ".join("%.2g / %.2g" % (r[1 + 2 * k], r[2 + 2 * k]) for k in range(len(names)))))
    print("| within x2 of nominal | %s |" % " | ".join(
        "%d / %d of %d" % (sum(5e-3 <= r[1 + 2 * k] <= 2e-2 for r in rows), sum(5e-4 <= r[2 + 2 * k] <= 2e-3 for r in rows),
                           len(rows)) for k in range(len(names))))


if __name__ == "__main__":
    main()
