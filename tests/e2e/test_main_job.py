"""The README's main job on each sample format: exit 0, georeferencing kept,
AUC >= 0.95 (printed, and recomputed independently with scikit-learn)."""
import os
import re
import unittest

import numpy as np
from sklearn.metrics import roc_auc_score

from common import SAMPLE, read, run, tmpdir


class MainJob(unittest.TestCase):
    def check(self, name):
        inp = os.path.join(SAMPLE, name)
        truth = os.path.join(SAMPLE, "scene_truth.tif")
        out = os.path.join(tmpdir(), "score.tif")
        code, so, se = run("detect", inp, out, "--truth", truth, "--overwrite")
        self.assertEqual(code, 0, se)
        auc = float(re.search(r"AUC (\d\.\d+)", so).group(1))
        self.assertGreaterEqual(auc, 0.95)
        s, nodata, d = read(out)
        _, _, src = read(inp)
        self.assertEqual((d.RasterXSize, d.RasterYSize), (src.RasterXSize, src.RasterYSize))
        self.assertEqual(d.GetGeoTransform(), src.GetGeoTransform())
        self.assertTrue(d.GetSpatialRef().IsSame(src.GetSpatialRef()))
        self.assertEqual(d.GetRasterBand(1).GetDescription(), "anomaly score")
        self.assertTrue(np.isfinite(s).all())
        t, _, _ = read(truth)
        self.assertAlmostEqual(roc_auc_score(t.ravel() > 0, s.ravel()), auc, places=3)

    def test_geotiff(self):
        self.check("scene.tif")

    def test_envi(self):
        self.check("scene.img")


if __name__ == "__main__":
    unittest.main()
