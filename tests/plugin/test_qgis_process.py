"""The provider through /usr/bin/qgis_process.bin, headless, as a batch user runs it."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np
from osgeo import gdal

from qgis_env import BS3LNET, SAMPLE, SOURCE, headless_env, scratch

gdal.UseExceptions()
QGIS_PROCESS = "/usr/bin/qgis_process.bin"  # /usr/bin/qgis_process is broken on Debian 12
FAST = ["STEPS=30", "FEATURES=16"]


def qgis_process(alg, *params):
    p = subprocess.run([QGIS_PROCESS, "--json", "run", alg, "--", *params], capture_output=True, text=True,
                       env=headless_env(), timeout=600)
    out = p.stdout[p.stdout.find("{"):] if "{" in p.stdout else ""
    return p.returncode, (json.loads(out) if out else {}), p.stdout + p.stderr


class QgisProcess(unittest.TestCase):
    def setUp(self):
        self.d = scratch("bs3l_qgis_")

    def check_raster(self, path, like):
        out, src = gdal.Open(path), gdal.Open(like)
        self.assertEqual((out.RasterXSize, out.RasterYSize), (src.RasterXSize, src.RasterYSize))
        self.assertTrue(out.GetSpatialRef().IsSame(src.GetSpatialRef()))
        self.assertEqual(out.GetGeoTransform(), src.GetGeoTransform())
        self.assertTrue(np.isfinite(out.GetRasterBand(1).ReadAsArray()).all())

    def test_readme_headless_commands(self):
        # README's block as written, on a fresh profile (no plugin enabled
        # yet): only the install folder and the output path are pointed here.
        with open(os.path.join(SOURCE, "README.md")) as f:
            text = f.read()
        block = text.split("From a shell, headless:\n\n```sh\n", 1)[1].split("```", 1)[0]
        self.assertIn("plugins enable bs3lnet", block)
        out = os.path.join(self.d, "readme_score.tif")
        block = block.replace("/usr/local/share/qgis/python/plugins", os.path.join(SOURCE, "plugin", "qgis"))
        block = block.replace("/tmp/score.tif", out)
        home = tempfile.mkdtemp(prefix="bs3l_fresh_home_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("QGIS", "BS3LNET_"))}
        env.update({"HOME": home, "XDG_RUNTIME_DIR": home, "GDAL_PAM_ENABLED": "NO",  # no .aux.xml in sample_data/
                    "PATH": os.path.dirname(BS3LNET) + os.pathsep + env.get("PATH", "")})
        p = subprocess.run(["bash", "-euc", block], cwd=SOURCE, env=env, capture_output=True, text=True, timeout=900)
        shutil.rmtree(home, True)
        self.assertEqual(p.returncode, 0, p.stdout[-2000:] + p.stderr[-2000:])
        self.check_raster(out, os.path.join(SAMPLE, "scene.tif"))
        self.assertTrue(os.path.exists(os.path.join(self.d, "readme_score.qml")))

    def test_model_detect_threshold_outline(self):
        # The shipped Processing model, headless: detect, then threshold, then polygons.
        model = os.path.join(SOURCE, "plugin", "qgis", "bs3lnet", "models", "detect_threshold_outline.model3")
        s, det, poly = (os.path.join(self.d, f) for f in ("s.tif", "det.tif", "poly.gpkg"))
        p = subprocess.run([QGIS_PROCESS, "--json", "run", model, "--", "INPUT=" + os.path.join(SAMPLE, "scene.tif"),
                            "MAX_PFA=0.001", "STEPS=20", "detect:Scores=" + s, "threshold:Detections=" + det,
                            "threshold:Polygons=" + poly], capture_output=True, text=True, env=headless_env(),
                           timeout=600)
        self.assertEqual(p.returncode, 0, p.stdout[-2000:] + p.stderr[-2000:])
        self.check_raster(s, os.path.join(SAMPLE, "scene.tif"))
        ref = os.path.join(self.d, "ref.tif")
        r = subprocess.run([BS3LNET, "threshold", s, "--max-pfa", "0.001", "--detections", ref, "-q"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        a, b = gdal.Open(det), gdal.Open(ref)
        mask = a.GetRasterBand(1).ReadAsArray()
        np.testing.assert_array_equal(mask, b.GetRasterBand(1).ReadAsArray())
        self.assertGreater(int((mask == 1).sum()), 0)
        v = gdal.OpenEx(poly)
        self.assertGreater(v.GetLayer(0).GetFeatureCount(), 0)

    def test_algorithms_listed(self):
        p = subprocess.run([QGIS_PROCESS, "list"], capture_output=True, text=True, env=headless_env(), timeout=300)
        for alg in ("bs3lnet:detect", "bs3lnet:train", "bs3lnet:apply", "bs3lnet:rx", "bs3lnet:threshold",
                    "bs3lnet:evaluate"):
            self.assertIn(alg, p.stdout)

    def test_detect_rx_evaluate(self):
        tif = os.path.join(SAMPLE, "scene.tif")
        score = os.path.join(self.d, "score.tif")
        code, res, log = qgis_process("bs3lnet:detect", "INPUT=" + tif, "OUTPUT=" + score, *FAST,
                                      "VECTOR=" + os.path.join(self.d, "det.gpkg"))
        self.assertEqual(code, 0, log)
        self.assertEqual(res["results"]["OUTPUT"], score)
        self.check_raster(score, tif)
        self.assertTrue(os.path.exists(os.path.join(self.d, "det.gpkg")))
        # another threshold on the same scores, without training again, as the command gives it
        hits = os.path.join(self.d, "hits.tif")
        code, res, log = qgis_process("bs3lnet:threshold", "SCORES=" + score, "MAX_PFA=0.01", "DETECTIONS=" + hits)
        self.assertEqual(code, 0, log)
        self.assertEqual(res["results"]["DETECTIONS"], hits)
        ref = os.path.join(self.d, "hits_ref.tif")
        p = subprocess.run([BS3LNET, "threshold", score, "--max-pfa", "0.01", "--detections", ref, "-q"],
                           capture_output=True, text=True, env=headless_env())
        self.assertEqual(p.returncode, 0, p.stderr)
        a, b = gdal.Open(hits), gdal.Open(ref)
        np.testing.assert_array_equal(a.GetRasterBand(1).ReadAsArray(), b.GetRasterBand(1).ReadAsArray())
        self.assertGreater(int((a.GetRasterBand(1).ReadAsArray() == 1).sum()), 0)
        rx = os.path.join(self.d, "rx.tif")
        code, _, log = qgis_process("bs3lnet:rx", "INPUT=" + tif, "OUTPUT=" + rx)
        self.assertEqual(code, 0, log)
        self.check_raster(rx, tif)
        report = os.path.join(self.d, "report.html")
        code, res, log = qgis_process("bs3lnet:evaluate", "SCORES=" + rx, "TRUTH=" + os.path.join(SAMPLE, "scene_truth.tif"),
                                      "OUTPUT_HTML=" + report)
        self.assertEqual(code, 0, log)
        r = res["results"]
        self.assertGreater(r["AUC_DF"], 0.9)
        self.assertAlmostEqual(r["OA"], r["AUC_DF"] + r["AUC_DTAU"] - r["AUC_FTAU"], places=5)
        with open(report) as f:
            self.assertIn("<svg", f.read())

    def same_as_command(self, alg, params, args, out):
        """qgis_process ALG PARAMS writes what `bs3lnet ARGS` writes."""
        q = os.path.join(self.d, "q_" + out)
        code, _, log = qgis_process("bs3lnet:" + alg, *params, "OUTPUT=" + q)
        self.assertEqual(code, 0, log)
        c = os.path.join(self.d, "c_" + out)
        p = subprocess.run([BS3LNET, *args, c, "-q"], capture_output=True, text=True, env=headless_env())
        self.assertEqual(p.returncode, 0, p.stderr)
        qd, cd = gdal.Open(q), gdal.Open(c)
        np.testing.assert_array_equal(qd.GetRasterBand(1).ReadAsArray(), cd.GetRasterBand(1).ReadAsArray())
        self.assertEqual(qd.GetMetadataItem("BS3LNET_PARAMETERS"), cd.GetMetadataItem("BS3LNET_PARAMETERS"))
        return q

    def test_advanced_options_as_on_the_command_line(self):
        tif = os.path.join(SAMPLE, "scene.tif")
        # detect: enums by index (NORMALIZE zscore = 2, SCORE scaled = 1, UNITS raw = 1)
        self.same_as_command("detect", ["INPUT=" + tif, "STEPS=20", "FEATURES=16", "THREADS=1", "RATIO=0.8",
                                        "SEED=3", "NORMALIZE=2", "SCORE=1", "UNITS=1",
                                        "BANDS=" + ";".join(str(b) for b in range(1, 41))],
                             ["detect", tif, "--steps", "20", "--features", "16", "--threads", "1", "--ratio", "0.8",
                              "--seed", "3", "--normalize", "zscore", "--score", "scaled", "--units", "raw",
                              "-b", "1-40"], "d.tif")
        # rx: local windows, pfa units (rx's UNITS: raw = 0, pfa = 1)
        self.same_as_command("rx", ["INPUT=" + tif, "WINDOW=3,9", "UNITS=1"],
                             ["rx", tif, "--window", "3,9", "--units", "pfa"], "r.tif")
        # train in QGIS, apply both ways with the paper's score
        model = os.path.join(self.d, "m.pt")
        code, _, log = qgis_process("bs3lnet:train", "INPUT=" + tif, "MODEL=" + model, "STEPS=20", "FEATURES=16",
                                    "THREADS=1", "BLOCKS=1")
        self.assertEqual(code, 0, log)
        a = self.same_as_command("apply", ["MODEL=" + model, "INPUT=" + tif, "SCORE=2", "THREADS=1"],
                                 ["apply", model, tif, "--score", "mse", "--threads", "1"], "a.tif")
        # the model QGIS trained is the one the command trains with those options
        cli_model = os.path.join(self.d, "m_cli.pt")
        p = subprocess.run([BS3LNET, "train", tif, cli_model, "--steps", "20", "--features", "16", "--threads", "1",
                            "--blocks", "1", "-q"], capture_output=True, text=True, env=headless_env())
        self.assertEqual(p.returncode, 0, p.stderr)
        b = os.path.join(self.d, "b.tif")
        p = subprocess.run([BS3LNET, "apply", cli_model, tif, b, "--score", "mse", "--threads", "1", "-q"],
                           capture_output=True, text=True, env=headless_env())
        self.assertEqual(p.returncode, 0, p.stderr)
        np.testing.assert_array_equal(gdal.Open(a).ReadAsArray(), gdal.Open(b).ReadAsArray())
        # evaluate: the figures of the command's --json
        truth = os.path.join(SAMPLE, "scene_truth.tif")
        code, res, log = qgis_process("bs3lnet:evaluate", "SCORES=" + a, "TRUTH=" + truth,
                                      "OUTPUT_HTML=" + os.path.join(self.d, "r.html"))
        self.assertEqual(code, 0, log)
        p = subprocess.run([BS3LNET, "evaluate", a, truth, "--json"], capture_output=True, text=True, env=headless_env())
        self.assertAlmostEqual(res["results"]["AUC_DF"], json.loads(p.stdout)["auc_df"], places=6)

    def test_mat_input_through_the_driver(self):
        mat = os.path.join(SAMPLE, "scene.mat")
        for i, inp in enumerate((mat, 'MATLAB:"%s":data' % mat)):  # the file, or its cube variable
            score = os.path.join(self.d, "mat_score%d.tif" % i)
            code, _, log = qgis_process("bs3lnet:detect", "INPUT=" + inp, "OUTPUT=" + score, *FAST)
            self.assertEqual(code, 0, log)
            self.check_raster(score, 'MATLAB:"%s":data' % mat)

    def test_missing_executable_is_a_clear_error(self):
        env = headless_env()
        env["BS3LNET_EXECUTABLE"] = "/nonexistent/bs3lnet"
        p = subprocess.run([QGIS_PROCESS, "run", "bs3lnet:rx", "--", "INPUT=" + os.path.join(SAMPLE, "scene.tif"),
                            "OUTPUT=" + os.path.join(self.d, "x.tif")], capture_output=True, text=True, env=env, timeout=300)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("bs3lnet executable not found", p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main()
