"""The five Processing algorithms, each a thin face of one bs3lnet subcommand.
Defaults are the command's (see `bs3lnet detect --help`)."""
import html
import json
import os
import tempfile

from qgis.core import (QgsProcessingAlgorithm, QgsProcessingException, QgsProcessingOutputNumber,
                       QgsProcessingParameterBoolean, QgsProcessingParameterEnum, QgsProcessingParameterFile,
                       QgsProcessingParameterFileDestination, QgsProcessingParameterNumber,
                       QgsProcessingParameterRasterDestination, QgsProcessingParameterRasterLayer,
                       QgsProcessingParameterString, QgsProcessingParameterVectorDestination)

from . import runner

MODES = ["fast", "faithful"]
NORMALIZE = ["minmax", "none", "zscore"]
# First entry: the command's default for the mode (fused; mse for faithful).
SCORES = ["the mode's default", "fused", "scaled", "mse"]
UNITS = ["the command's default", "pfa", "raw"]


def is_cube_reference(value):
    return isinstance(value, str) and (os.path.isfile(value) or value.startswith("MATLAB:"))


class Bs3lnetAlgorithm(QgsProcessingAlgorithm):
    command = ""
    label = ""
    help = ""

    def name(self):
        return self.command

    def displayName(self):  # noqa: N802
        return self.label

    def group(self):
        return "Hyperspectral anomaly detection"

    def groupId(self):  # noqa: N802
        return "had"

    def shortHelpString(self):  # noqa: N802
        return self.help

    def createInstance(self):  # noqa: N802
        return type(self)()

    # --- parameters shared by several algorithms
    def add_input(self, name="INPUT", label="Hyperspectral cube (ENVI, GeoTIFF, .mat, any GDAL raster)"):
        self.addParameter(QgsProcessingParameterRasterLayer(name, label))
        self.addParameter(QgsProcessingParameterString("BANDS", "Bands to use (e.g. 1-10,15; empty = all)",
                                                       optional=True))
        self.addParameter(QgsProcessingParameterRasterLayer("MASK", "Mask (0 = exclude pixel)", optional=True))

    def add_training(self):
        p = [QgsProcessingParameterEnum("MODE", "Training mode", MODES, defaultValue=0),
             QgsProcessingParameterNumber("STEPS", "Steps (fast mode)", defaultValue=300, minValue=1),
             QgsProcessingParameterNumber("EPOCHS", "Epochs (faithful mode; the paper uses 1000)", defaultValue=1000,
                                          minValue=1),
             QgsProcessingParameterNumber("BATCH_SIZE", "Batch size (faithful mode)", defaultValue=100, minValue=1),
             QgsProcessingParameterNumber("LR", "Learning rate (0 = the mode's default)",
                                          QgsProcessingParameterNumber.Double, defaultValue=0, minValue=0),
             QgsProcessingParameterNumber("PATCH", "Patch size", defaultValue=19, minValue=3),
             QgsProcessingParameterNumber("RATIO", "Blind-spot ratio", QgsProcessingParameterNumber.Double,
                                          defaultValue=0.9, minValue=0, maxValue=0.999),
             QgsProcessingParameterNumber("WINDOW", "Neighbour window", defaultValue=5, minValue=2),
             QgsProcessingParameterNumber("FEATURES", "Feature channels", defaultValue=64, minValue=1),
             QgsProcessingParameterNumber("BLOCKS", "Residual blocks", defaultValue=2, minValue=0),
             QgsProcessingParameterNumber("SEED", "Random seed", defaultValue=1, minValue=0),
             QgsProcessingParameterEnum("NORMALIZE", "Normalisation", NORMALIZE, defaultValue=0)]
        for x in p:
            self.addParameter(x)
        self.add_device()

    def add_device(self):
        self.addParameter(QgsProcessingParameterString("DEVICE", "Device (auto, cpu, cuda, cuda:N)", defaultValue="auto"))
        self.addParameter(QgsProcessingParameterNumber("THREADS", "CPU threads (0 = all cores)", defaultValue=0,
                                                       minValue=0))

    def add_score(self):
        self.addParameter(QgsProcessingParameterEnum(
            "SCORE", "Score (fused: robustly band-scaled residual fused with global RX; mse: the paper's)", SCORES,
            defaultValue=0))
        self.add_units()

    def score_args(self, parameters, context):
        i = self.parameterAsEnum(parameters, "SCORE", context)
        return (["--score", SCORES[i]] if i > 0 else []) + self.units_args(parameters, context)

    def add_units(self):
        self.addParameter(QgsProcessingParameterEnum(
            "UNITS", "Units (pfa: -log10 of the estimated false-alarm probability, 3 = 1 in 1000 background pixels; "
            "raw: the detector's own score)", UNITS, defaultValue=0))

    def units_args(self, parameters, context):
        i = self.parameterAsEnum(parameters, "UNITS", context)
        return ["--units", UNITS[i]] if i > 0 else []

    def add_detection_outputs(self):
        self.addParameter(QgsProcessingParameterNumber("TOP_PERCENT", "Detections: top percent of scores",
                                                       QgsProcessingParameterNumber.Double, defaultValue=1.0,
                                                       minValue=0.0001, maxValue=100))
        self.addParameter(QgsProcessingParameterNumber("MAX_PFA", "Detections: largest false-alarm probability "
                                                       "(0 = use the top percent; needs pfa units)",
                                                       QgsProcessingParameterNumber.Double, defaultValue=0.0,
                                                       minValue=0.0, maxValue=0.5))
        self.addParameter(QgsProcessingParameterRasterDestination("DETECTIONS", "Detection mask", optional=True,
                                                                  createByDefault=False))
        self.addParameter(QgsProcessingParameterVectorDestination("POLYGONS", "Detection polygons", optional=True,
                                                                  createByDefault=False))

    def checkParameterValues(self, parameters, context):  # noqa: N802
        """As QGIS's check, except that raster inputs may be any path or
        MATLAB:"file":var URI the command reads (a multi-variable .mat file is
        not one QGIS layer)."""
        for d in self.parameterDefinitions():
            value = parameters.get(d.name())
            if isinstance(d, QgsProcessingParameterRasterLayer) and is_cube_reference(value):
                continue
            if not d.checkValueIsAcceptable(value, context):
                return False, "Incorrect parameter value for %s" % d.description()
        return True, ""

    # --- turning parameters into command arguments
    def input_path(self, parameters, name, context):
        """The layer's source; a plain path or MATLAB:"file":var is passed as is,
        so cubes QGIS cannot load as one layer still reach the command."""
        raw = parameters.get(name)
        if is_cube_reference(raw):
            return raw
        layer = self.parameterAsRasterLayer(parameters, name, context)
        if layer is None:
            raise QgsProcessingException("cannot read parameter %s" % name)
        return layer.source()

    def input_args(self, parameters, context):
        args = []
        bands = self.parameterAsString(parameters, "BANDS", context)
        if bands:
            args += ["-b", bands]
        if parameters.get("MASK"):
            args += ["--mask", self.input_path(parameters, "MASK", context)]
        return args

    def training_args(self, parameters, context):
        num = lambda n: self.parameterAsInt(parameters, n, context)
        dbl = lambda n: self.parameterAsDouble(parameters, n, context)
        mode = MODES[self.parameterAsEnum(parameters, "MODE", context)]
        args = ["--mode", mode]
        args += ["--epochs", num("EPOCHS"), "--batch-size", num("BATCH_SIZE")] if mode == "faithful" else ["--steps", num("STEPS")]
        if dbl("LR") > 0:
            args += ["--lr", dbl("LR")]
        args += ["--patch", num("PATCH"), "--ratio", dbl("RATIO"), "--window", num("WINDOW"),
                 "--features", num("FEATURES"), "--blocks", num("BLOCKS"), "--seed", num("SEED"),
                 "--normalize", NORMALIZE[self.parameterAsEnum(parameters, "NORMALIZE", context)]]
        return args + self.device_args(parameters, context)

    def device_args(self, parameters, context):
        return ["--device", self.parameterAsString(parameters, "DEVICE", context) or "auto",
                "--threads", self.parameterAsInt(parameters, "THREADS", context)]

    def detection_args(self, parameters, context):
        args, outs = [], []
        det = self.parameterAsOutputLayer(parameters, "DETECTIONS", context) if parameters.get("DETECTIONS") else ""
        poly = self.parameterAsOutputLayer(parameters, "POLYGONS", context) if parameters.get("POLYGONS") else ""
        max_pfa = self.parameterAsDouble(parameters, "MAX_PFA", context)
        if (det or poly) and max_pfa > 0:
            args += ["--max-pfa", max_pfa]
        elif det or poly:
            args += ["--top-percent", self.parameterAsDouble(parameters, "TOP_PERCENT", context)]
        if det:
            args += ["--detections", det]
            outs.append(det)
        if poly:
            args += ["--vector", poly]
            outs.append(poly)
        return args, outs


class DetectAlgorithm(Bs3lnetAlgorithm):
    command, label = "detect", "Detect anomalies (BS3LNet)"
    help = ("Trains the BS3LNet blind-spot network on the scene itself (no labels) and writes the anomaly score of "
            "every pixel from the difference between the pixel and the network's reconstruction of it from its "
            "neighbours: by default each band's difference over its robust spread, with the 3x3 neighbourhood, "
            "fused with global RX, written as -log10 of the estimated false-alarm probability (3 = one false "
            "alarm per thousand background pixels, the same meaning in every scene); the paper's mean squared "
            "difference with Score = mse. "
            "The fast mode (default) takes about a minute on a laptop CPU; the faithful mode "
            "reproduces the paper's protocol (1000 epochs).")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_input()
        self.add_training()
        self.add_score()
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", "Anomaly scores"))
        self.add_detection_outputs()
        self.addParameter(QgsProcessingParameterFileDestination("MODEL", "Save the trained model", "Model (*.pt)",
                                                                optional=True, createByDefault=False))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        out = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        args = ["detect", self.input_path(parameters, "INPUT", context), out, "--overwrite"]
        args += self.input_args(parameters, context) + self.training_args(parameters, context)
        args += self.score_args(parameters, context)
        extra, outs = self.detection_args(parameters, context)
        model = self.parameterAsFileOutput(parameters, "MODEL", context) if parameters.get("MODEL") else ""
        if model:
            extra += ["--save-model", model]
            outs.append(model)
        runner.run(args + extra, feedback, [out] + outs)
        result = {"OUTPUT": out}
        for key, path in (("DETECTIONS", "--detections"), ("POLYGONS", "--vector"), ("MODEL", "--save-model")):
            if path in extra:
                result[key] = extra[extra.index(path) + 1]
        return result


class TrainAlgorithm(Bs3lnetAlgorithm):
    command, label = "train", "Train BS3LNet model"
    help = "Trains BS3LNet on a scene and saves the model, to apply it later to scenes of the same sensor."

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_input()
        self.add_training()
        self.addParameter(QgsProcessingParameterFileDestination("MODEL", "Model", "Model (*.pt)"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        model = self.parameterAsFileOutput(parameters, "MODEL", context)
        args = ["train", self.input_path(parameters, "INPUT", context), model, "--overwrite"]
        runner.run(args + self.input_args(parameters, context) + self.training_args(parameters, context), feedback,
                   [model])
        return {"MODEL": model}


class ApplyAlgorithm(Bs3lnetAlgorithm):
    command, label = "apply", "Apply BS3LNet model"
    help = "Scores a scene with a saved model (same sensor and bands as it was trained on)."

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile("MODEL", "Model", fileFilter="Model (*.pt)"))
        self.add_input()
        self.add_device()
        self.add_score()
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", "Anomaly scores"))
        self.add_detection_outputs()

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        out = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        args = ["apply", self.parameterAsFile(parameters, "MODEL", context), self.input_path(parameters, "INPUT", context),
                out, "--overwrite"] + self.input_args(parameters, context) + self.device_args(parameters, context)
        args += self.score_args(parameters, context)
        extra, outs = self.detection_args(parameters, context)
        runner.run(args + extra, feedback, [out] + outs)
        return {"OUTPUT": out}


class RxAlgorithm(Bs3lnetAlgorithm):
    command, label = "rx", "RX anomaly detector"
    help = ("Global RX (Mahalanobis distance of each pixel to the scene mean), or local dual-window RX when a "
            "window pair such as 3,11 is given.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_input()
        self.addParameter(QgsProcessingParameterString("WINDOW", "Local RX windows INNER,OUTER (empty = global RX)",
                                                       optional=True))
        self.add_units()
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", "RX scores"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        out = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        args = ["rx", self.input_path(parameters, "INPUT", context), out, "--overwrite"]
        window = self.parameterAsString(parameters, "WINDOW", context)
        if window:
            args += ["--window", window]
        args += self.units_args(parameters, context)
        runner.run(args + self.input_args(parameters, context), feedback, [out])
        return {"OUTPUT": out}


class EvaluateAlgorithm(Bs3lnetAlgorithm):
    command, label = "evaluate", "Evaluate against ground truth"
    help = ("ROC AUC(D,F), the 3-D ROC areas AUC(D,tau) and AUC(F,tau), and TD = DF + Dtau, BS = DF - Ftau, "
            "SNPR = Dtau / Ftau, ODP = Dtau + 1 - Ftau, OA = DF + Dtau - Ftau; an HTML report with the ROC curve.")
    FIGURES = [("AUC_DF", "auc_df", "AUC(D,F)"), ("AUC_DTAU", "auc_dtau", "AUC(D,tau)"),
               ("AUC_FTAU", "auc_ftau", "AUC(F,tau)"), ("TD", "td", "TD = AUC(D,F) + AUC(D,tau)"),
               ("BS", "bs", "BS = AUC(D,F) - AUC(F,tau)"), ("SNPR", "snpr", "SNPR = AUC(D,tau) / AUC(F,tau)"),
               ("ODP", "odp", "ODP = AUC(D,tau) + 1 - AUC(F,tau)"), ("OA", "oa", "OA = AUC(D,F) + AUC(D,tau) - AUC(F,tau)")]

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer("SCORES", "Anomaly scores"))
        self.addParameter(QgsProcessingParameterRasterLayer("TRUTH", "Ground truth (nonzero = anomaly)"))
        self.addParameter(QgsProcessingParameterFileDestination("OUTPUT_HTML", "Report", "HTML files (*.html)"))
        for key, _, label in self.FIGURES:
            self.addOutput(QgsProcessingOutputNumber(key, label))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        report = self.parameterAsFileOutput(parameters, "OUTPUT_HTML", context)
        with tempfile.TemporaryDirectory() as tmp:
            svg = os.path.join(tmp, "roc.svg")
            text = runner.run(["evaluate", self.input_path(parameters, "SCORES", context),
                               self.input_path(parameters, "TRUTH", context), "--json", "--plot", svg], feedback)
            figures = json.loads(text.strip().splitlines()[-1])
            with open(svg, encoding="utf-8") as f:
                plot = f.read()
        rows = "".join("<tr><td>%s</td><td>%.6f</td></tr>" % (html.escape(label), figures[k]) for _, k, label in self.FIGURES)
        with open(report, "w", encoding="utf-8") as f:
            f.write("<html><head><meta charset='utf-8'><title>BS3LNet evaluation</title></head><body>"
                    "<h2>Detection quality</h2><table border='1' cellpadding='4'>%s</table>"
                    "<p>%d anomaly pixels, %d background pixels</p>%s</body></html>"
                    % (rows, figures["anomaly_pixels"], figures["background_pixels"], plot))
        result = {key: figures[k] for key, k, _ in self.FIGURES}
        result["OUTPUT_HTML"] = report
        return result
