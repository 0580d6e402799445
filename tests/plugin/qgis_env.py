"""A throw-away headless QGIS profile with the bs3lnet plugin enabled."""
import atexit
import os
import shutil
import tempfile

SOURCE = os.environ["BS3L_SOURCE_DIR"]
BS3LNET = os.environ["BS3LNET"]
DRIVER_DIR = os.environ["BS3L_DRIVER_DIR"]
SAMPLE = os.path.join(SOURCE, "sample_data")


def scratch(prefix):
    """A temporary folder, removed when the test process exits."""
    d = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, d, True)
    return d


def headless_env():
    home = scratch("bs3l_qgis_home_")
    runtime = scratch("bs3l_qgis_run_")
    os.chmod(runtime, 0o700)
    ini = os.path.join(home, ".local/share/QGIS/QGIS3/profiles/default/QGIS")
    os.makedirs(ini)
    with open(os.path.join(ini, "QGIS3.ini"), "w") as f:
        f.write("[PythonPlugins]\nbs3lnet=true\n")
    env = dict(os.environ)
    env.update({"HOME": home, "XDG_RUNTIME_DIR": runtime, "QT_QPA_PLATFORM": "offscreen",
                "QGIS_PLUGINPATH": os.path.join(SOURCE, "plugin", "qgis"),
                "BS3LNET_EXECUTABLE": BS3LNET, "BS3LNET_GDAL_DRIVER_PATH": DRIVER_DIR,
                "GDAL_DRIVER_PATH": DRIVER_DIR,
                # QGIS would write statistics sidecars (.aux.xml) next to the sample inputs.
                "GDAL_PAM_ENABLED": "NO"})
    return env
