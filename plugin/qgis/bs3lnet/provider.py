"""The Processing provider: id `bs3lnet`, five algorithms built at load from
the command's own description of its options (--json-usage)."""
import os

from qgis.core import QgsProcessingProvider

from . import settings
from .algorithms import algorithms


def register_mat_driver(folder):
    """Loads gdal_MATLAB.so into QGIS's own GDAL so .mat cubes open as layers."""
    if not folder or not os.path.isdir(folder):
        return
    from osgeo import gdal
    if gdal.GetDriverByName("MATLAB") is None:
        old = gdal.GetConfigOption("GDAL_DRIVER_PATH")
        gdal.SetConfigOption("GDAL_DRIVER_PATH", folder)
        gdal.AllRegister()  # loads plugins from that folder; registered drivers stay
        gdal.SetConfigOption("GDAL_DRIVER_PATH", old)


class Bs3lnetProvider(QgsProcessingProvider):
    def id(self):
        return "bs3lnet"

    def name(self):
        return settings.PROVIDER_NAME

    def longName(self):  # noqa: N802
        return "BS3LNet hyperspectral anomaly detection"

    def load(self):
        settings.add_settings()
        register_mat_driver(settings.driver_path())
        self.refreshAlgorithms()
        return True

    def unload(self):
        settings.remove_settings()

    def loadAlgorithms(self):  # noqa: N802
        for alg in algorithms():
            self.addAlgorithm(alg)
