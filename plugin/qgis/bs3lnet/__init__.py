"""QGIS plugin entry point: a Processing provider around the bs3lnet command."""


def classFactory(iface):  # noqa: N802 - QGIS's name
    from .plugin import Bs3lnetPlugin
    return Bs3lnetPlugin(iface)
