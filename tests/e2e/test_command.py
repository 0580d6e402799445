"""bs3lnet subcommands: evaluate figures, nodata, train/apply, rx, chaining
with gdal tools, and one clear error with exit code 1 for each bad input."""
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import unittest

import numpy as np
from osgeo import gdal
from sklearn.metrics import roc_auc_score

from common import BS3LNET, HAD_DIR, SAMPLE, SOURCE, need_had, read, run, tmpdir, write_cube

FAST = ["--steps", "20", "--features", "16", "-q"]


def small_cube(seed=0, bands=6, rows=24, cols=30):
    rng = np.random.default_rng(seed)
    base = np.linspace(0.2, 0.8, bands)[:, None, None]
    cube = base + 0.02 * rng.standard_normal((bands, rows, cols))
    if rows > 5 and cols > 7:
        cube[:, 5, 7] = np.linspace(0.9, 0.1, bands)
    return cube.astype(np.float32)


def md5(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


class Evaluate(unittest.TestCase):
    def reference(self, extra):
        d = tmpdir()
        s = np.zeros((1, 20, 20), np.float32)
        t = np.zeros((1, 20, 20), np.float32)
        t[0, :5, :5] = 1
        s[0, :5, :3] = 10
        if extra:
            s[0, 19, 19] = 100
        write_cube(os.path.join(d, "s.tif"), s)
        write_cube(os.path.join(d, "t.tif"), t)
        code, so, se = run("evaluate", os.path.join(d, "s.tif"), os.path.join(d, "t.tif"), "--json",
                           "--roc", os.path.join(d, "roc.csv"), "--plot", os.path.join(d, "roc.svg"))
        self.assertEqual(code, 0, se)
        self.assertTrue(os.path.getsize(os.path.join(d, "roc.svg")) > 100)
        with open(os.path.join(d, "roc.csv")) as f:
            self.assertEqual(f.readline().strip(), "tau,pd,pf")
        # its files follow the rule of every output: refused if they exist, unless --overwrite
        again = ("evaluate", os.path.join(d, "s.tif"), os.path.join(d, "t.tif"), "--roc", os.path.join(d, "roc.csv"))
        code, _, se = run(*again)
        self.assertEqual(code, 1)
        self.assertIn("--overwrite", se)
        self.assertEqual(run(*again, "--overwrite")[0], 0)
        self.assertEqual([f for f in os.listdir(d) if ".tmp" in f], [])
        return json.loads(so)

    def test_reference_case_1(self):
        r = self.reference(False)
        self.assertAlmostEqual(r["auc_df"], 0.8, places=6)
        self.assertAlmostEqual(r["auc_ftau"], 0.5, places=6)
        self.assertAlmostEqual(r["auc_dtau"], 0.8, places=6)

    def test_reference_case_2(self):
        r = self.reference(True)
        self.assertAlmostEqual(r["auc_df"], 0.797867, places=6)
        self.assertAlmostEqual(r["auc_ftau"], 0.052533, places=6)
        self.assertAlmostEqual(r["auc_dtau"], 0.35, places=6)
        # The JSON rounds each figure to 6 decimals: sums agree to 1e-5.
        self.assertAlmostEqual(r["odp"], 0.35 + 1 - r["auc_ftau"], places=5)
        self.assertAlmostEqual(r["oa"], r["auc_df"] + 0.35 - r["auc_ftau"], places=5)

    def test_matches_sklearn_with_ties(self):
        d = tmpdir()
        rng = np.random.default_rng(4)
        s = np.round(rng.random((1, 30, 30)) * 20).astype(np.float32)  # many ties
        t = (rng.random((1, 30, 30)) < 0.1).astype(np.float32)
        s[t > 0] += 3
        write_cube(os.path.join(d, "s.tif"), s)
        write_cube(os.path.join(d, "t.tif"), t)
        code, so, se = run("evaluate", os.path.join(d, "s.tif"), os.path.join(d, "t.tif"), "--json")
        self.assertEqual(code, 0, se)
        self.assertAlmostEqual(json.loads(so)["auc_df"], roc_auc_score(t.ravel(), s.ravel()), places=6)


class Rasters(unittest.TestCase):
    def test_nodata_stays_nodata(self):
        d = tmpdir()
        cube = small_cube()
        cube[:, 10, 10] = -1
        cube[:, 0, 0] = -1
        write_cube(os.path.join(d, "in.tif"), cube, nodata=-1)
        code, _, se = run("detect", os.path.join(d, "in.tif"), os.path.join(d, "out.tif"), *FAST)
        self.assertEqual(code, 0, se)
        s, nodata, _ = read(os.path.join(d, "out.tif"))
        self.assertEqual(s[10, 10], nodata)
        self.assertEqual(s[0, 0], nodata)
        self.assertEqual(int((s == nodata).sum()), 2)
        # the reconstructed background too: no values invented for nodata
        code, _, se = run("detect", os.path.join(d, "in.tif"), os.path.join(d, "out2.tif"), *FAST, "--background",
                          os.path.join(d, "bg.tif"))
        self.assertEqual(code, 0, se)
        _, bg_nodata, ds = read(os.path.join(d, "bg.tif"))
        bg = ds.ReadAsArray().astype(np.float64)
        self.assertEqual(bg.shape[0], cube.shape[0])
        self.assertTrue((bg[:, 10, 10] == bg_nodata).all() and (bg[:, 0, 0] == bg_nodata).all())
        self.assertEqual(int((bg == bg_nodata).sum()), 2 * bg.shape[0])

    def test_train_apply_equals_detect(self):
        d = tmpdir()
        write_cube(os.path.join(d, "in.tif"), small_cube())
        p = lambda f: os.path.join(d, f)
        self.assertEqual(run("detect", p("in.tif"), p("a.tif"), *FAST, "--threads", "1")[0], 0)
        self.assertEqual(run("train", p("in.tif"), p("m.pt"), *FAST, "--threads", "1")[0], 0)
        code, _, se = run("apply", p("m.pt"), p("in.tif"), p("b.tif"), "-q", "--threads", "1")
        self.assertEqual(code, 0, se)
        np.testing.assert_array_equal(read(p("a.tif"))[0], read(p("b.tif"))[0])
        # Same seed and threads: bit-identical scores.
        self.assertEqual(run("detect", p("in.tif"), p("c.tif"), *FAST, "--threads", "1")[0], 0)
        np.testing.assert_array_equal(read(p("a.tif"))[0], read(p("c.tif"))[0])
        # Every score, from a saved model too.
        for score in ("mse", "scaled"):
            self.assertEqual(run("detect", p("in.tif"), p("d.tif"), *FAST, "--threads", "1", "--score", score,
                                 "--overwrite")[0], 0)
            self.assertEqual(run("apply", p("m.pt"), p("in.tif"), p("e.tif"), "-q", "--threads", "1", "--score",
                                 score, "--overwrite")[0], 0)
            np.testing.assert_array_equal(read(p("d.tif"))[0], read(p("e.tif"))[0])

    def test_srcwin_tiles_mosaic_to_the_whole_scene(self):
        # A scene larger than the 256-pixel detection grid, cut into windows
        # that do not follow it: each window reads its halo from around it.
        d = tmpdir()
        p = lambda f: os.path.join(d, f)
        write_cube(p("in.tif"), small_cube(seed=3, rows=300, cols=270), gt=(500000, 10, 0, 4000000, 0, -10))
        self.assertEqual(run("train", p("in.tif"), p("m.pt"), *FAST, "--threads", "2")[0], 0)
        code, _, se = run("apply", p("m.pt"), p("in.tif"), p("whole.tif"), "-q", "--threads", "2")
        self.assertEqual(code, 0, se)
        tiles = []
        for x, y, w, h in [(0, 0, 130, 170), (130, 0, 140, 170), (0, 170, 130, 130), (130, 170, 140, 130)]:
            tiles.append(p("t_%d_%d.tif" % (x, y)))
            code, _, se = run("apply", p("m.pt"), p("in.tif"), tiles[-1], "-srcwin", x, y, w, h, "-q", "--threads", "2")
            self.assertEqual(code, 0, se)
            _, _, ds = read(tiles[-1])
            self.assertEqual((ds.RasterXSize, ds.RasterYSize), (w, h))
            self.assertEqual(ds.GetGeoTransform(), (500000 + 10 * x, 10, 0, 4000000 - 10 * y, 0, -10))
            ds = None
        gdal.BuildVRT(p("mosaic.vrt"), tiles).FlushCache()
        whole, _, wd = read(p("whole.tif"))
        mosaic, _, md = read(p("mosaic.vrt"))
        self.assertEqual(md.GetGeoTransform(), wd.GetGeoTransform())
        np.testing.assert_array_equal(mosaic, whole)

    def test_streamed_scores_equal_in_memory(self):
        # --stream reads the scene window by window; the scores are the same,
        # with nodata and a mask, for detect, apply and rx.
        d = tmpdir()
        p = lambda f: os.path.join(d, f)
        cube = small_cube(seed=4, rows=70, cols=50)
        cube[:, 10, 10] = -1
        write_cube(p("in.tif"), cube, nodata=-1)
        mask = np.ones((1, 70, 50), np.float32)
        mask[0, 40:45, 20:30] = 0
        write_cube(p("mask.tif"), mask)
        line = {"detect": lambda o: ["detect", p("in.tif"), o, *FAST, "--save-model", p("m.pt")],
                "apply": lambda o: ["apply", p("m.pt"), p("in.tif"), o, "-q"],
                "rx": lambda o: ["rx", p("in.tif"), o, "-q"]}
        for extra in ([], ["--mask", p("mask.tif")]):
            for cmd in ("detect", "apply", "rx"):
                for stream in ([], ["--stream"]):
                    code, _, se = run(*line[cmd](p("%s%d.tif" % (cmd, len(stream)))), *stream, *extra, "--overwrite")
                    self.assertEqual(code, 0, (cmd, se))
                (m, nodata, _), s = read(p(cmd + "0.tif")), read(p(cmd + "1.tif"))[0]
                self.assertEqual(int((m == nodata).sum()), 1 + (50 if extra else 0), cmd)
                if cmd == "rx":
                    np.testing.assert_allclose(s, m, rtol=1e-5)
                else:
                    np.testing.assert_array_equal(s, m, cmd)

    def test_large_geotiff_outputs_are_tiled(self):
        d = tmpdir()
        p = lambda f: os.path.join(d, f)
        write_cube(p("in.tif"), np.random.default_rng(0).random((2, 1000, 1000), dtype=np.float32))
        for out, co in (("tiled.tif", []), ("strips.tif", ["-co", "TILED=NO"])):
            code, _, se = run("rx", p("in.tif"), p(out), "-q", *co)
            self.assertEqual(code, 0, se)
        tiled, strips = read(p("tiled.tif"))[2], read(p("strips.tif"))[2]  # datasets held while their bands are used
        self.assertEqual(tiled.GetRasterBand(1).GetBlockSize(), [256, 256])
        self.assertEqual(strips.GetRasterBand(1).GetBlockSize()[0], 1000)

    def test_streamed_real_scene_equals_in_memory(self):
        need_had(self)
        d = tmpdir()
        scene = os.path.join(HAD_DIR, "hydice-ii.mat")
        for stream in ([], ["--stream"]):
            code, _, se = run("detect", scene, os.path.join(d, "s%d.tif" % len(stream)), "--steps", "30", "-q",
                              "--threads", "2", *stream)
            self.assertEqual(code, 0, se)
        np.testing.assert_array_equal(read(os.path.join(d, "s1.tif"))[0], read(os.path.join(d, "s0.tif"))[0])

    def test_all_nodata_window(self):
        # A tile that is all nodata: nodata scores, nothing detected, exit 0.
        d = tmpdir()
        p = lambda f: os.path.join(d, f)
        cube = small_cube(seed=5, rows=40, cols=40)
        cube[:, :12, :12] = -1
        write_cube(p("in.tif"), cube, nodata=-1)
        self.assertEqual(run("train", p("in.tif"), p("m.pt"), *FAST)[0], 0)
        code, _, se = run("apply", p("m.pt"), p("in.tif"), p("t.tif"), "-srcwin", "0", "0", "10", "10", "-q",
                          "--detections", p("hits.tif"))
        self.assertEqual(code, 0, se)
        s, nodata, _ = read(p("t.tif"))
        self.assertTrue((s == nodata).all())
        hits, hits_nodata, _ = read(p("hits.tif"))
        self.assertFalse((hits == 1).any())

    def test_nodata_rule_nodata_option_and_nan(self):
        # A pixel is nodata when every band holds the nodata value; a value
        # equal to it in one band is data. NaN in any band: nodata, counted.
        d = tmpdir()
        p = lambda f: os.path.join(d, f)
        c = small_cube()
        c[:, 2, 2] = 0     # nodata in every band
        c[2, 8, 9] = 0     # 0 in one band only: a dark value, data
        c[:, 10, 10] = 7   # a value only --nodata declares
        c[3, 12, 12] = np.nan
        c[1, 14, 14] = np.inf
        write_cube(p("in.tif"), c, nodata=0)
        code, so, se = run("detect", p("in.tif"), p("a.tif"), *FAST[:-1])
        self.assertEqual(code, 0, se)
        self.assertIn("Nodata: 2 pixel(s) with NaN or Inf in some band are left out", so)
        self.assertIn("Warning: 1 pixel(s) hold the nodata value in some bands only and are used as data", se)
        # 7 in every band looks like fill: said, with the option that declares it
        self.assertIn("Warning: 1 valid pixel(s) hold one value in every band (commonest: 7), as fill does; "
                      "if it is fill, declare it nodata (--nodata 7)", se)
        # streamed (windows read by several passes), the same report: each pixel counted once
        code, so2, se2 = run("detect", p("in.tif"), p("s.tif"), *FAST[:-1], "--stream")
        self.assertEqual(code, 0, se2)
        self.assertIn("Streaming: ", so2)
        self.assertIn("Nodata: 2 pixel(s) with NaN or Inf in some band are left out", so2)
        self.assertIn("Warning: 1 pixel(s) hold the nodata value in some bands only and are used as data", se2)
        self.assertIn("Warning: 1 valid pixel(s) hold one value in every band (commonest: 7)", se2)
        s, nd, _ = read(p("a.tif"))
        self.assertEqual([s[2, 2], s[12, 12], s[14, 14]], [nd] * 3)
        self.assertNotEqual(s[8, 9], nd)
        self.assertNotEqual(s[10, 10], nd)
        self.assertEqual(int((s == nd).sum()), 3)
        # --nodata replaces the file's value; none ignores it
        code, so, se = run("detect", p("in.tif"), p("b.tif"), *FAST[:-1], "--nodata", "7")
        self.assertEqual(code, 0, se)
        self.assertNotIn("(commonest: 7)", se)  # declared now; the zeros of (2, 2) are data, and said
        self.assertIn("Warning: 1 valid pixel(s) hold one value in every band (commonest: 0)", se)
        s, nd, _ = read(p("b.tif"))
        self.assertEqual([s[10, 10], s[12, 12], s[14, 14]], [nd] * 3)
        self.assertNotEqual(s[2, 2], nd)
        self.assertEqual(int((s == nd).sum()), 3)
        code, so, se = run("rx", p("in.tif"), p("c.tif"), "-q", "--nodata", "none")
        self.assertEqual(code, 0, se)
        s, nd, _ = read(p("c.tif"))
        self.assertEqual(int((s == nd).sum()), 2)  # NaN and Inf only
        code, so, _ = run("info", p("in.tif"))
        self.assertIn("Valid:      717 of 720 pixels", so)
        self.assertIn("Nodata:     0, in every band at 1 pixel(s), in some bands only at 1 (used as data); "
                      "NaN or Inf at 2 pixel(s) (left out); one value in every band at 1 pixel(s) (e.g. 7: "
                      "undeclared fill?)", so)
        code, so, _ = run("info", p("in.tif"), "--nodata", "none")
        self.assertIn("Valid:      718 of 720 pixels", so)
        self.assertIn("Nodata:     none; NaN or Inf at 2 pixel(s) (left out)", so)
        code, _, se = run("info", p("in.tif"), "--nodata", "zero")
        self.assertEqual(code, 1)
        self.assertIn("--nodata wants a number, nan or none, not 'zero'", se)
        # GDAL's own per-dataset mask (e.g. a GeoTIFF's internal mask) leaves pixels out in every band
        write_cube(p("m.tif"), small_cube())
        ds = gdal.Open(p("m.tif"), gdal.GA_Update)
        ds.CreateMaskBand(gdal.GMF_PER_DATASET)
        mask = np.full((24, 30), 255, np.uint8)
        mask[20, 20] = mask[3, 3] = 0
        ds.GetRasterBand(1).GetMaskBand().WriteArray(mask)
        ds = None
        code, so, _ = run("info", p("m.tif"))
        self.assertIn("Valid:      718 of 720 pixels", so)
        code, _, se = run("rx", p("m.tif"), p("m_rx.tif"), "-q")
        self.assertEqual(code, 0, se)
        s, nd, _ = read(p("m_rx.tif"))
        self.assertEqual([s[20, 20], s[3, 3]], [nd, nd])
        self.assertEqual(int((s == nd).sum()), 2)

    def test_pfa_ranks_as_raw_on_a_large_scene(self):
        # 1000 x 1000 pixels, more than the reference sample holds (every 8th
        # pixel is kept), and a model's reference from a smaller scene: pfa
        # must still order the pixels as the raw scores do (same AUC).
        d = tmpdir()
        p = lambda f: os.path.join(d, f)
        rng = np.random.default_rng(8)
        big = small_cube(seed=8, bands=4, rows=1000, cols=1000)
        truth = np.zeros((1, 1000, 1000), np.float32)
        for r, c in rng.integers(10, 990, (60, 2)):
            big[:, r:r + 2, c:c + 2] += rng.uniform(0.02, 0.1, (4, 1, 1)).astype(np.float32)
            truth[0, r:r + 2, c:c + 2] = 1
        write_cube(p("big.tif"), big)
        write_cube(p("small.tif"), small_cube(seed=9, bands=4, rows=200, cols=200))
        self.assertEqual(run("train", p("small.tif"), p("m.pt"), *FAST, "--threads", "2")[0], 0)
        t = truth.ravel() > 0
        for stats in ("scene", "model"):
            aucs = []
            for units in ("raw", "pfa"):
                out = p("%s_%s.tif" % (stats, units))
                code, _, se = run("apply", p("m.pt"), p("big.tif"), out, "-q", "--threads", "2", "--stats", stats,
                                  "--units", units)
                self.assertEqual(code, 0, se)
                aucs.append(roc_auc_score(t, read(out)[0].ravel()))
            self.assertAlmostEqual(aucs[0], aucs[1], places=9, msg=stats)

    def test_stats_model_or_scene(self):
        # The model's reference scores another scene on the training scene's
        # scale; --stats scene refits on the input (as detect does).
        d = tmpdir()
        p = lambda f: os.path.join(d, f)
        write_cube(p("a.tif"), small_cube(seed=1))
        write_cube(p("b.tif"), 1.5 * small_cube(seed=2))
        self.assertEqual(run("detect", p("b.tif"), p("detect_b.tif"), *FAST, "--threads", "1", "--units", "raw")[0], 0)
        self.assertEqual(run("train", p("a.tif"), p("m.pt"), *FAST, "--threads", "1")[0], 0)
        for stats in ("model", "scene"):
            code, _, se = run("apply", p("m.pt"), p("b.tif"), p(stats + ".tif"), "-q", "--threads", "1", "--stats",
                              stats, "--units", "raw")
            self.assertEqual(code, 0, se)
        model, scene, own = read(p("model.tif"))[0], read(p("scene.tif"))[0], read(p("detect_b.tif"))[0]
        self.assertFalse(np.array_equal(model, scene))
        # refitted on b, the scores sit on b's own scale, as detect's on b do;
        # the training scene's reference puts b (1.5x brighter) far above it
        m, sc, ow = (float(np.median(x)) for x in (model, scene, own))
        self.assertLess(abs(np.log(sc / ow)), 0.5 * abs(np.log(m / ow)), (m, sc, ow))
        self.assertIn("stats=scene", read(p("scene.tif"))[2].GetMetadataItem("BS3LNET_PARAMETERS"))

    def test_rx_and_extras(self):
        d = tmpdir()
        write_cube(os.path.join(d, "in.tif"), small_cube())
        p = lambda f: os.path.join(d, f)
        code, _, se = run("rx", p("in.tif"), p("rx.tif"), "-q")
        self.assertEqual(code, 0, se)
        s = read(p("rx.tif"))[0]
        self.assertEqual(np.unravel_index(np.argmax(s), s.shape), (5, 7))
        code, _, se = run("detect", p("in.tif"), p("s.tif"), *FAST, "--background", p("bg.tif"),
                          "--detections", p("det.tif"), "--top-percent", "1")
        self.assertEqual(code, 0, se)
        self.assertEqual(read(p("bg.tif"))[2].RasterCount, 6)
        det = read(p("det.tif"))[0]
        self.assertEqual(int(det.sum()), int(np.ceil(0.01 * det.size)) or 1)

    def test_output_names_without_extension_and_envi_pairs(self):
        d = tmpdir()
        write_cube(os.path.join(d, "in.tif"), small_cube())
        p = lambda f: os.path.join(d, f)
        ref = None
        for name, extra, driver, sidecar in (("plain", [], "GTiff", None), ("envi", ["-of", "ENVI"], "ENVI", "envi.hdr"),
                                             ("s.img", [], "ENVI", "s.hdr"), ("s.dat", [], "ENVI", "s.hdr"),
                                             ("l.bil", [], "ENVI", "l.hdr")):
            for again in ([], ["--overwrite"]):  # a second run replaces the first
                code, _, se = run("rx", p("in.tif"), p(name), "-q", *extra, *again)
                self.assertEqual(code, 0, se)
                self.assertEqual(sorted(f for f in os.listdir(d) if f.startswith(".") or "bs3l_old" in f), [], name)
                ds = gdal.Open(p(name))
                self.assertEqual(ds.GetDriver().ShortName, driver, name)
                if sidecar:
                    self.assertTrue(os.path.exists(p(sidecar)), name)
                s = ds.ReadAsArray()
                ref = s if ref is None else ref
                np.testing.assert_array_equal(s, ref)
        self.assertIn("bil", open(p("l.hdr")).read().lower())
        code, _, se = run("train", p("in.tif"), p("model"), *FAST)
        self.assertEqual(code, 0, se)
        self.assertTrue(os.path.isfile(p("model")))
        self.assertEqual(run("apply", p("model"), p("in.tif"), p("score"), "-q")[0], 0)
        self.assertEqual(sorted(f for f in os.listdir(d) if f.startswith(".") or "bs3l_old" in f), [])
        # two outputs of one run that would land on one file: refused, nothing written
        code, _, se = run("detect", p("in.tif"), p("res"), *FAST, "-of", "ENVI", "--background", p("res.img"))
        self.assertEqual(code, 1)
        self.assertIn("res.hdr", se)
        self.assertFalse(os.path.exists(p("res")) or os.path.exists(p("res.img")))

    def test_bare_output_names_in_the_working_folder(self):
        # "score.tif" with no folder: every file of the run (styles, masks,
        # vectors, an ENVI pair and its .aux.xml) lands under its name, twice
        # with --overwrite; hits.gpkg leaves the hits.qml of hits.tif alone.
        d = tmpdir()
        write_cube(os.path.join(d, "in.tif"), small_cube())
        for again in ([], ["--overwrite"]):
            code, _, se = run("rx", "in.tif", "score.tif", "--units", "pfa", "--detections", "hits.tif",
                              "--max-pfa", "1e-2", "--vector", "hits.gpkg", "-q", *again, cwd=d)
            self.assertEqual(code, 0, se)
            code, _, se = run("rx", "in.tif", "envi", "-of", "ENVI", "-q", *again, cwd=d)
            self.assertEqual(code, 0, se)
            self.assertEqual(sorted(os.listdir(d)), ["envi", "envi.aux.xml", "envi.hdr", "hits.gpkg", "hits.qml", "hits.tif",
                                                     "in.tif", "score.qml", "score.tif"])
        self.assertEqual(read(os.path.join(d, "hits.tif"))[0][5, 7], 1)

    def test_fusion_choice_printed_saved_and_in_metadata(self):
        d = tmpdir()
        write_cube(os.path.join(d, "in.tif"), small_cube())
        p = lambda f: os.path.join(d, f)
        code, so, se = run("detect", p("in.tif"), p("a.tif"), *FAST[:-1], "--save-model", p("m.pt"))
        self.assertEqual(code, 0, se)
        line = next(l for l in so.splitlines() if l.startswith("Fusion: "))
        k = float(line.split("kurtosis ")[1].split()[0])
        w = float(line.split("-> weight ")[1].split()[0])
        self.assertAlmostEqual(w, 0.2 + 200 * max(0.0, k - 1.2), delta=0.001 * w + 1e-3)
        self.assertIn("(auto: 0.2 + 200 x max(0, kurtosis - 1.2))", line)
        ds = read(p("a.tif"))[2]  # held: a band must not outlive its dataset
        self.assertEqual(ds.GetRasterBand(1).GetMetadataItem("BS3LNET_FUSION"), line[len("Fusion: "):])
        # apply measures against the saved reference: the same weight, the same scores
        code, so2, se = run("apply", p("m.pt"), p("in.tif"), p("b.tif"))
        self.assertEqual(code, 0, se)
        self.assertIn(line.replace("auto: 0.2 + 200 x max(0, kurtosis - 1.2)", "saved with the model"), so2)
        np.testing.assert_array_equal(read(p("a.tif"))[0], read(p("b.tif"))[0])
        # a weight given by the user is used and said so; 0 is the two-term fusion of earlier versions
        code, so3, se = run("apply", p("m.pt"), p("in.tif"), p("c.tif"), "--rx-all-weight", "3", "-q")
        self.assertEqual(code, 0, se)
        ds = read(p("c.tif"))[2]
        band = ds.GetRasterBand(1)
        self.assertIn("weight 3 for RX against every pixel (--rx-all-weight)", band.GetMetadataItem("BS3LNET_FUSION"))
        self.assertIn("3 x pfa(global RX, every pixel)", band.GetMetadataItem("BS3LNET_RAW_UNIT"))
        self.assertNotIn("per block", line)
        # the purified RX term: full rank on 6 bands (the default keeps 20 directions), weight 0.2;
        # on 2 leading directions weight 1, saved with the model; a weight given is said so
        self.assertIn("0.2 for RX against the purified background (auto; full rank)", line)
        code, so4, se = run("detect", p("in.tif"), p("e.tif"), *FAST[:-1], "--rx-rank", "2", "--save-model", p("r.pt"))
        self.assertEqual(code, 0, se)
        ranked = "1 for RX against the purified background (auto; its 2 leading principal directions)"
        self.assertIn(ranked, so4)
        ds = read(p("e.tif"))[2]  # held, as above
        self.assertIn("rx_rank=2", ds.GetMetadataItem("BS3LNET_PARAMETERS"))
        code, so5, se = run("apply", p("r.pt"), p("in.tif"), p("f.tif"))
        self.assertEqual(code, 0, se)
        self.assertIn(ranked, so5)
        np.testing.assert_array_equal(read(p("e.tif"))[0], read(p("f.tif"))[0])
        self.assertFalse(np.array_equal(read(p("a.tif"))[0], read(p("e.tif"))[0]))
        code, so6, se = run("apply", p("r.pt"), p("in.tif"), p("g.tif"), "--rx-weight", "0.5")
        self.assertEqual(code, 0, se)
        self.assertIn("0.5 for RX against the purified background (--rx-weight; its 2 leading principal directions)", so6)

    def test_stray_values_are_said_and_leave_the_scale(self):
        d = tmpdir()
        p = lambda f: os.path.join(d, f)
        cube = small_cube()
        write_cube(p("clean.tif"), cube)
        cube[2, 10, 12] = 1e6  # a saturated detector element, say
        write_cube(p("stray.tif"), cube)
        code, so, se = run("detect", p("clean.tif"), p("a.tif"), *FAST[:-1])
        self.assertEqual(code, 0, se)
        self.assertNotIn("Input scaling", so)
        code, so, se = run("detect", p("stray.tif"), p("b.tif"), *FAST[:-1], "--save-model", p("m.pt"))
        self.assertEqual(code, 0, se)
        line = next(l for l in so.splitlines() if l.startswith("Input scaling: "))
        self.assertIn("values range from", line)
        self.assertIn("to 1e+06;", line)
        top = float(line.split("those beyond ")[1].split("..")[1].split()[0])
        self.assertLess(top, 10)  # the fence, near the scene's own values (0.1-0.95)
        # kept with the scores, for whoever opens them later, and in --json
        self.assertEqual(read(p("b.tif"))[2].GetMetadataItem("BS3LNET_INPUT_SCALING"), line[len("Input scaling: "):])
        self.assertIsNone(read(p("a.tif"))[2].GetMetadataItem("BS3LNET_INPUT_SCALING"))
        code, so, se = run("detect", p("stray.tif"), p("j.tif"), *FAST[:-1], "--json")
        self.assertEqual(code, 0, se)
        self.assertEqual(json.loads(so)["input_scaling"], line[len("Input scaling: "):])
        # the model keeps the fences: applied, the same scores
        code, so, se = run("apply", p("m.pt"), p("stray.tif"), p("c.tif"), "-q")
        self.assertEqual(code, 0, se)
        np.testing.assert_array_equal(read(p("b.tif"))[0], read(p("c.tif"))[0])
        # apply counts the pixels beyond the model's fences, in memory, streamed and in a window
        said = "Input scaling: 1 pixel(s) hold values beyond the model's fences "
        for extra in ([], ["--stream"], ["-srcwin", "5", "4", "12", "10"]):
            code, so, se = run("apply", p("m.pt"), p("stray.tif"), p("d.tif"), "--overwrite", *extra)
            self.assertEqual(code, 0, se)
            self.assertIn(said, so, extra)
            self.assertIn(read(p("d.tif"))[2].GetMetadataItem("BS3LNET_INPUT_SCALING"), so)
        for args in ([p("clean.tif")], [p("stray.tif"), "-srcwin", "14", "4", "12", "10"]):
            code, so, se = run("apply", p("m.pt"), args[0], p("d.tif"), "--overwrite", *args[1:])
            self.assertEqual(code, 0, se)
            self.assertNotIn("Input scaling", so, args)

    def test_fusion_weight_per_block_on_a_scene_larger_than_the_block(self):
        # A scene over 128 pixels in a side gets the rule's weight and RX's
        # background per block (here 2 x 1 blocks), said, saved in the
        # metadata and with the model.
        d = tmpdir()
        p = lambda f: os.path.join(d, f)
        write_cube(p("in.tif"), small_cube(rows=140, cols=12))
        code, so, se = run("detect", p("in.tif"), p("a.tif"), *FAST[:-1], "--save-model", p("m.pt"))
        self.assertEqual(code, 0, se)
        line = next(l for l in so.splitlines() if l.startswith("Fusion: "))
        self.assertIn("per block of the 140x12 scene (2x1, row by row, each block's own RX kurtosis; RX against every "
                      "pixel on the block's own background): weights ", line)
        weights = [float(x) for x in line.split("weights ")[1].split()]
        self.assertEqual(len(weights), 2)
        self.assertTrue(all(w >= 0.2 for w in weights), line)
        ds = read(p("a.tif"))[2]
        self.assertEqual(ds.GetRasterBand(1).GetMetadataItem("BS3LNET_FUSION"), line[len("Fusion: "):])
        unit = ds.GetRasterBand(1).GetMetadataItem("BS3LNET_RAW_UNIT")
        self.assertIn("w x pfa(RX against every pixel of the block)", unit)
        self.assertIn("w: the weight of the pixel's block", unit)
        code, so2, se = run("apply", p("m.pt"), p("in.tif"), p("b.tif"))
        self.assertEqual(code, 0, se)
        self.assertIn("weights " + line.split("weights ")[1], so2)
        np.testing.assert_array_equal(read(p("a.tif"))[0], read(p("b.tif"))[0])
        # A long strip (1 x 18 blocks): the terminal gets their spread, the metadata each one.
        write_cube(p("strip.tif"), small_cube(rows=20, cols=2200))
        code, so, se = run("detect", p("strip.tif"), p("c.tif"), *FAST[:-1])
        self.assertEqual(code, 0, se)
        line = next(l for l in so.splitlines() if l.startswith("Fusion: "))
        self.assertRegex(line, r"\(1x18, .*\): weights from [0-9.]+ to [0-9.]+, median [0-9.]+ \(every block's in")
        ds = read(p("c.tif"))[2]  # held: a band must not outlive its dataset
        full = ds.GetRasterBand(1).GetMetadataItem("BS3LNET_FUSION")
        listed = [float(x) for x in full.split("weights ")[1].split()]
        self.assertEqual(len(listed), 18)
        self.assertIn("from %g to %g" % (min(listed), max(listed)), line)

    def test_auto_steps_follow_the_scene_area(self):
        # A scene larger than the training tile trains 300 visits per pixel
        # (300 x area / tile area steps), said and saved; one within a tile
        # keeps 300 steps and says nothing; --steps N is used as given.
        d = tmpdir()
        p = lambda f: os.path.join(d, f)
        write_cube(p("in.tif"), small_cube(rows=24, cols=40))
        small = ["--features", "4", "--blocks", "0", "--threads", "1"]
        code, so, se = run("detect", p("in.tif"), p("a.tif"), "--tile", "20", *small)
        self.assertEqual(code, 0, se)
        steps = round(300 * 24 * 40 / (20 * 20))  # 720
        self.assertIn("Training steps: %d (300 visits per pixel on a scene larger than the 20-pixel training tile"
                      % steps, so)
        self.assertIn("mode=fast steps=%d " % steps, read(p("a.tif"))[2].GetMetadataItem("BS3LNET_PARAMETERS"))
        code, so, se = run("detect", p("in.tif"), p("b.tif"), "--tile", "40", *small, "--steps", "7")
        self.assertEqual(code, 0, se)
        self.assertNotIn("Training steps:", so)
        self.assertIn("mode=fast steps=7 ", read(p("b.tif"))[2].GetMetadataItem("BS3LNET_PARAMETERS"))
        code, so, se = run("detect", p("in.tif"), p("c.tif"), *small, "--steps", "-1")
        self.assertNotEqual(code, 0)
        self.assertIn("--steps must be 0 (auto) or positive", se)

    def test_outputs_land_together_or_not_at_all(self):
        # A run with every output; a failure injected while writing any one of
        # them leaves no new file, and under --overwrite every previous file
        # byte-identical.
        d = tmpdir()
        write_cube(os.path.join(d, "in.tif"), small_cube())
        p = lambda f: os.path.join(d, f)
        outs = ["s.tif", "m.pt", "det.tif", "bg.tif", "hits.gpkg", "look.png"]
        args = ["detect", p("in.tif"), p("s.tif"), *FAST, "--save-model", p("m.pt"), "--detections", p("det.tif"),
                "--background", p("bg.tif"), "--vector", p("hits.gpkg"), "--quicklook", p("look.png")]
        for name in outs:
            code, _, se = run(*args, env={"BS3L_TEST_FAIL_OUTPUT": name})
            self.assertEqual(code, 1, name)
            self.assertIn("injected failure", se)
            self.assertEqual(sorted(os.listdir(d)), ["in.tif"], name)  # nothing new, no temporary file
        code, _, se = run(*args)
        self.assertEqual(code, 0, se)
        before = {f: md5(p(f)) for f in os.listdir(d)}
        self.assertTrue(set(outs) <= set(before))
        for name in outs:
            # failing while that output is written, or while the run's
            # finished outputs are renamed into place (the others put back)
            for var in ("BS3L_TEST_FAIL_OUTPUT", "BS3L_TEST_FAIL_RENAME"):
                code, _, se = run(*args, "--overwrite", "--seed", "7", env={var: name})
                self.assertEqual(code, 1, (var, name))
                self.assertIn("injected failure", se)
                self.assertEqual({f: md5(p(f)) for f in os.listdir(d)}, before, (var, name))
        code, _, se = run(*args, "--overwrite", "--seed", "7")  # and without a failure, all replaced
        self.assertEqual(code, 0, se)
        after = {f: md5(p(f)) for f in os.listdir(d)}
        self.assertEqual(sorted(after), sorted(before))
        self.assertNotEqual(after["s.tif"], before["s.tif"])
        self.assertNotEqual(after["m.pt"], before["m.pt"])
        # evaluate's two files, the same way
        e = tmpdir()
        q = lambda f: os.path.join(e, f)
        write_cube(q("s.tif"), small_cube()[:1])
        t = np.zeros((1, 24, 30), np.float32)
        t[0, 5, 7] = 1
        write_cube(q("t.tif"), t)
        eargs = ["evaluate", q("s.tif"), q("t.tif"), "--roc", q("roc.csv"), "--plot", q("roc.svg")]
        for name in ("roc.csv", "roc.svg"):
            code, _, se = run(*eargs, env={"BS3L_TEST_FAIL_OUTPUT": name})
            self.assertEqual((code, sorted(os.listdir(e))), (1, ["s.tif", "t.tif"]), se)
        self.assertEqual(run(*eargs)[0], 0)
        before = {f: md5(q(f)) for f in os.listdir(e)}
        write_cube(q("s.tif"), small_cube(seed=4)[:1])
        before["s.tif"] = md5(q("s.tif"))
        for name in ("roc.csv", "roc.svg"):
            for var in ("BS3L_TEST_FAIL_OUTPUT", "BS3L_TEST_FAIL_RENAME"):
                code, _, se = run(*eargs, "--overwrite", env={var: name})
                self.assertEqual(code, 1, (var, name, se))
                self.assertEqual({f: md5(q(f)) for f in os.listdir(e)}, before, (var, name))

    def test_threshold_scores_once_threshold_often(self):
        # threshold gives from a written score raster what detect gave with
        # the same threshold; rx joins the same chain.
        d = tmpdir()
        p = lambda f: os.path.join(d, f)
        tif = os.path.join(SAMPLE, "scene.tif")
        code, _, se = run("detect", tif, p("s.tif"), *FAST, "--max-pfa", "1e-2", "--detections", p("d1.tif"),
                          "--vector", p("v1.gpkg"))
        self.assertEqual(code, 0, se)
        code, so, se = run("threshold", p("s.tif"), "--max-pfa", "1e-2", "--detections", p("d2.tif"), "--vector",
                           p("v2.gpkg"))
        self.assertEqual(code, 0, se)
        d1, d2 = read(p("d1.tif")), read(p("d2.tif"))
        np.testing.assert_array_equal(d1[0], d2[0])
        self.assertEqual(d1[2].GetGeoTransform(), d2[2].GetGeoTransform())
        n = int((d1[0] == 1).sum())
        self.assertGreater(n, 0)
        self.assertIn("Threshold 2: %d pixel(s) detected" % n, so)
        v1, v2 = gdal.OpenEx(p("v1.gpkg")), gdal.OpenEx(p("v2.gpkg"))
        self.assertEqual(v1.GetLayer(0).GetFeatureCount(), v2.GetLayer(0).GetFeatureCount())
        code, so, se = run("threshold", p("s.tif"), "--top-percent", "5", "--detections", p("d3.tif"), "-q")
        self.assertEqual(code, 0, se)
        self.assertAlmostEqual(float((read(p("d3.tif"))[0] == 1).mean()), 0.05, delta=0.002)
        # rx: threads, pfa units, detections and polygons, as threshold gives them
        code, _, se = run("rx", tif, p("r.tif"), "--threads", "1", "--units", "pfa", "--max-pfa", "1e-2",
                          "--detections", p("rd1.tif"), "--vector", p("rv.geojson"), "-q")
        self.assertEqual(code, 0, se)
        code, _, se = run("threshold", p("r.tif"), "--max-pfa", "1e-2", "--detections", p("rd2.tif"), "-q")
        self.assertEqual(code, 0, se)
        np.testing.assert_array_equal(read(p("rd1.tif"))[0], read(p("rd2.tif"))[0])
        self.assertTrue(os.path.getsize(p("rv.geojson")) > 0)
        # any OGR format: a shapefile's files land together; GeoJSON in lon/lat
        # (RFC 7946: no crs member); -nln names the layer, -lco reaches OGR
        code, _, se = run("threshold", p("s.tif"), "--max-pfa", "1e-2", "--vector", p("v.shp"), "-nln", "targets", "-q")
        self.assertEqual(code, 0, se)
        self.assertEqual(sorted(f for f in os.listdir(d) if f.startswith("v.")), ["v.dbf", "v.prj", "v.shp", "v.shx"])
        shp = gdal.OpenEx(p("v.shp"))
        self.assertEqual(shp.GetLayer(0).GetFeatureCount(), v1.GetLayer(0).GetFeatureCount())
        code, _, se = run("threshold", p("s.tif"), "--max-pfa", "1e-2", "--vector", p("v.geojson"), "-nln", "targets",
                          "-lco", "COORDINATE_PRECISION=4", "-q")
        self.assertEqual(code, 0, se)
        with open(p("v.geojson")) as f:
            gj = json.load(f)
        self.assertNotIn("crs", gj)
        self.assertEqual(gj["name"], "targets")
        ring = gj["features"][0]["geometry"]["coordinates"][0]
        lon, lat = ring[0]
        self.assertTrue(14 < lon < 15 and 40 < lat < 41.5, ring[0])  # the sample scene: UTM 33N near 14.2E 40.8N
        self.assertTrue(all(len(repr(v).split(".")[-1]) <= 4 for pt in ring for v in pt), ring)
        code, _, se = run("threshold", p("s.tif"), "--vector", p("noext"), "-f", "GPKG", "-q")
        self.assertEqual(code, 0, se)
        self.assertEqual(gdal.OpenEx(p("noext")).GetDriver().ShortName, "GPKG")
        self.assertEqual([f for f in os.listdir(d) if ".tmp" in f], [])
        # what cannot work is refused before anything is written
        self.assertEqual(run("rx", tif, p("raw.tif"), "-q")[0], 0)
        for args, needle in ((["threshold", p("s.tif")], "give --detections FILE, --vector FILE or both"),
                             (["threshold", p("raw.tif"), "--max-pfa", "1e-3", "--detections", p("x.tif")],
                              "--max-pfa needs scores in pfa units"),
                             (["threshold", p("s.tif"), "--detections", p("d2.tif")], "exists; use --overwrite"),
                             (["threshold", p("s.tif"), "--threshold", "3", "--top-percent", "1", "--detections",
                               p("x.tif")], "give one of"),
                             (["threshold", p("s.tif"), "--vector", p("x.abc")], "cannot tell the vector format"),
                             (["threshold", p("s.tif"), "--vector", p("x.gpkg"), "-f", "GTiff"],
                              "not a vector format")):
            code, _, se = run(*args)
            self.assertEqual(code, 1, args)
            self.assertIn(needle, se)
        self.assertFalse(os.path.exists(p("x.tif")))

    def test_quicklook_says_when_it_is_false_colour(self):
        d = tmpdir()
        write_cube(os.path.join(d, "in.tif"), small_cube())  # no wavelengths
        code, so, se = run("detect", os.path.join(d, "in.tif"), os.path.join(d, "s.tif"), *FAST[:-1], "--quicklook",
                           os.path.join(d, "q.png"))
        self.assertEqual(code, 0, se)
        self.assertIn("Quicklook: the input names no wavelengths; false-colour composite of bands 5, 4, 2", so)
        code, so, se = run("detect", os.path.join(SAMPLE, "scene.tif"), os.path.join(d, "t.tif"), *FAST[:-1],
                           "--quicklook", os.path.join(d, "t.png"))
        self.assertEqual(code, 0, se)
        self.assertNotIn("false-colour", so)  # the sample scene names its wavelengths: true colour

    def test_json_result_for_scripts(self):
        # --json: one JSON object on stdout, after the outputs landed, naming them
        d = tmpdir()
        p = lambda f: os.path.join(d, f)
        tif, truth = os.path.join(SAMPLE, "scene.tif"), os.path.join(SAMPLE, "scene_truth.tif")
        code, so, se = run("detect", tif, p("s.tif"), "--steps", "20", "--features", "16", "--json", "--truth", truth,
                           "--max-pfa", "1e-2", "--detections", p("d.tif"))
        self.assertEqual(code, 0, se)
        r = json.loads(so)  # nothing else on stdout
        self.assertEqual(r["command"], "detect")
        self.assertEqual(sorted(r["outputs"]), sorted([p("s.tif"), p("s.qml"), p("d.tif"), p("d.qml")]))
        self.assertTrue(all(os.path.exists(f) for f in r["outputs"]))
        self.assertEqual(r["units"], "pfa")
        self.assertIn("kurtosis", r["fusion"])
        self.assertIn("exponential tail", r["calibration"])
        self.assertIn("ranked onto the `scaled` score", r["calibration"])  # the fused default's scale
        s, _, _ = read(p("s.tif"))
        t, _, _ = read(truth)
        self.assertAlmostEqual(r["auc"], roc_auc_score(t.ravel() > 0, s.ravel()), places=6)
        self.assertEqual(r["detections"]["pixels"], int((read(p("d.tif"))[0] == 1).sum()))
        self.assertAlmostEqual(r["detections"]["threshold"], 2.0)
        self.assertGreater(r["seconds"], r["seconds_training"])
        self.assertGreater(r["seconds_training"], 0)
        code, so, se = run("rx", tif, p("r.tif"), "--json")
        self.assertEqual(code, 0, se)
        r = json.loads(so)
        self.assertEqual((r["command"], r["method"], r["units"], r["outputs"]), ("rx", "global RX", "raw", [p("r.tif")]))
        self.assertNotIn("auc", r)  # no truth given, none beside a GeoTIFF
        # evaluate's JSON too goes through the JSON library: parseable, and --json-usage as well
        for cmd in ("detect", "apply", "rx", "threshold", "evaluate"):
            json.loads(run(cmd, "--json-usage")[1])

    def test_local_rx(self):
        d = tmpdir()
        write_cube(os.path.join(d, "in.tif"), small_cube())
        p = lambda f: os.path.join(d, f)
        code, _, se = run("rx", p("in.tif"), p("lrx.tif"), "--window", "3,9", "-q")
        self.assertEqual(code, 0, se)
        s, _, ds = read(p("lrx.tif"))
        self.assertEqual(np.unravel_index(np.argmax(s), s.shape), (5, 7))
        self.assertEqual(ds.GetMetadataItem("BS3LNET_METHOD"), "local RX")
        code, _, se = run("rx", p("in.tif"), p("bad.tif"), "--window", "9,3")
        self.assertEqual(code, 1)
        self.assertIn("INNER < OUTER", se)

    def test_vector_and_quicklook(self):
        from osgeo import ogr, osr
        d = tmpdir()
        p = lambda f: os.path.join(d, f)
        write_cube(p("in.tif"), small_cube(), gt=(500000, 10, 0, 4000000, 0, -10), epsg=32611)
        code, so, se = run("detect", p("in.tif"), p("s.tif"), *FAST, "--top-percent", "0.2",
                           "--vector", p("det.gpkg"), "--quicklook", p("look.png"))
        self.assertEqual(code, 0, se)
        v = ogr.Open(p("det.gpkg"))
        layer = v.GetLayer(0)
        self.assertGreaterEqual(layer.GetFeatureCount(), 1)
        self.assertTrue(layer.GetSpatialRef().IsSame(read(p("in.tif"))[2].GetSpatialRef()))
        wgs84 = osr.SpatialReference()
        wgs84.ImportFromEPSG(4326)
        wgs84.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        to_ll = osr.CoordinateTransformation(layer.GetSpatialRef(), wgs84)
        top = max(layer, key=lambda f: f["peak_score"])
        # The implanted outlier at row 5, col 7: its pixel centre, area and lon/lat.
        self.assertEqual((top["x"], top["y"]), (500000 + 7.5 * 10, 4000000 - 5.5 * 10))
        # UTM scale factor 0.9996 at the central meridian: 10 m grid cells cover (10/0.9996)^2 m^2
        self.assertAlmostEqual(top["area_m2"] / (100 * top["pixels"]), 1 / 0.9996 ** 2, places=3)
        lon, lat, _ = to_ll.TransformPoint(top["x"], top["y"])
        self.assertAlmostEqual(top["lon"], lon, places=9)
        self.assertAlmostEqual(top["lat"], lat, places=9)
        self.assertTrue(top.GetGeometryRef().Contains(ogr.CreateGeometryFromWkt("POINT (%f %f)" % (top["x"], top["y"]))))
        from osgeo import gdal
        q = gdal.Open(p("look.png"))
        self.assertEqual((q.GetDriver().ShortName, q.RasterCount), ("PNG", 3))
        self.assertEqual(q.RasterXSize, 2 * 30 * 10 + 8)  # two 30-column panels, zoomed 10x, 8 px apart
        self.assertEqual([f for f in os.listdir(d) if ".tmp" in f], [])
        code, _, se = run("detect", p("in.tif"), p("t.tif"), *FAST, "--vector", p("det.txt"))
        self.assertEqual(code, 1)
        self.assertIn("cannot tell the vector format", se)

    def test_mat_input_and_info_lists_nodata_and_bad_bands(self):
        d = tmpdir()
        p = lambda f: os.path.join(d, f)
        code, so, se = run("detect", os.path.join(SAMPLE, "scene.mat"), p("s.tif"), *FAST)
        self.assertEqual(code, 0, se)
        code, so, se = run("detect", os.path.join(SAMPLE, "scene.mat"), p("s.tif"), *FAST[:-1], "--overwrite")
        self.assertIn('against MATLAB:"%s":map' % os.path.join(SAMPLE, "scene.mat"), so)  # its own truth variable
        self.assertIn('Truth: MATLAB:"%s":map (the first of the truth names map, gt, mask' % os.path.join(
            SAMPLE, "scene.mat"), so)  # which variable, and by which rule
        # apply finds it too (it once looked beside the model instead)
        self.assertEqual(run("train", os.path.join(SAMPLE, "scene.mat"), p("m.pt"), *FAST)[0], 0)
        code, so, se = run("apply", p("m.pt"), os.path.join(SAMPLE, "scene.mat"), p("a.tif"), "--threads", "1")
        self.assertEqual(code, 0, se)
        self.assertIn('against MATLAB:"%s":map' % os.path.join(SAMPLE, "scene.mat"), so)
        code, so, _ = run("info", os.path.join(SAMPLE, "scene.img"))
        self.assertIn("Bad bands:  28-30,43,44 (dropped", so)
        self.assertIn("Nodata:     none", so)
        write_cube(p("nd.tif"), small_cube(), nodata=-1)
        code, so, _ = run("info", p("nd.tif"))
        self.assertIn("Nodata:     -1, in every band at 0 pixel(s)", so)
        self.assertIn("Bands used: 1-6\n", so)

    def test_info_counts_a_long_line_in_bounded_memory(self):
        # 1000 columns x 8000 lines x 200 bands of float32: 6.4 GB, as a sparse
        # ENVI file (no disk used). info reads it in strips.
        d = tmpdir()
        data = os.path.join(d, "line.img")
        with open(data, "wb") as f:
            f.truncate(1000 * 8000 * 200 * 4)
        with open(os.path.join(d, "line.hdr"), "w") as f:
            f.write("ENVI\nsamples = 1000\nlines = 8000\nbands = 200\nheader offset = 0\nfile type = ENVI Standard\n"
                    "data type = 4\ninterleave = bil\nbyte order = 0\ndata ignore value = 0\n")
        probe = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
                 "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); print(p.stdout)")
        p = subprocess.run([sys.executable, "-c", probe, BS3LNET, "info", data], capture_output=True, text=True,
                           timeout=600)
        code, rss_kb = map(int, p.stdout.split("\n")[0].split())
        self.assertEqual(code, 0, p.stdout + p.stderr)
        self.assertIn("Size:       1000 columns x 8000 lines", p.stdout.replace("rows", "lines"))
        self.assertIn("Valid:      0 of 8000000 pixels", p.stdout)
        self.assertLess(rss_kb, 200 * 1024, p.stdout)

    def test_truth_from_a_mat_file_with_several_variables(self):
        # --truth x.mat and evaluate s.tif x.mat read its truth variable (map),
        # not band 1 of its cube.
        d = tmpdir()
        s = os.path.join(d, "s.tif")
        code, so, se = run("detect", os.path.join(SAMPLE, "scene.tif"), s, *FAST[:-1], "--truth",
                           os.path.join(SAMPLE, "scene.mat"))
        self.assertEqual(code, 0, se)
        code, by_tif, se = run("evaluate", s, os.path.join(SAMPLE, "scene_truth.tif"), "--json")
        self.assertEqual(code, 0, se)
        code, by_mat, se = run("evaluate", s, os.path.join(SAMPLE, "scene.mat"), "--json")
        self.assertEqual(code, 0, se)
        self.assertEqual(json.loads(by_mat), json.loads(by_tif))
        self.assertIn("AUC %.4f" % json.loads(by_tif)["auc_df"], so)

    def test_sddata_georef_mat_gives_utm_11n_geotiff(self):
        need_had(self)
        d = tmpdir()
        out = os.path.join(d, "sd.tif")
        code, so, se = run("detect", os.path.join(HAD_DIR, "sddata_georef.mat"), out, "--steps", "30", "-q")
        self.assertEqual(code, 0, se)
        info = subprocess.run(["gdalinfo", out], capture_output=True, text=True).stdout
        self.assertIn("NAD27 / UTM zone 11N", info)
        self.assertIn('ID["EPSG",26711]', info)
        self.assertIn("Pixel Size = (3.500000000000000,-3.500000000000000)", info)

    def test_ctrl_c_leaves_no_output(self):
        d = tmpdir()
        p = lambda f: os.path.join(d, f)
        write_cube(p("in.tif"), small_cube(rows=60, cols=60))
        proc = subprocess.Popen([BS3LNET, "detect", p("in.tif"), p("s.tif"), "--steps", "100000"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(4)
        before = md5(p("in.tif"))
        proc.send_signal(signal.SIGINT)
        _, se = proc.communicate(timeout=60)
        self.assertEqual(md5(p("in.tif")), before)
        self.assertEqual(proc.returncode, 130, se)
        self.assertIn("interrupted", se)
        self.assertEqual(sorted(os.listdir(d)), ["in.tif"])

    def test_one_progress_bar_across_the_phases(self):
        # read, train, detect and write share one 0-100 bar (what QGIS shows):
        # stdout holds it once, whole, on a line of its own.
        d = tmpdir()
        p = lambda f: os.path.join(d, f)
        write_cube(p("in.tif"), small_cube())
        bar = "0...10...20...30...40...50...60...70...80...90...100 - done."
        fast = ["--steps", "20", "--features", "16"]
        self.assertEqual(run("train", p("in.tif"), p("m.pt"), *FAST)[0], 0)
        for mode in ([], ["--stream"]):
            for args in (["detect", p("in.tif"), p("s.tif"), *fast, "--save-model", p("m2.pt"), "--detections",
                          p("d.tif"), "--vector", p("v.gpkg")],
                         ["train", p("in.tif"), p("m3.pt"), *fast],
                         ["apply", p("m.pt"), p("in.tif"), p("a.tif"), "--detections", p("ad.tif")],
                         ["rx", p("in.tif"), p("r.tif")]):
                code, so, se = run(*args, *mode, "--overwrite")
                self.assertEqual(code, 0, se)
                progress = [l for l in so.splitlines() if re.match(r"^[\d.]+( - done\.)?$", l)]
                self.assertEqual(progress, [bar], (args[0], mode, so))

    def test_quiet_prints_only_the_auc(self):
        # -q: no bar, no messages, but the AUC line scripts read (bench/quality.py)
        d = tmpdir()
        code, so, se = run("rx", os.path.join(SAMPLE, "scene.tif"), os.path.join(d, "r.tif"), "--truth",
                           os.path.join(SAMPLE, "scene_truth.tif"), "-q")
        self.assertEqual(code, 0, se)
        self.assertRegex(so, r"^AUC 0\.\d{4} \(against .*scene_truth\.tif\)\n$")

    def test_ctrl_c_in_every_phase_in_memory_and_streamed(self):
        # SIGINT raised as the run reaches each phase (BS3L_TEST_SIGINT), with
        # every output asked for: exit 130, nothing new, every previous file
        # byte-identical; train and apply the same.
        d = tmpdir()
        p = lambda f: os.path.join(d, f)
        write_cube(p("in.tif"), small_cube())
        outs = ["--save-model", p("m.pt"), "--detections", p("det.tif"), "--vector", p("hits.gpkg")]
        for mode in ([], ["--stream"]):
            args = ["detect", p("in.tif"), p("s.tif"), *FAST, *outs, *mode, "--overwrite"]
            if not mode:  # these two need the scene in memory
                args += ["--background", p("bg.tif"), "--quicklook", p("look.png")]
            self.assertEqual(run(*args)[0], 0)
            before = {f: md5(p(f)) for f in os.listdir(d)}
            for phase in ("read", "train", "detect", "write"):
                code, _, se = run(*args, "--seed", "9", env={"BS3L_TEST_SIGINT": phase})
                self.assertEqual(code, 130, (mode, phase, se))
                self.assertIn("interrupted; no output written", se)
                self.assertEqual({f: md5(p(f)) for f in os.listdir(d)}, before, (mode, phase))
            for phase in ("read", "train", "detect"):
                code, _, se = run("train", p("in.tif"), p("m.pt"), *FAST, *mode, "--overwrite", "--seed", "9",
                                  env={"BS3L_TEST_SIGINT": phase})
                self.assertEqual(code, 130, ("train", mode, phase, se))
                self.assertEqual({f: md5(p(f)) for f in os.listdir(d)}, before, ("train", mode, phase))
            for phase in ("read", "detect", "write"):
                code, _, se = run("apply", p("m.pt"), p("in.tif"), p("s.tif"), "-q", *mode, "--overwrite",
                                  env={"BS3L_TEST_SIGINT": phase})
                self.assertEqual(code, 130, ("apply", mode, phase, se))
                self.assertEqual({f: md5(p(f)) for f in os.listdir(d)}, before, ("apply", mode, phase))

    def test_envi_bad_bands_dropped_and_band_list(self):
        code, so, _ = run("info", os.path.join(SAMPLE, "scene.img"))
        self.assertEqual(code, 0)
        self.assertIn("55 band(s) used (5 bad band(s) dropped by bbl)", so)
        self.assertIn("EPSG:32633", so)
        code, so, _ = run("info", os.path.join(SAMPLE, "scene.img"), "--keep-bad-bands", "-b", "1-10,20")
        self.assertIn("11 band(s) used", so)
        # an explicit -b list wins over bbl (bands 28-30 are marked bad)
        code, so, _ = run("info", os.path.join(SAMPLE, "scene.img"), "-b", "27-31")
        self.assertIn("5 band(s) used", so)
        self.assertIn("Bands used: 27-31\n", so)
        # a bbl list of the wrong length is ignored, with a warning
        d = tmpdir()
        shutil.copy(os.path.join(SAMPLE, "scene.img"), os.path.join(d, "x.img"))
        hdr = open(os.path.join(SAMPLE, "scene.hdr")).read()
        start = hdr.index("bbl")
        end = hdr.index("}", start) + 1
        open(os.path.join(d, "x.hdr"), "w").write(hdr[:start] + "bbl = {1, 0, 1}" + hdr[end:])
        code, so, se = run("info", os.path.join(d, "x.img"))
        self.assertEqual(code, 0, se)
        self.assertIn("60 band(s) used", so)
        self.assertIn("bbl list has 3 entries for 60 bands; it is ignored", se)

    def test_sample_forms_share_the_bad_band_list(self):
        """scene.img (ENVI bbl), scene.tif (bbl metadata) and scene.mat (bbl
        variable) give the same 55 bands, so a model trained on one applies
        to the others."""
        for f in ("scene.img", "scene.tif", "scene.mat"):
            code, so, se = run("info", os.path.join(SAMPLE, f))
            self.assertEqual(code, 0, se)
            self.assertIn("55 band(s) used (5 bad band(s) dropped by bbl)", so, f)
            self.assertIn("Bad bands:  28-30,43,44 (dropped", so, f)
        d = tmpdir()
        m = os.path.join(d, "m.pt")
        self.assertEqual(run("train", os.path.join(SAMPLE, "scene.img"), m, *FAST)[0], 0)
        for f in ("scene.tif", "scene.mat"):
            code, _, se = run("apply", m, os.path.join(SAMPLE, f), os.path.join(d, f + ".score.tif"), "-q")
            self.assertEqual(code, 0, (f, se))
        np.testing.assert_array_equal(read(os.path.join(d, "scene.tif.score.tif"))[0],
                                      read(os.path.join(d, "scene.mat.score.tif"))[0])

    def test_readme_chaining_example_as_written(self):
        """The README's shell chain, copied from README.md, on the sample scene:
        a non-empty mask at pfa 1e-3, mostly on the truth."""
        readme = open(os.path.join(SOURCE, "README.md")).read()
        after = readme[readme.index("Chaining with GDAL tools"):]
        block = after[after.index("```sh") + 5:after.index("```", after.index("```sh") + 5)]
        d = tmpdir()
        os.makedirs(os.path.join(d, "build", "plugin"))
        os.symlink(BS3LNET, os.path.join(d, "build", "plugin", "bs3lnet"))
        os.symlink(SAMPLE, os.path.join(d, "sample_data"))
        p = subprocess.run(["bash", "-ec", block], capture_output=True, text=True, cwd=d)
        self.assertEqual(p.returncode, 0, p.stderr)
        hits = read(os.path.join(d, "hits.tif"))[0]
        truth = read(os.path.join(SAMPLE, "scene_truth.tif"))[0] > 0
        self.assertGreater(int(hits.sum()), 0)
        self.assertGreater(int((hits * truth).sum()), 0.5 * hits.sum())  # mostly targets
        self.assertLess((hits * ~truth).sum() / (~truth).sum(), 1e-2)    # nominal 1e-3
        self.assertTrue(os.path.exists(os.path.join(d, "score_cog.tif")))

    def test_crs_epoch_gcp_ids_and_geolocation_paths_survive(self):
        from osgeo import osr
        d = tmpdir()
        p = lambda f: os.path.join(d, f)
        write_cube(p("in.tif"), small_cube())
        ds = gdal.Open(p("in.tif"), gdal.GA_Update)
        srs = ds.GetSpatialRef()
        srs.SetCoordinateEpoch(2021.5)  # what only WKT2-era objects hold
        ds.SetSpatialRef(srs)
        ds = None
        os.makedirs(p("out"))
        self.assertEqual(run("rx", p("in.tif"), p("out/r.tif"), "-q")[0], 0)
        self.assertEqual(read(p("out/r.tif"))[2].GetSpatialRef().GetCoordinateEpoch(), 2021.5)
        # GCP-only input (a VRT, which keeps GCP ids): ids and info kept (the
        # ENVI output holds them in its .aux.xml); polygons in lon/lat from the GCPs
        cube = small_cube()
        g = gdal.GetDriverByName("GTiff").Create(p("gcp.tif"), 30, 24, cube.shape[0], gdal.GDT_Float32)
        for i in range(cube.shape[0]):
            g.GetRasterBand(i + 1).WriteArray(cube[i])
        g = None
        wgs84 = osr.SpatialReference()
        wgs84.ImportFromEPSG(4326)
        corners = [(0, 0), (30, 0), (0, 24), (30, 24)]
        gcps = [gdal.GCP(10 + 0.001 * c, 45 - 0.001 * r, 0, c, r, "corner %d" % k, "G%d" % k)
                for k, (c, r) in enumerate(corners)]
        for name, arr in (("lon.tif", np.tile(10 + 0.001 * (np.arange(30) + 0.5), (24, 1))),
                          ("lat.tif", np.tile(45 - 0.001 * (np.arange(24)[:, None] + 0.5), (1, 30)))):
            a = gdal.GetDriverByName("GTiff").Create(p(name), 30, 24, 1, gdal.GDT_Float64)
            a.GetRasterBand(1).WriteArray(arr)
            a = None
        v = gdal.Translate(p("gcp.vrt"), p("gcp.tif"), format="VRT")
        v.SetGCPs(gcps, wgs84.ExportToWkt())
        v.SetMetadata({"X_DATASET": "lon.tif", "X_BAND": "1", "Y_DATASET": "lat.tif", "Y_BAND": "1",
                       "PIXEL_OFFSET": "0", "LINE_OFFSET": "0", "PIXEL_STEP": "1", "LINE_STEP": "1",
                       "SRS": wgs84.ExportToWkt()}, "GEOLOCATION")
        v = None
        code, _, se = run("detect", p("gcp.vrt"), p("out/s.img"), "-of", "ENVI", *FAST, "--top-percent", "0.2",
                          "--vector", p("out/s.gpkg"))
        self.assertEqual(code, 0, se)
        o = read(p("out/s.img"))[2]
        self.assertEqual([(c.Id, c.Info) for c in o.GetGCPs()], [("G%d" % k, "corner %d" % k) for k in range(4)])
        geo = o.GetMetadata("GEOLOCATION")  # relative paths would now point into out/
        self.assertTrue(os.path.isabs(geo["X_DATASET"]) and os.path.exists(geo["X_DATASET"]), geo)
        from osgeo import ogr
        vec = ogr.Open(p("out/s.gpkg"))  # held: a layer outliving its source crashes the bindings
        layer = vec.GetLayer(0)
        self.assertEqual(layer.GetSpatialRef().GetAuthorityCode(None), "4326")
        top = max(layer, key=lambda f: f["peak_score"])
        self.assertAlmostEqual(top["lon"], 10 + 0.001 * 7.5, places=6)  # the outlier at row 5, col 7
        self.assertAlmostEqual(top["lat"], 45 - 0.001 * 5.5, places=6)
        cell = (0.001 * 111195) * (0.001 * 111195 * np.cos(np.radians(45)))  # m^2 of one 0.001-degree cell
        self.assertAlmostEqual(top["area_m2"] / (cell * top["pixels"]), 1, delta=0.01)

    def test_envi_output_pair_and_no_stale_sidecar(self):
        d = tmpdir()
        p = lambda f: os.path.join(d, f)
        write_cube(p("in.tif"), small_cube())
        self.assertEqual(run("rx", p("in.tif"), p("r.tif"), "-q")[0], 0)
        code, _, se = run("rx", p("in.tif"), p("r.img"), "-q", "-of", "ENVI")
        self.assertEqual(code, 0, se)
        with open(p("r.hdr")) as f:
            hdr = f.read()
        self.assertNotIn(".tmp", hdr)  # the header once named the temporary data file
        self.assertIn("r.img", hdr)
        np.testing.assert_array_equal(read(p("r.img"))[0], read(p("r.tif"))[0])
        self.assertEqual([f for f in os.listdir(d) if ".tmp" in f], [])
        # --overwrite: an old .aux.xml (QGIS statistics, a style) does not outlive its raster
        with open(p("r.tif.aux.xml"), "w") as f:
            f.write('<PAMDataset><Metadata><MDI key="STALE">1</MDI></Metadata></PAMDataset>')
        self.assertEqual(run("rx", p("in.tif"), p("r.tif"), "-q", "--overwrite")[0], 0)
        self.assertFalse(os.path.exists(p("r.tif.aux.xml")))
        self.assertIsNone(read(p("r.tif"))[2].GetMetadataItem("STALE"))
        # and overwriting the ENVI pair keeps a consistent pair
        self.assertEqual(run("rx", p("in.tif"), p("r.img"), "-q", "-of", "ENVI", "--overwrite", "--units", "pfa")[0], 0)
        with open(p("r.hdr")) as f:
            self.assertNotIn(".tmp", f.read())
        ds = read(p("r.img"))[2]  # held: a band outliving its dataset crashes the bindings
        self.assertEqual(ds.GetRasterBand(1).GetMetadataItem("BS3LNET_UNITS"), "pfa")

    def test_units_pfa_and_raw_order_pixels_alike(self):
        d = tmpdir()
        p = lambda f: os.path.join(d, f)
        write_cube(p("in.tif"), small_cube())
        truth = np.zeros((1, 24, 30), np.float32)
        truth[0, 5, 7] = 1
        write_cube(p("t.tif"), truth)
        self.assertEqual(run("train", p("in.tif"), p("m.pt"), *FAST)[0], 0)
        code, _, se = run("apply", p("m.pt"), p("in.tif"), p("a.tif"), "-q", "--detections", p("det.tif"),
                          "--max-pfa", "1e-2")
        self.assertEqual(code, 0, se)
        self.assertEqual(run("apply", p("m.pt"), p("in.tif"), p("r.tif"), "-q", "--units", "raw")[0], 0)
        a, _, da = read(p("a.tif"))
        r, _, dr = read(p("r.tif"))
        sign = lambda v: np.sign(v.ravel()[:, None] - v.ravel()[None, :])
        sa, sr = sign(a), sign(r)
        # The same order: no pair ranked the other way round. Two raw scores
        # in one gap between the reference's sample scores may share a pfa
        # (apply's float sums need not equal the sample's to the last bit).
        self.assertEqual(int((sa * sr < 0).sum()), 0)
        self.assertLess(int(((sa == 0) & (sr != 0)).sum()), 1e-4 * sa.size)
        self.assertFalse(np.array_equal(a, r))
        ba, br = da.GetRasterBand(1), dr.GetRasterBand(1)
        self.assertEqual((ba.GetMetadataItem("BS3LNET_UNITS"), ba.GetUnitType()), ("pfa", "-log10(pfa)"))
        self.assertIn("exponential tail", ba.GetMetadataItem("BS3LNET_CALIBRATION"))
        self.assertEqual(ba.GetMetadataItem("BS3LNET_RAW_UNIT"), br.GetMetadataItem("BS3LNET_RAW_UNIT"))
        self.assertEqual((br.GetMetadataItem("BS3LNET_UNITS"), br.GetUnitType()), ("raw", ""))
        np.testing.assert_array_equal(read(p("det.tif"))[0], (a >= 2).astype(float))  # --max-pfa 1e-2 = A>=2
        code, so, se = run("evaluate", p("a.tif"), p("t.tif"), "--json", "--plot", p("cal.svg"))
        self.assertEqual(code, 0, se)
        self.assertIn("observed_far_at_1e-3", json.loads(so))
        with open(p("cal.svg")) as f:
            self.assertIn("calibration", f.read())
        self.assertNotIn("observed_far_at_1e-3", json.loads(run("evaluate", p("r.tif"), p("t.tif"), "--json")[1]))
        # rx: raw by default, pfa on request (power-law tail), same order
        self.assertEqual(run("rx", p("in.tif"), p("rx.tif"), "-q")[0], 0)
        self.assertEqual(run("rx", p("in.tif"), p("rxp.tif"), "-q", "--units", "pfa")[0], 0)
        rx, rxp = read(p("rx.tif")), read(p("rxp.tif"))
        np.testing.assert_array_equal(sign(rx[0]), sign(rxp[0]))
        self.assertIn("power-law tail", rxp[2].GetRasterBand(1).GetMetadataItem("BS3LNET_CALIBRATION"))
        self.assertEqual(rx[2].GetRasterBand(1).GetMetadataItem("BS3LNET_UNITS"), "raw")


class Options(unittest.TestCase):
    """The option table: --json-usage and --help from it, GDAL's -oo and
    --config, GDAL warnings, and --protocol paper."""

    def test_version_names_ours_and_the_libraries(self):
        code, so, se = run("--version")
        self.assertEqual(code, 0, se)
        self.assertRegex(so, r"^bs3lnet \d+\.\d+\.\d+ \(git .+\), GDAL \d+\.\d+\.\d+, LibTorch \d+\.\d+\.\d+, CUDA ")
        self.assertEqual(so.count("\n"), 1)

    def test_json_usage_lists_every_option_the_parser_takes(self):
        for cmd in ("detect", "train", "apply", "rx", "evaluate", "info", "synth"):
            code, so, se = run(cmd, "--json-usage")
            self.assertEqual(code, 0, se)
            usage = json.loads(so)
            self.assertEqual(usage["command"], cmd)
            names = [o["name"] for o in usage["options"]]
            self.assertEqual(len(names), len(set(names)), cmd)
            code, helptext, _ = run(cmd, "--help")
            for o in usage["options"]:
                self.assertIn(o["name"], helptext, (cmd, o["name"]))  # --help comes from the same table
                if o["type"] == "flag":
                    continue
                # the parser takes each option with a value (and refuses a missing one)
                code, _, se = run(cmd, o["name"])
                self.assertIn("needs a value" if o.get("words", 1) == 1 else "needs %d values" % o["words"], se,
                              (cmd, o["name"]))
            code, _, se = run(cmd, "--no-such-option")
            self.assertIn("unknown option --no-such-option", se)
        detect = {o["name"]: o for o in json.loads(run("detect", "--json-usage")[1])["options"]}
        self.assertEqual(detect["--top-percent"]["default"], 1)
        self.assertEqual(detect["--steps"]["default"], 0)  # auto
        self.assertEqual(detect["--epochs"]["default"], 1000)
        self.assertEqual(detect["-b"]["qgis_name"], "BANDS")

    def test_open_options_pick_a_mat_variable(self):
        mat = os.path.join(SAMPLE, "scene.mat")
        code, so, se = run("info", mat, "-oo", "VARIABLE=map")
        self.assertEqual(code, 0, se)
        self.assertIn("1 band(s) used", so)
        self.assertIn("55 band(s) used", run("info", mat, "-oo", "VARIABLE=data")[1])
        d = tmpdir()
        code, _, se = run("rx", mat, os.path.join(d, "r.tif"), "-oo", "VARIABLE=data", "-q")
        self.assertEqual(code, 0, se)
        code, _, se = run("detect", mat, os.path.join(d, "s.tif"), "-oo", "VARIABLE=data", *FAST)
        self.assertEqual(code, 0, se)
        code, _, se = run("rx", mat, os.path.join(d, "x.tif"), "-oo", "VARIABLE=nosuch")
        self.assertEqual(code, 1)
        self.assertIn("nosuch", se)

    def test_gdal_warnings_config_and_quiet(self):
        d = tmpdir()
        p = lambda f: os.path.join(d, f)
        write_cube(p("in.tif"), small_cube())
        code, _, se = run("rx", p("in.tif"), p("a.tif"), "-co", "NO_SUCH_OPTION=1")
        self.assertEqual(code, 0, se)
        self.assertIn("Warning:", se)
        self.assertIn("NO_SUCH_OPTION", se)
        code, _, se = run("rx", p("in.tif"), p("b.tif"), "-co", "NO_SUCH_OPTION=1", "-q")
        self.assertEqual((code, se), (0, ""))
        # --config as in gdal tools: no PAM side-car for this ENVI output
        self.assertEqual(run("rx", p("in.tif"), p("c.img"), "-of", "ENVI", "-q")[0], 0)
        self.assertTrue(os.path.exists(p("c.img.aux.xml")))
        self.assertEqual(run("rx", p("in.tif"), p("e.img"), "-of", "ENVI", "-q", "--config", "GDAL_PAM_ENABLED", "NO")[0], 0)
        self.assertTrue(os.path.exists(p("e.img")))
        self.assertFalse(os.path.exists(p("e.img.aux.xml")))

    def test_protocol_paper_sets_every_paper_setting(self):
        d = tmpdir()
        p = lambda f: os.path.join(d, f)
        write_cube(p("in.tif"), small_cube())
        code, so, se = run("detect", p("in.tif"), p("s.tif"), "--protocol", "paper", "--epochs", "1", "--threads", "1")
        self.assertEqual(code, 0, se)
        line = next(l for l in so.splitlines() if l.startswith("Training BS3LNet"))
        for setting in ("mode=faithful", "epochs=1 ", "batch_size=100", "lr=0.0001", "fixed_masks=yes", "patch=19",
                        "ratio=0.9", "window=5", "features=64", "blocks=2", "norm=batch", "normalize=none"):
            self.assertIn(setting, line)
        ds = read(p("s.tif"))[2]  # held: a band outliving its dataset crashes the bindings
        b = ds.GetRasterBand(1)
        self.assertEqual(b.GetMetadataItem("BS3LNET_UNITS"), "raw")  # the paper's score, as the paper writes it
        self.assertIn("mean over bands of the squared residual", b.GetMetadataItem("BS3LNET_RAW_UNIT"))
        code, _, se = run("detect", p("in.tif"), p("t.tif"), "--protocol", "paper", "--mode", "fast")
        self.assertIn("--protocol paper is the faithful mode", se)
        code, _, se = run("detect", p("in.tif"), p("t.tif"), "--protocol", "official")
        self.assertIn("unknown --protocol 'official'", se)


class BadInput(unittest.TestCase):
    """Each case: exit 1, one 'ERROR: ...' line naming the problem, no output, input unchanged."""

    @classmethod
    def setUpClass(cls):
        cls.d = tmpdir()
        cls.good = os.path.join(cls.d, "good.tif")
        write_cube(cls.good, small_cube())

    def expect_error(self, args, needle, out=None):
        # Every file the command is given (inputs, truth, model) stays as it was.
        given = [a for a in [self.good] + list(args) if os.path.isfile(a) and a != out]
        before = {a: md5(a) for a in given}
        code, so, se = run(*args)
        self.assertEqual(code, 1, (args, so, se))
        lines = [l for l in se.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, se)
        self.assertTrue(lines[0].startswith("ERROR: "), se)
        self.assertIn(needle, lines[0])
        if out:
            self.assertFalse(os.path.exists(out), out)
        self.assertEqual({a: md5(a) for a in given}, before)
        leftovers = [f for f in os.listdir(self.d) if ".tmp" in f]
        self.assertEqual(leftovers, [])

    def out(self, name="o.tif"):
        return os.path.join(self.d, name)

    def test_missing_file(self):
        self.expect_error(["detect", os.path.join(self.d, "nope.tif"), self.out()], "does not exist", self.out())

    def test_directory(self):
        self.expect_error(["detect", self.d, self.out()], "is a directory", self.out())

    def test_zero_byte_file(self):
        z = os.path.join(self.d, "zero.tif")
        open(z, "wb").close()
        self.expect_error(["detect", z, self.out()], "cannot open", self.out())

    def test_truncated_geotiff(self):
        t = os.path.join(self.d, "trunc.tif")
        data = open(self.good, "rb").read()
        open(t, "wb").write(data[: len(data) // 3])
        self.expect_error(["detect", t, self.out(), *FAST], "header describes", self.out())

    def test_one_band(self):
        one = os.path.join(self.d, "one.tif")
        write_cube(one, small_cube(bands=1))
        self.expect_error(["detect", one, self.out(), *FAST], "1 band(s)", self.out())

    def test_band_out_of_range(self):
        self.expect_error(["detect", self.good, self.out(), "-b", "1-9"], "out of range", self.out())

    def test_patch_larger_than_scene(self):
        tiny = os.path.join(self.d, "tiny.tif")
        write_cube(tiny, small_cube(bands=2, rows=6, cols=6))
        self.expect_error(["detect", tiny, self.out(), "--mode", "faithful", "--epochs", "1", "-q"], "too large", self.out())

    def test_nan_only(self):
        nan = os.path.join(self.d, "nan.tif")
        write_cube(nan, np.full((3, 10, 10), np.nan, np.float32))
        self.expect_error(["detect", nan, self.out(), *FAST], "no valid pixel", self.out())

    def test_all_nodata(self):
        nd = os.path.join(self.d, "nd.tif")
        write_cube(nd, np.zeros((3, 10, 10), np.float32), nodata=0)
        self.expect_error(["detect", nd, self.out(), *FAST], "no valid pixel", self.out())

    def test_unwritable_folder(self):
        self.expect_error(["detect", self.good, "/nonexistent/dir/o.tif"], "does not exist")
        ro = os.path.join(self.d, "ro")
        os.mkdir(ro)
        os.chmod(ro, 0o555)
        if os.access(ro, os.W_OK):  # root ignores permissions
            self.skipTest("running as root: permissions are not enforced")
        self.expect_error(["detect", self.good, os.path.join(ro, "o.tif")], "not writable")

    def test_output_is_input(self):
        self.expect_error(["detect", self.good, self.good, "--overwrite"], "same file")

    def test_existing_output_needs_overwrite(self):
        o = self.out("exists.tif")
        shutil.copy(self.good, o)
        code, _, se = run("detect", self.good, o)
        self.assertEqual(code, 1)
        self.assertIn("--overwrite", se)

    def test_unknown_format(self):
        self.expect_error(["detect", self.good, self.out(), "-of", "NoSuchFormat"], "unknown output format", self.out())

    def test_unknown_option_and_bad_number(self):
        self.expect_error(["detect", self.good, self.out(), "--epoch", "3"], "unknown option --epoch")
        self.expect_error(["detect", self.good, self.out(), "--steps", "ten"], "expects an integer")
        self.expect_error(["detect", self.good, self.out(), "--score", "max"], "unknown score 'max'", self.out())
        self.expect_error(["detect", self.good, self.out(), "--rx-weight", "-1"], "--rx-weight must be", self.out())
        self.expect_error(["detect", self.good, self.out(), "--rx-rank", "-1"], "--rx-rank", self.out())
        self.expect_error(["detect", self.good, self.out(), "--rx-all-weight", "-1"], "--rx-all-weight must be",
                          self.out())
        self.expect_error(["detect", self.good, self.out(), "--rx-all-weight", "most"], "--rx-all-weight", self.out())

    def test_units_and_max_pfa(self):
        det = self.out("det.tif")
        for v in ("0", "1", "1.5"):
            self.expect_error(["detect", self.good, self.out(), *FAST, "--detections", det, "--max-pfa", v],
                              "--max-pfa must be in (0, 1)", self.out())
        self.expect_error(["detect", self.good, self.out(), *FAST, "--units", "raw", "--max-pfa", "1e-3",
                           "--detections", det], "--max-pfa needs --units pfa", self.out())
        self.expect_error(["apply", "m.pt", self.good, self.out(), "--max-pfa", "1e-3", "--top-percent", "1"],
                          "give one of", self.out())
        self.expect_error(["detect", self.good, self.out(), "--units", "sigma"], "unknown --units 'sigma'", self.out())
        self.expect_error(["rx", self.good, self.out(), "--units", "sigma"], "unknown --units", self.out())
        self.expect_error(["detect", self.good, self.out(), "--top-percent", "0"], "--top-percent must be", self.out())
        self.assertFalse(os.path.exists(det))

    def test_truncated_and_corrupted_mat(self):
        raw = open(os.path.join(SAMPLE, "scene.mat"), "rb").read()
        t = os.path.join(self.d, "trunc.mat")
        open(t, "wb").write(raw[: len(raw) * 6 // 10])
        self.expect_error(["detect", t, self.out(), *FAST], "truncated", self.out())
        c = os.path.join(self.d, "corrupt.mat")
        bad = bytearray(raw)
        bad[136:200] = b"\xff" * 64  # the first variable's tag, flags and dimensions
        open(c, "wb").write(bytes(bad))
        self.expect_error(["detect", c, self.out(), *FAST], "at least 2 are needed", self.out())

    def test_envi_header_with_short_data_file(self):
        hdr = os.path.join(self.d, "short.hdr")
        shutil.copy(os.path.join(SAMPLE, "scene.hdr"), hdr)
        data = open(os.path.join(SAMPLE, "scene.img"), "rb").read()
        open(os.path.join(self.d, "short.img"), "wb").write(data[: len(data) // 2])
        self.expect_error(["detect", os.path.join(self.d, "short.img"), self.out(), *FAST], "header describes", self.out())
        # and one that describes less than the file holds (samples = 99 for 100 columns): a sheared image
        with open(os.path.join(SAMPLE, "scene.hdr")) as f:
            text = f.read()
        self.assertIn("samples = 100", text)
        with open(os.path.join(self.d, "long.hdr"), "w") as f:
            f.write(text.replace("samples = 100", "samples = 99"))
        shutil.copy(os.path.join(SAMPLE, "scene.img"), os.path.join(self.d, "long.img"))
        self.expect_error(["detect", os.path.join(self.d, "long.img"), self.out(), *FAST],
                          "holds 1200000 bytes but its header describes only 1188000", self.out())

    def test_two_by_two(self):
        t = os.path.join(self.d, "two.tif")
        write_cube(t, small_cube(rows=2, cols=2))
        self.expect_error(["detect", t, self.out(), *FAST], "smaller than", self.out())

    def test_nan_band(self):
        # A band that is NaN throughout would make every pixel nodata: named instead.
        c = small_cube()
        c[2] = np.nan
        p = os.path.join(self.d, "nanband.tif")
        write_cube(p, c)
        self.expect_error(["detect", p, self.out(), *FAST], "band 3 is NaN or Inf wherever it is not nodata", self.out())

    def test_disk_full(self):
        import resource

        def small_disk():  # writes past 2 KB fail with EFBIG, as on a full disk
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))

        before = md5(self.good)
        p = subprocess.run([BS3LNET, "detect", self.good, self.out("full.tif"), *FAST], capture_output=True, text=True,
                           preexec_fn=small_disk, timeout=300)
        self.assertEqual(p.returncode, 1, p.stderr)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertTrue(lines[0].startswith("ERROR: "), p.stderr)
        self.assertFalse(os.path.exists(self.out("full.tif")))
        self.assertEqual([f for f in os.listdir(self.d) if ".tmp" in f], [])
        self.assertEqual(md5(self.good), before)

    def test_disk_full_while_closing_a_text_output(self):
        # A ROC table of about 4 KB stays in the stream's buffer until it is
        # closed: the error shows only there, and must not pass unseen.
        import resource

        def small_disk():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))

        rng = np.random.default_rng(3)
        write_cube(self.out("s.tif"), rng.random((1, 12, 12)).astype(np.float32))
        t = np.zeros((1, 12, 12), np.float32)
        t[0, :3, :3] = 1
        write_cube(self.out("t.tif"), t)
        roc = self.out("roc.csv")
        p = subprocess.run([BS3LNET, "evaluate", self.out("s.tif"), self.out("t.tif"), "--roc", roc],
                           capture_output=True, text=True, preexec_fn=small_disk, timeout=60)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("ERROR: cannot write '%s'" % roc, p.stderr)
        self.assertFalse(os.path.exists(roc))
        self.assertEqual([f for f in os.listdir(self.d) if ".tmp" in f], [])
        # unlimited, the same table is larger than the limit: the test tested something
        self.assertEqual(run("evaluate", self.out("s.tif"), self.out("t.tif"), "--roc", roc)[0], 0)
        self.assertGreater(os.path.getsize(roc), 2048)

    def test_error_starts_its_own_line(self):
        # The progress dots and the error share a terminal: the error starts a line.
        p = subprocess.run([BS3LNET, "detect", self.good, self.out("e.tif"), "--steps", "20", "--features", "16"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300,
                           env={**os.environ, "BS3L_TEST_FAIL_OUTPUT": "e.tif"})
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("...", p.stdout)
        errors = [l for l in p.stdout.splitlines() if "ERROR" in l]
        self.assertEqual(len(errors), 1, p.stdout)
        self.assertTrue(errors[0].startswith("ERROR: "), p.stdout)

    def test_not_enough_memory(self):
        code, so, se = run("detect", self.good, self.out(), *FAST, env={"BS3L_MEMORY_LIMIT_MB": "1"})
        self.assertEqual(code, 1, se)
        self.assertRegex(se, r"^ERROR: training needs about \d+ MB of memory but 1 MB is available")
        self.assertFalse(os.path.exists(self.out()))

    def test_cuda_without_cuda(self):
        self.expect_error(["detect", self.good, self.out(), "--device", "cuda"], "CUDA is not available", self.out())
        self.expect_error(["detect", self.good, self.out(), "--amp", "--device", "cpu"], "needs a CUDA device", self.out())

    def test_auto_device_falls_back_with_one_notice(self):
        out = self.out("auto.tif")
        code, so, se = run("detect", self.good, out, *FAST[:-1], "--device", "auto")
        self.assertEqual(code, 0, se)
        notices = [l for l in so.splitlines() if "CUDA" in l]
        self.assertEqual(len(notices), 1, so)
        self.assertIn("CPU", notices[0])
        code, so, _ = run("detect", self.good, out, *FAST[:-1], "--device", "cpu", "--overwrite")
        self.assertNotIn("CUDA", so)
        # not asked for a device: no notice on every CPU run
        code, so, _ = run("detect", self.good, out, *FAST[:-1], "--overwrite")
        self.assertEqual(code, 0)
        self.assertNotIn("CUDA", so)
        os.remove(out)

    def test_mismatched_truth(self):
        t = os.path.join(self.d, "t.tif")
        write_cube(t, np.zeros((1, 5, 5), np.float32))
        self.expect_error(["evaluate", self.good, t], "but the truth is")

    def test_bad_truth_leaves_no_output(self):
        t = os.path.join(self.d, "t5.tif")
        write_cube(t, np.zeros((1, 5, 5), np.float32))
        self.expect_error(["detect", self.good, self.out(), *FAST, "--truth", t], "but the input is", self.out())
        self.expect_error(["rx", self.good, self.out(), "--truth", t], "but the input is", self.out())
        empty = os.path.join(self.d, "t0.tif")
        write_cube(empty, np.zeros((1, 24, 30), np.float32))
        self.expect_error(["detect", self.good, self.out(), *FAST, "--truth", empty], "needs both anomaly", self.out())

    def test_save_model_is_checked_like_any_output(self):
        m = os.path.join(self.d, "keep.pt")
        open(m, "w").write("not yours to replace")
        self.expect_error(["detect", self.good, self.out(), *FAST, "--save-model", m], "use --overwrite", self.out())
        self.expect_error(["detect", self.good, self.out(), *FAST, "--save-model", self.good], "same file as input",
                          self.out())
        self.assertEqual(open(m).read(), "not yours to replace")

    def test_model_band_mismatch(self):
        m = os.path.join(self.d, "m.pt")
        self.assertEqual(run("train", self.good, m, *FAST)[0], 0)
        other = os.path.join(self.d, "other.tif")
        write_cube(other, small_cube(bands=4))
        self.expect_error(["apply", m, other, self.out()], "trained on 6 bands", self.out())

    def test_bad_windows(self):
        m = os.path.join(self.d, "win.pt")
        self.assertEqual(run("train", self.good, m, *FAST)[0], 0)
        self.expect_error(["apply", m, self.good, self.out(), "-srcwin", "20", "0", "11", "10"], "lies outside", self.out())
        self.expect_error(["apply", m, self.good, self.out(), "-srcwin", "0", "0", "10"], "needs 4 values", self.out())
        self.expect_error(["apply", m, self.good, self.out(), "-srcwin", "0", "0", "10", "0"], "at least 1", self.out())
        self.expect_error(["apply", m, self.good, self.out(), "-srcwin", "0", "0", "a", "5"], "four integers", self.out())
        self.expect_error(["apply", m, self.good, self.out(), "-srcwin", "0", "0", "10", "10", "--stats", "scene"],
                          "needs --stats model", self.out())

    def test_bad_memory_budgets(self):
        self.expect_error(["detect", self.good, self.out(), *FAST, "--max-memory", "lots"], "wants a size", self.out())
        self.expect_error(["detect", self.good, self.out(), *FAST, "--max-memory", "-2G"], "wants a size", self.out())
        self.expect_error(["detect", self.good, self.out(), *FAST, "--max-memory", "10K"], "too small", self.out())
        bg = os.path.join(self.d, "bg.tif")
        self.expect_error(["detect", self.good, self.out(), *FAST, "--stream", "--background", bg],
                          "needs the scene in memory", self.out())
        self.assertFalse(os.path.exists(bg))
        self.expect_error(["rx", self.good, self.out(), "--stream", "--window", "3,7"], "needs the scene in memory",
                          self.out())

    def test_not_a_model(self):
        self.expect_error(["apply", self.good, self.good, self.out()], "not a BS3LNet model", self.out())


if __name__ == "__main__":
    unittest.main()
