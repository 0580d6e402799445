"""Writes detect_threshold_outline.model3: a QGIS Processing model that
detects anomalies, thresholds the scores at a false-alarm rate and outlines
the detections as polygons (bs3lnet:detect, then bs3lnet:threshold).

  QT_QPA_PLATFORM=offscreen BS3LNET_EXECUTABLE=build/plugin/bs3lnet \\
    /usr/bin/python3 plugin/qgis/bs3lnet/models/make_model.py

Open the model in QGIS with Processing > Toolbox > Models > Open Existing
Model, or run it headless with qgis_process.bin run PATH.model3 -- ...
"""
import os
import sys

from qgis.core import (QgsApplication, QgsProcessingModelAlgorithm, QgsProcessingModelChildAlgorithm,
                       QgsProcessingModelChildParameterSource, QgsProcessingModelOutput, QgsProcessingModelParameter,
                       QgsProcessingParameterNumber, QgsProcessingParameterRasterLayer)

HERE = os.path.dirname(os.path.abspath(__file__))


def model():
    m = QgsProcessingModelAlgorithm("Detect, threshold, outline", "Hyperspectral anomaly detection", "bs3lnet")
    params = [QgsProcessingParameterRasterLayer("INPUT", "Hyperspectral cube"),
              QgsProcessingParameterNumber("MAX_PFA", "Maximum false-alarm probability",
                                           QgsProcessingParameterNumber.Double, 0.001, False, 1e-12, 0.5),
              QgsProcessingParameterNumber("STEPS", "Training steps (0: auto)", QgsProcessingParameterNumber.Integer,
                                           0, False, 0, 100000)]
    for p in params:
        m.addModelParameter(p, QgsProcessingModelParameter(p.name()))
    source = QgsProcessingModelChildParameterSource

    def child(alg, cid, description, inputs, outputs):
        c = QgsProcessingModelChildAlgorithm(alg)
        c.setChildId(cid)
        c.setDescription(description)
        for name, src in inputs.items():
            c.addParameterSources(name, [src])
        outs = {}
        for model_name, (child_name, label) in outputs.items():
            o = QgsProcessingModelOutput(model_name, label)
            o.setChildOutputName(child_name)
            o.setChildId(cid)
            outs[model_name] = o
        c.setModelOutputs(outs)
        m.addChildAlgorithm(c)

    child("bs3lnet:detect", "detect", "Detect anomalies (BS3LNet)",
          {"INPUT": source.fromModelParameter("INPUT"), "STEPS": source.fromModelParameter("STEPS")},
          {"Scores": ("OUTPUT", "Anomaly scores")})
    child("bs3lnet:threshold", "threshold", "Threshold anomaly scores",
          {"SCORES": source.fromChildOutput("detect", "OUTPUT"), "MAX_PFA": source.fromModelParameter("MAX_PFA")},
          {"Detections": ("DETECTIONS", "Detection mask"), "Polygons": ("VECTOR", "Detection polygons")})
    return m


def main():
    app = QgsApplication([], False)
    app.initQgis()
    sys.path[:0] = [os.path.dirname(os.path.dirname(HERE)), "/usr/share/qgis/python/plugins"]
    from processing.core.Processing import Processing
    Processing.initialize()
    from bs3lnet.provider import Bs3lnetProvider
    provider = Bs3lnetProvider()
    QgsApplication.processingRegistry().addProvider(provider)  # the children's parameters come from it
    ok = model().toFile(os.path.join(HERE, "detect_threshold_outline.model3"))
    QgsApplication.processingRegistry().removeProvider(provider)
    app.exitQgis()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
