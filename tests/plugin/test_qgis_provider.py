"""The provider in a standalone PyQGIS (headless): its parameters match the
command's options one for one, and cancelling a running detect stops the
command, leaves no new output and a previous output at that path as it was."""
import json
import os
import subprocess
import sys
import threading
import time
import unittest

from qgis_env import BS3LNET, SAMPLE, SOURCE, headless_env, scratch

os.environ.update(headless_env())
from qgis.core import QgsApplication, QgsProcessingException, QgsProcessingFeedback  # noqa: E402

app = QgsApplication([], False)
app.initQgis()
sys.path[:0] = [os.path.join(SOURCE, "plugin", "qgis"), "/usr/share/qgis/python/plugins"]
from processing.core.Processing import Processing  # noqa: E402

Processing.initialize()
import processing  # noqa: E402
from bs3lnet import runner  # noqa: E402
from bs3lnet.algorithms import ScoreStyle  # noqa: E402
from bs3lnet.provider import Bs3lnetProvider  # noqa: E402
from qgis.core import (QgsMapRendererParallelJob, QgsMapSettings, QgsProcessingParameterBand,  # noqa: E402
                       QgsRasterLayer)
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor  # noqa: E402
import numpy as np  # noqa: E402

provider = Bs3lnetProvider()
QgsApplication.processingRegistry().addProvider(provider)


class Cancel(unittest.TestCase):
    def test_cancel_stops_process_and_removes_output(self):
        d = scratch("bs3l_cancel_")
        out = os.path.join(d, "score.tif")
        feedback = QgsProcessingFeedback()
        seen = []
        feedback.progressChanged.connect(seen.append)
        threading.Timer(6.0, feedback.cancel).start()
        t0 = time.time()
        with self.assertRaises(QgsProcessingException) as e:
            processing.run("bs3lnet:detect", {"INPUT": os.path.join(SAMPLE, "scene.tif"), "OUTPUT": out,
                                              "STEPS": 100000, "FEATURES": 16}, feedback=feedback)
        self.assertIn("Canceled", str(e.exception))
        self.assertLess(time.time() - t0, 60)
        self.assertTrue(seen, "no progress reached the feedback before the cancel")
        with self.assertRaises(ProcessLookupError):
            os.kill(runner.last_pid, 0)
        self.assertEqual(os.listdir(d), [])

    def test_cancel_keeps_the_previous_output(self):
        d = scratch("bs3l_cancel_prev_")
        out = os.path.join(d, "score.tif")
        with open(out, "wb") as f:
            f.write(b"previous result")
        feedback = QgsProcessingFeedback()
        threading.Timer(6.0, feedback.cancel).start()
        with self.assertRaises(QgsProcessingException):
            processing.run("bs3lnet:detect", {"INPUT": os.path.join(SAMPLE, "scene.tif"), "OUTPUT": out,
                                              "STEPS": 100000, "FEATURES": 16}, feedback=feedback)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), b"previous result")
        self.assertEqual(os.listdir(d), ["score.tif"])  # no temporary file left either


class Options(unittest.TestCase):
    # What the issue allows a provider to leave out, plus --verbose (training
    # loss lines), evaluate's --json (the algorithm always asks for it) and
    # apply's -srcwin (tile jobs are for scripts and clusters).
    SHELL_ONLY = {"-q", "--overwrite", "-of", "-co", "-oo", "--verbose", "--json", "-srcwin", "-f", "-lco"}

    def test_every_option_has_a_parameter_and_back(self):
        algs = {a.name(): a for a in provider.algorithms()}
        self.assertEqual(sorted(algs), ["apply", "detect", "evaluate", "rx", "threshold", "train"])
        for name, alg in algs.items():
            usage = json.loads(subprocess.run([BS3LNET, name, "--json-usage"], capture_output=True, text=True,
                                              check=True).stdout)
            options = {o["qgis_name"]: o for o in usage["options"] if not o["shell_only"]}
            left_out = {o["name"] for o in usage["options"] if o["shell_only"]}
            self.assertLessEqual(left_out, self.SHELL_ONLY, name)
            want = set(options) | {p["name"] for p in usage["positional"]} | ({"OUTPUT_HTML"} if name == "evaluate" else set())
            have = {d.name() for d in alg.parameterDefinitions()}
            self.assertEqual(have, want, name)
            for d in alg.parameterDefinitions():
                if d.name() in options:
                    o = options[d.name()]
                    self.assertEqual(d.description(), o["label"], (name, d.name()))
                    self.assertTrue(0 < len(o["label"]) <= 40 and o["label"][0].isupper(), o["label"])
                    # QGIS help names QGIS parameters, never a shell flag
                    self.assertNotRegex(d.help(), r"(^|[\s(])(--[a-z][a-z-]*|-[a-z]{1,10})(?=[\s,;.)]|$)",
                                        (name, d.name(), d.help()))
                    advanced = bool(d.flags() & d.FlagAdvanced)
                    self.assertEqual(advanced, o["group"] == "advanced", (name, d.name()))
        bands = algs["detect"].parameterDefinition("BANDS")  # -b: a band picker on INPUT, several bands
        self.assertIsInstance(bands, QgsProcessingParameterBand)
        self.assertTrue(bands.allowMultiple())
        self.assertEqual(bands.parentLayerParameterName(), "INPUT")
        self.assertIn("TOP_PERCENT", {d.name() for d in algs["detect"].parameterDefinitions()})


class Styles(unittest.TestCase):
    """pfa scores open on their fixed legend, masks with the mask style, from
    the command line and from Processing, checked on rendered pixels."""
    RAMP = [(0, "#000004"), (1, "#2c115f"), (2, "#721f81"), (3, "#b73779"), (4, "#f1605d"), (5, "#feb078"),
            (6, "#fcfdbf")]

    def expected(self, v):
        v = min(max(v, 0.0), 6.0)
        k = min(int(v), 5)
        f = v - k
        a, b = (QColor(self.RAMP[k][1]), QColor(self.RAMP[k + 1][1]))
        return tuple(round(x + f * (y - x)) for x, y in ((a.red(), b.red()), (a.green(), b.green()),
                                                          (a.blue(), b.blue())))

    def render(self, layer):
        settings = QgsMapSettings()
        settings.setLayers([layer])
        settings.setDestinationCrs(layer.crs())
        settings.setExtent(layer.extent())
        settings.setOutputSize(QSize(layer.width(), layer.height()))
        settings.setBackgroundColor(QColor("white"))
        job = QgsMapRendererParallelJob(settings)
        job.start()
        job.waitForFinished()
        return job.renderedImage()

    def check(self, score_path, mask_path):
        from osgeo import gdal
        ds = gdal.Open(score_path)
        values = ds.GetRasterBand(1).ReadAsArray()
        mds = gdal.Open(mask_path)
        mask = mds.GetRasterBand(1).ReadAsArray()
        layer = QgsRasterLayer(score_path, "score")  # as Layer > Add Raster Layer: NAME.qml is loaded
        self.assertTrue(layer.isValid())
        self.assertEqual(layer.renderer().type(), "singlebandpseudocolor")
        shader = layer.renderer().shader().rasterShaderFunction()
        self.assertEqual((shader.minimumValue(), shader.maximumValue()), (0.0, 6.0))
        labels = [label for label, _ in layer.renderer().legendSymbologyItems()]
        self.assertEqual(labels, ["pfa 1"] + ["pfa 1e-%d" % k for k in range(1, 7)])
        img = self.render(layer)
        top = np.unravel_index(np.argmax(values), values.shape)
        low = np.unravel_index(np.argmin(values), values.shape)
        for r, c in (top, low):
            got = QColor(img.pixel(int(c), int(r)))
            want = self.expected(float(values[r, c]))
            self.assertLessEqual(max(abs(got.red() - want[0]), abs(got.green() - want[1]), abs(got.blue() - want[2])),
                                 6, (score_path, r, c, values[r, c], got.getRgb(), want))
        self.assertGreater(values[top], 3)  # the scene's target reaches the bright end of the legend
        hits = QgsRasterLayer(mask_path, "hits")
        self.assertEqual(hits.renderer().type(), "paletted")
        img = self.render(hits)
        on = np.argwhere(mask == 1)[0]
        off = np.argwhere(mask == 0)[0]
        self.assertEqual(QColor(img.pixel(int(on[1]), int(on[0]))).getRgb()[:3], (255, 0, 0))
        self.assertEqual(QColor(img.pixel(int(off[1]), int(off[0]))).getRgb()[:3], (255, 255, 255))  # see-through

    def test_command_line_outputs(self):
        d = scratch("bs3l_styles_")
        score, hits = os.path.join(d, "score.tif"), os.path.join(d, "hits.tif")
        p = subprocess.run([BS3LNET, "detect", os.path.join(SAMPLE, "scene.tif"), score, "--steps", "30", "--features",
                            "16", "-q", "--max-pfa", "1e-2", "--detections", hits], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(os.listdir(d)), ["hits.qml", "hits.tif", "score.qml", "score.tif"])
        self.check(score, hits)
        # raw scores have no fixed legend: no style, and an old one goes
        p = subprocess.run([BS3LNET, "rx", os.path.join(SAMPLE, "scene.tif"), score, "-q", "--overwrite"],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(os.listdir(d)), ["hits.qml", "hits.tif", "score.tif"])

    def test_processing_outputs(self):
        d = scratch("bs3l_styles_p_")
        score, hits = os.path.join(d, "score.tif"), os.path.join(d, "hits.tif")
        feedback = QgsProcessingFeedback()
        seen = []
        feedback.progressChanged.connect(seen.append)
        processing.run("bs3lnet:detect", {"INPUT": os.path.join(SAMPLE, "scene.tif"), "OUTPUT": score, "STEPS": 30,
                                          "FEATURES": 16, "MAX_PFA": 0.01, "DETECTIONS": hits}, feedback=feedback)
        self.check(score, hits)
        # one bar across read, train, detect and write: rising, ending at 100
        self.assertEqual(seen, sorted(seen))
        self.assertEqual(seen[-1], 100)
        self.assertGreaterEqual(len(set(seen)), 5, seen)
        # what the provider does when QGIS loads the output: the written style, not a 2-98% stretch
        layer = QgsRasterLayer(score, "s", "gdal", QgsRasterLayer.LayerOptions(loadDefaultStyle=False))
        self.assertEqual(layer.renderer().type(), "singlebandgray")
        ScoreStyle().postProcessLayer(layer, None, None)
        shader = layer.renderer().shader().rasterShaderFunction()
        self.assertEqual((shader.minimumValue(), shader.maximumValue()), (0.0, 6.0))


if __name__ == "__main__":
    try:
        ok = unittest.main(exit=False).result.wasSuccessful()
    finally:
        QgsApplication.processingRegistry().removeProvider(provider)
        app.exitQgis()
    sys.exit(0 if ok else 1)
