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
from bs3lnet.provider import Bs3lnetProvider  # noqa: E402

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
    SHELL_ONLY = {"-q", "--overwrite", "-of", "-co", "-oo", "--verbose", "--json", "-srcwin"}

    def test_every_option_has_a_parameter_and_back(self):
        algs = {a.name(): a for a in provider.algorithms()}
        self.assertEqual(sorted(algs), ["apply", "detect", "evaluate", "rx", "train"])
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
                    self.assertEqual(d.help(), o["help"], (name, d.name()))
                    advanced = bool(d.flags() & d.FlagAdvanced)
                    self.assertEqual(advanced, o["group"] == "advanced", (name, d.name()))
        self.assertIn("BANDS", {d.name() for d in algs["detect"].parameterDefinitions()})  # -b
        self.assertIn("TOP_PERCENT", {d.name() for d in algs["detect"].parameterDefinitions()})


if __name__ == "__main__":
    try:
        ok = unittest.main(exit=False).result.wasSuccessful()
    finally:
        QgsApplication.processingRegistry().removeProvider(provider)
        app.exitQgis()
    sys.exit(0 if ok else 1)
