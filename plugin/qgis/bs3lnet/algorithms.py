"""Processing algorithms built from `bs3lnet COMMAND --json-usage`: one
parameter per option of the command (named as GDAL's provider names them:
`--top-percent` is TOP_PERCENT), labels and help from the command's option
table, rare options as advanced parameters. Only what a shell needs (-q,
--overwrite, -of/-co/-oo) is left out; QGIS handles formats itself."""
import html
import json
import os
import re
import tempfile

from qgis.core import (QgsColorRampShader, QgsProcessingAlgorithm, QgsProcessingException,
                       QgsProcessingLayerPostProcessorInterface, QgsProcessingOutputNumber,
                       QgsProcessingParameterBand, QgsProcessingParameterBoolean, QgsProcessingParameterDefinition,
                       QgsProcessingParameterEnum,
                       QgsProcessingParameterFile, QgsProcessingParameterFileDestination,
                       QgsProcessingParameterFolderDestination, QgsProcessingParameterNumber,
                       QgsProcessingParameterRasterDestination, QgsProcessingParameterRasterLayer,
                       QgsProcessingParameterString, QgsProcessingParameterVectorDestination, QgsRasterShader,
                       QgsSingleBandPseudoColorRenderer, QgsStyle)

from . import runner

COMMANDS = ("detect", "train", "apply", "rx", "threshold", "evaluate")
LABELS = {"detect": "Detect anomalies (BS3LNet)", "train": "Train BS3LNet model", "apply": "Apply BS3LNet model",
          "rx": "RX anomaly detector", "threshold": "Threshold anomaly scores",
          "evaluate": "Evaluate against ground truth"}
OUTPUT_ROLES = ("output_raster", "output_vector", "output_file", "output_folder")


def is_cube_reference(value):
    return isinstance(value, str) and (os.path.isfile(value) or value.startswith("MATLAB:"))


def qgis_help(text, usage):
    """The option's help in QGIS's words: shell flags named as parameters."""
    names = {o["name"]: o["qgis_name"] for o in usage["options"]}
    names.update({a: o["qgis_name"] for o in usage["options"] for a in o.get("aliases", [])})
    return re.sub(r"(?<![\w-])--?[a-z][a-z0-9-]*", lambda m: names.get(m.group(0), m.group(0)), text)


def label_of(entry):
    """A parameter label: the one the option table declares."""
    return entry["label"]


def usage_of(command):
    """The command's --json-usage, or None when the executable cannot give it."""
    try:
        return json.loads(runner.capture([command, "--json-usage"]))
    except Exception:  # noqa: BLE001 - no executable, or an old one
        return None


class ScoreStyle(QgsProcessingLayerPostProcessorInterface):
    """An output with the style the command wrote beside it (NAME.qml: pfa
    scores on a fixed legend in false-alarm rates, detection masks) loads with
    it; raw scores as a magma colour ramp stretched over their 2-98% range."""
    instances = []  # QGIS does not own post-processors: keep them alive

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802
        if not layer or not layer.isValid():
            return
        qml = os.path.splitext(layer.source())[0] + ".qml"
        if os.path.exists(qml):
            layer.loadNamedStyle(qml)
            layer.triggerRepaint()
            return
        if layer.bandCount() != 1:
            return
        stats = layer.dataProvider().cumulativeCut(1, 0.02, 0.98)
        lo, hi = stats if stats and stats[0] < stats[1] else (0.0, 1.0)
        ramp = QgsStyle.defaultStyle().colorRamp("Magma")
        shader_fn = QgsColorRampShader(lo, hi, ramp)
        shader_fn.classifyColorRamp()
        shader = QgsRasterShader()
        shader.setRasterShaderFunction(shader_fn)
        layer.setRenderer(QgsSingleBandPseudoColorRenderer(layer.dataProvider(), 1, shader))
        layer.triggerRepaint()


class Named(QgsProcessingAlgorithm):
    """Name, label and group of a bs3lnet command's algorithm."""
    command = ""

    def name(self):
        return self.command

    def displayName(self):  # noqa: N802
        return LABELS.get(self.command, self.command)

    def group(self):
        return "Hyperspectral anomaly detection"

    def groupId(self):  # noqa: N802
        return "had"


class CommandAlgorithm(Named):
    """One bs3lnet command as described by its --json-usage."""

    def __init__(self, usage):
        super().__init__()
        self.usage = usage
        self.command = usage["command"]

    def shortHelpString(self):  # noqa: N802
        return self.usage["description"] + ". Each parameter is an option of the bs3lnet %s command." % self.command

    def createInstance(self):  # noqa: N802
        return type(self)(self.usage)

    def options(self):
        return [o for o in self.usage["options"] if not o.get("shell_only")]

    # --- parameters
    def initAlgorithm(self, config=None):  # noqa: N802
        for p in self.usage["positional"]:
            self.addParameter(self.positional_parameter(p))
        for o in self.options():
            param = self.option_parameter(o)
            param.setHelp(qgis_help(o["help"], self.usage))
            if o.get("group") == "advanced":
                param.setFlags(param.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
            self.addParameter(param)

    def positional_parameter(self, p):
        name, role, label = p["name"], p["role"], label_of(p)
        if role == "input_raster":
            return QgsProcessingParameterRasterLayer(name, label)
        if role == "input_file":
            return QgsProcessingParameterFile(name, label, fileFilter="Model (*.pt)")
        if role == "output_raster":
            return QgsProcessingParameterRasterDestination(name, label)
        if role == "output_folder":
            return QgsProcessingParameterFolderDestination(name, label)
        return QgsProcessingParameterFileDestination(name, label, "Model (*.pt)")

    def option_parameter(self, o):
        name, label, kind, role = o["qgis_name"], label_of(o), o["type"], o.get("role", "")
        default = o.get("default")
        if o["name"] == "-b":  # a band picker on the input layer (several bands)
            return QgsProcessingParameterBand(name, label, None, "INPUT", optional=True, allowMultiple=True)
        if kind == "flag":
            return QgsProcessingParameterBoolean(name, label, defaultValue=False, optional=True)
        if kind in ("integer", "number"):
            t = QgsProcessingParameterNumber.Integer if kind == "integer" else QgsProcessingParameterNumber.Double
            p = QgsProcessingParameterNumber(name, label, t, defaultValue=default, optional=default is None)
            if "min" in o:
                p.setMinimum(o["min"])
                p.setMaximum(o["max"])
            return p
        if kind == "choice":
            choices = o["choices"]
            return QgsProcessingParameterEnum(name, label, choices, defaultValue=choices.index(default)
                                              if default in choices else None, optional=default not in choices)
        if role == "input_raster":
            return QgsProcessingParameterRasterLayer(name, label, optional=True)
        if role == "output_raster":
            return QgsProcessingParameterRasterDestination(name, label, optional=True, createByDefault=False)
        if role == "output_vector":
            return QgsProcessingParameterVectorDestination(name, label, optional=True, createByDefault=False)
        if role == "output_file":
            ext = os.path.splitext(o.get("metavar", ""))[1] or (".pt" if "model" in o["help"] else ".png")
            return QgsProcessingParameterFileDestination(name, label, "*%s" % ext, optional=True,
                                                         createByDefault=False)
        return QgsProcessingParameterString(name, label, defaultValue=default, optional=True)

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

    # --- parameters to command arguments
    def input_path(self, parameters, name, context):
        """The layer's source; a plain path or MATLAB:"file":var is passed as is."""
        raw = parameters.get(name)
        if is_cube_reference(raw):
            return raw
        layer = self.parameterAsRasterLayer(parameters, name, context)
        if layer is None:
            raise QgsProcessingException("cannot read parameter %s" % name)
        return layer.source()

    def arguments(self, parameters, context):
        """(command line, {output parameter: path})."""
        args, outputs = [self.command], {}
        for p in self.usage["positional"]:
            name, role = p["name"], p["role"]
            if role == "input_raster":
                args.append(self.input_path(parameters, name, context))
            elif role == "input_file":
                args.append(self.parameterAsFile(parameters, name, context))
            elif role == "output_raster":
                outputs[name] = self.parameterAsOutputLayer(parameters, name, context)
                args.append(outputs[name])
            else:
                outputs[name] = self.parameterAsFileOutput(parameters, name, context)
                args.append(outputs[name])
        args.append("--overwrite")  # QGIS asked for the path; the command still writes via temp + rename
        for o in self.options():
            name, kind, role, value = o["qgis_name"], o["type"], o.get("role", ""), parameters.get(o["qgis_name"])
            if value is None or value == "":
                continue
            if kind == "flag":
                if self.parameterAsBoolean(parameters, name, context):
                    args.append(o["name"])
                continue
            if o["name"] == "-b":
                bands = self.parameterAsInts(parameters, name, context)
                if bands:
                    args += ["-b", ",".join(str(b) for b in bands)]
                continue
            if kind == "choice":
                text = o["choices"][self.parameterAsEnum(parameters, name, context)]
            elif kind == "integer":
                text = str(self.parameterAsInt(parameters, name, context))
            elif kind == "number":
                text = repr(self.parameterAsDouble(parameters, name, context))
            elif role == "input_raster":
                text = self.input_path(parameters, name, context)
            elif role in OUTPUT_ROLES:
                text = (self.parameterAsOutputLayer(parameters, name, context) if role != "output_file"
                        else self.parameterAsFileOutput(parameters, name, context))
                if not text:
                    continue
                outputs[name] = text
            else:
                text = self.parameterAsString(parameters, name, context)
            # What equals the command's default is left to the command (some
            # defaults follow the mode, e.g. --units raw with --mode faithful).
            if "default" in o and kind != "string" and text == (str(o["default"]) if kind != "number"
                                                                else repr(float(o["default"]))):
                continue
            if "default" in o and kind == "string" and text == o["default"]:
                continue
            args += [o["name"], text]
        return args, outputs

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        args, outputs = self.arguments(parameters, context)
        runner.run(args, feedback, list(outputs.values()))
        for name, path in outputs.items():
            if context.willLoadLayerOnCompletion(path):
                style = ScoreStyle()
                ScoreStyle.instances.append(style)
                context.layerToLoadOnCompletionDetails(path).setPostProcessor(style)
        return dict(outputs)


class EvaluateAlgorithm(CommandAlgorithm):
    """evaluate, plus an HTML report with the figures and the plot."""
    FIGURES = [("AUC_DF", "auc_df", "AUC(D,F)"), ("AUC_DTAU", "auc_dtau", "AUC(D,tau)"),
               ("AUC_FTAU", "auc_ftau", "AUC(F,tau)"), ("TD", "td", "TD = AUC(D,F) + AUC(D,tau)"),
               ("BS", "bs", "BS = AUC(D,F) - AUC(F,tau)"), ("SNPR", "snpr", "SNPR = AUC(D,tau) / AUC(F,tau)"),
               ("ODP", "odp", "ODP = AUC(D,tau) + 1 - AUC(F,tau)"), ("OA", "oa", "OA = AUC(D,F) + AUC(D,tau) - AUC(F,tau)")]
    REPORT = "OUTPUT_HTML"

    def initAlgorithm(self, config=None):  # noqa: N802
        super().initAlgorithm(config)
        self.addParameter(QgsProcessingParameterFileDestination(self.REPORT, "Report", "HTML files (*.html)"))
        for key, _, label in self.FIGURES:
            self.addOutput(QgsProcessingOutputNumber(key, label))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        args, outputs = self.arguments(parameters, context)
        report = self.parameterAsFileOutput(parameters, self.REPORT, context)
        with tempfile.TemporaryDirectory() as tmp:
            svg = outputs.get("PLOT") or os.path.join(tmp, "plot.svg")
            if "PLOT" not in outputs:
                args += ["--plot", svg]
            figures = json.loads(runner.run(args + ["--json"], feedback).strip().splitlines()[-1])
            with open(svg, encoding="utf-8") as f:
                plot = f.read()
        rows = "".join("<tr><td>%s</td><td>%.6f</td></tr>" % (html.escape(label), figures[k]) for _, k, label in self.FIGURES)
        with open(report, "w", encoding="utf-8") as f:
            f.write("<html><head><meta charset='utf-8'><title>BS3LNet evaluation</title></head><body>"
                    "<h2>Detection quality</h2><table border='1' cellpadding='4'>%s</table>"
                    "<p>%d anomaly pixels, %d background pixels</p>%s</body></html>"
                    % (rows, figures["anomaly_pixels"], figures["background_pixels"], plot))
        result = {key: figures[k] for key, k, _ in self.FIGURES}
        result.update(outputs)
        result[self.REPORT] = report
        return result


class MissingExecutable(Named):
    """Stands in for a command when bs3lnet cannot describe it, so that
    running it says why."""

    def __init__(self, command):
        super().__init__()
        self.command = command

    def createInstance(self):  # noqa: N802
        return MissingExecutable(self.command)

    def initAlgorithm(self, config=None):  # noqa: N802
        pass

    def checkParameterValues(self, parameters, context):  # noqa: N802
        return True, ""

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        runner.check_executable()
        raise QgsProcessingException("bs3lnet %s --json-usage failed; is the executable current?" % self.command)


def algorithms():
    out = []
    for command in COMMANDS:
        usage = usage_of(command)
        if usage is None:
            out.append(MissingExecutable(command))
        else:
            out.append((EvaluateAlgorithm if command == "evaluate" else CommandAlgorithm)(usage))
    return out
