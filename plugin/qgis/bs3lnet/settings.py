"""Where the bs3lnet executable and the .mat GDAL driver live.

Defaults: environment variables, then what `cmake --install` recorded in
install_paths.py, then the PATH. Users change them under Settings > Options >
Processing > Providers > BS3LNet.
"""
import os
import shutil

from processing.core.ProcessingConfig import ProcessingConfig, Setting

PROVIDER_NAME = "BS3LNet"
EXECUTABLE = "BS3LNET_EXECUTABLE"
DRIVER_PATH = "BS3LNET_GDAL_DRIVER_PATH"

try:
    from . import install_paths  # written by cmake --install
except ImportError:
    install_paths = None


def default_executable():
    if os.environ.get(EXECUTABLE):
        return os.environ[EXECUTABLE]
    if install_paths and os.path.exists(install_paths.EXECUTABLE):
        return install_paths.EXECUTABLE
    return shutil.which("bs3lnet") or "bs3lnet"


def default_driver_path():
    if os.environ.get(DRIVER_PATH):
        return os.environ[DRIVER_PATH]
    return install_paths.DRIVER_PATH if install_paths else ""


def add_settings():
    ProcessingConfig.addSetting(Setting(PROVIDER_NAME, EXECUTABLE, "bs3lnet executable", default_executable(),
                                        valuetype=Setting.FILE))
    ProcessingConfig.addSetting(Setting(PROVIDER_NAME, DRIVER_PATH,
                                        "Folder holding gdal_MATLAB.so (lets QGIS open .mat cubes)",
                                        default_driver_path(), valuetype=Setting.FOLDER))
    ProcessingConfig.readSettings()


def remove_settings():
    ProcessingConfig.removeSetting(EXECUTABLE)
    ProcessingConfig.removeSetting(DRIVER_PATH)


def executable():
    return ProcessingConfig.getSetting(EXECUTABLE) or default_executable()


def driver_path():
    return ProcessingConfig.getSetting(DRIVER_PATH) or default_driver_path()
