"""The README's main job on each sample format: exit 0, georeferencing kept,
AUC >= 0.95 (printed, and recomputed independently with scikit-learn)."""
import os
import re
import unittest

import numpy as np
from sklearn.metrics import roc_auc_score

from common import SAMPLE, read, run, tmpdir


class MainJob(unittest.TestCase):
    def check(self, name, own_truth=False):
        inp = os.path.join(SAMPLE, name)
        truth = os.path.join(SAMPLE, "scene_truth.tif")
        out = os.path.join(tmpdir(), "score.tif")
        # A .mat scene carries its truth (`map`), so the command finds it alone.
        code, so, se = run("detect", inp, out, "--overwrite", *([] if own_truth else ["--truth", truth]))
        self.assertEqual(code, 0, se)
        auc = float(re.search(r"AUC (\d\.\d+)", so).group(1))
        self.assertGreaterEqual(auc, 0.95)
        s, nodata, d = read(out)
        _, _, src = read('MATLAB:"%s":data' % inp if name.endswith(".mat") else inp)
        self.assertEqual((d.RasterXSize, d.RasterYSize), (src.RasterXSize, src.RasterYSize))
        self.assertEqual(d.GetGeoTransform(), src.GetGeoTransform())
        self.assertTrue(d.GetSpatialRef().IsSame(src.GetSpatialRef()))
        self.assertTrue(d.GetRasterBand(1).GetDescription().startswith("anomaly score"))
        self.assertEqual(d.GetRasterBand(1).GetUnitType(), "-log10(pfa)")  # the default units
        self.assertTrue(np.isfinite(s).all())
        t, _, _ = read(truth)
        self.assertAlmostEqual(roc_auc_score(t.ravel() > 0, s.ravel()), auc, places=3)

    def test_geotiff(self):
        self.check("scene.tif")

    def test_envi(self):
        self.check("scene.img")

    def test_mat(self):
        self.check("scene.mat", own_truth=True)


if __name__ == "__main__":
    unittest.main()
