"""The MATLAB .mat GDAL driver against scipy/h5py, round trips and bad files.

Needs GDAL_DRIVER_PATH pointing at the folder holding gdal_MATLAB.so (CTest
sets it) and Debian's python3 with osgeo, numpy, scipy and h5py.
"""
import os
import struct
import subprocess
import tempfile
import unittest

import numpy as np
import scipy.io
import scipy.sparse
from osgeo import gdal, osr

gdal.UseExceptions()
HAD_DIR = os.environ.get("BS3L_HAD_DIR", os.path.join(os.path.dirname(__file__), "../../../shared/data/had"))
AUX = {"wavelength", "wavelengths", "fwhm", "bbl", "geotransform", "nodata"}


def sds(path, var):
    return 'MATLAB:"%s":%s' % (path, var)


def gdal_cube(name, **open_options):
    ds = gdal.OpenEx(name, gdal.OF_RASTER, open_options=["%s=%s" % kv for kv in open_options.items()])
    a = ds.ReadAsArray()
    return a if a.ndim == 2 else np.moveaxis(a, 0, 2)  # to MATLAB's rows x cols x bands


def reference_rasters(path):
    """Numeric 2-D/3-D variables as scipy (v5/v7) or h5py (v7.3) read them."""
    with open(path, "rb") as f:
        v73 = b"MATLAB 7.3" in f.read(128)
    out = {}
    if v73:
        import h5py
        with h5py.File(path, "r") as f:
            for k, d in f.items():
                if isinstance(d, h5py.Dataset) and d.ndim in (2, 3) and d.dtype.kind in "biuf":
                    out[k] = d[()].T  # h5py sees MATLAB arrays transposed
    else:
        for k, v in scipy.io.loadmat(path).items():
            if isinstance(v, np.ndarray) and v.ndim in (2, 3) and v.dtype.kind in "biuf" and 0 not in v.shape:
                out[k] = v
    return {k: v for k, v in out.items() if k not in AUX}


# Under CI the shared scenes must be there: their absence fails, not skips.
@unittest.skipUnless(os.path.isdir(HAD_DIR) or os.environ.get("CI") == "true",
                     "real scenes not found at %s (../shared/data/had)" % HAD_DIR)
class RealFiles(unittest.TestCase):
    def test_every_file_every_variable_equals_scipy_or_h5py(self):
        files = sorted(f for f in os.listdir(HAD_DIR) if f.endswith(".mat"))
        self.assertGreaterEqual(len(files), 10)
        for f in files:
            path = os.path.join(HAD_DIR, f)
            ref = reference_rasters(path)
            self.assertTrue(ref, f)
            ds = gdal.Open(path)
            self.assertEqual(ds.GetDriver().ShortName, "MATLAB", f)
            listed = [v for k, v in ds.GetMetadata("SUBDATASETS").items() if k.endswith("_NAME")]
            if len(ref) == 1:
                self.assertEqual(listed, [], f)
                self.assertGreater(ds.RasterCount, 0, f)
            else:
                self.assertEqual(sorted(listed), sorted(sds(path, k) for k in ref), f)
            for var, want in ref.items():
                with self.subTest(file=f, variable=var):
                    got = gdal_cube(sds(path, var))
                    self.assertEqual(got.shape, want.shape)
                    np.testing.assert_array_equal(got.astype(np.float64), want.astype(np.float64))

    def test_named_variable_pairs_open(self):
        for f, cube, truth in [("hydice-ii.mat", "data", "map"), ("aviris-i.mat", "data", "gt"),
                               ("hydice1_autoad_v73.mat", "image", "mask"),
                               ("urban_162band_bslhad.mat", "urban_detection", "groundtruth"),
                               ("muufl_tgt_det_demo.mat", "hsi_sub", "gtImg_sub")]:
            path = os.path.join(HAD_DIR, f)
            c = gdal.OpenEx(path, open_options=["VARIABLE=" + cube])
            t = gdal.OpenEx(path, open_options=["VARIABLE=" + truth])
            self.assertGreater(c.RasterCount, 1, f)
            self.assertEqual(t.RasterCount, 1, f)
            self.assertEqual((c.RasterXSize, c.RasterYSize), (t.RasterXSize, t.RasterYSize), f)

    def test_transposed_file_and_transpose_option(self):
        path = os.path.join(HAD_DIR, "hydice_data_lren.mat")
        plain = gdal.OpenEx(path, open_options=["VARIABLE=data"])
        self.assertEqual((plain.RasterYSize, plain.RasterXSize, plain.RasterCount), (100, 80, 162))
        t = gdal.OpenEx(path, open_options=["VARIABLE=data", "TRANSPOSE=YES"])
        self.assertEqual((t.RasterYSize, t.RasterXSize), (80, 100))
        np.testing.assert_array_equal(t.GetRasterBand(7).ReadAsArray(), plain.GetRasterBand(7).ReadAsArray().T)

    def test_sddata_georef_crs_transform_wavelengths(self):
        path = os.path.join(HAD_DIR, "sddata_georef.mat")
        ds = gdal.Open(sds(path, "data"))
        self.assertEqual(ds.GetGeoTransform(), (480805.4, 3.5, 0.0, 3618830.5, 0.0, -3.5))
        srs = ds.GetSpatialRef()
        self.assertEqual(srs.GetUTMZone(), 11)
        self.assertTrue(srs.IsSame(_epsg(26711)))
        self.assertAlmostEqual(float(ds.GetRasterBand(1).GetMetadataItem("wavelength")), 429.41, places=2)
        self.assertEqual(ds.GetRasterBand(189).GetMetadataItem("wavelength_units"), "Nanometers")
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "sd.tif")
            gdal.Translate(out, ds)
            t = gdal.Open(out)
            self.assertEqual(t.GetGeoTransform(), ds.GetGeoTransform())
            self.assertTrue(t.GetSpatialRef().IsSame(srs))
            np.testing.assert_array_equal(t.ReadAsArray(), ds.ReadAsArray())

    def test_compressed_variable_read_once(self):
        # All 162 bands of a zlib v5 cube; each band read alone would re-inflate.
        path = os.path.join(HAD_DIR, "hydice.mat")
        ds = gdal.Open(sds(path, "data"))
        total = sum(int(ds.GetRasterBand(b).Checksum()) for b in range(1, ds.RasterCount + 1))
        self.assertGreater(total, 0)


def _epsg(code):
    s = osr.SpatialReference()
    s.ImportFromEPSG(code)
    return s


class RoundTrip(unittest.TestCase):
    def make_tif(self, path, dtype=gdal.GDT_Int16):
        rng = np.random.default_rng(3)
        cube = rng.integers(-500, 3000, size=(7, 13, 9))  # bands, rows, cols
        ds = gdal.GetDriverByName("GTiff").Create(path, 9, 13, 7, dtype)
        ds.SetGeoTransform((500000.0, 2.5, 0.0, 4100000.0, 0.0, -2.5))
        ds.SetSpatialRef(_epsg(32611))
        for b in range(7):
            band = ds.GetRasterBand(b + 1)
            band.WriteArray(cube[b])
            band.SetMetadataItem("wavelength", "%.2f" % (400 + 10.5 * b))
            band.SetMetadataItem("wavelength_units", "Nanometers")
            band.SetNoDataValue(-9999)
        ds.SetMetadataItem("bbl", "{1, 1, 0, 1, 1, 1, 0}")
        ds = None
        return cube

    def check(self, options):
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "in.tif")
            cube = self.make_tif(src)
            mat = os.path.join(tmp, "cube.mat")
            back = os.path.join(tmp, "back.tif")
            gdal.Translate(mat, src, format="MATLAB", creationOptions=options)
            self.assertFalse(os.path.exists(mat + ".aux.xml"), "georeferencing must live in the file")
            gdal.Translate(back, mat)
            b = gdal.Open(back)
            np.testing.assert_array_equal(b.ReadAsArray(), cube)
            self.assertEqual(b.GetGeoTransform(), (500000.0, 2.5, 0.0, 4100000.0, 0.0, -2.5))
            self.assertTrue(b.GetSpatialRef().IsSame(_epsg(32611)))
            self.assertEqual([float(b.GetRasterBand(i + 1).GetMetadataItem("wavelength")) for i in range(7)],
                             [400 + 10.5 * i for i in range(7)])
            self.assertEqual(b.GetRasterBand(3).GetMetadataItem("wavelength_units"), "Nanometers")
            self.assertEqual(b.GetRasterBand(1).GetNoDataValue(), -9999)
            self.assertEqual(b.GetRasterBand(1).DataType, gdal.GDT_Int16)
            self.assertEqual(gdal.Open(mat).GetMetadataItem("bbl"), "{1, 1, 0, 1, 1, 1, 0}")  # the bad-band list
            return mat, cube

    def test_v5(self):
        self.check([])

    def test_v7_compressed_readable_by_scipy(self):
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "in.tif")
            cube = self.make_tif(src)
            mat = os.path.join(tmp, "c.mat")
            gdal.Translate(mat, src, format="MATLAB", creationOptions=["COMPRESS=YES", "VARIABLE=cube"])
            m = scipy.io.loadmat(mat)
            np.testing.assert_array_equal(m["cube"], np.moveaxis(cube, 0, 2))
            self.assertEqual(m["geotransform"].ravel().tolist(), [500000.0, 2.5, 0.0, 4100000.0, 0.0, -2.5])

    def test_v73_readable_by_h5py(self):
        import h5py
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "in.tif")
            cube = self.make_tif(src)
            mat = os.path.join(tmp, "c.mat")
            gdal.Translate(mat, src, format="MATLAB", creationOptions=["FORMAT=7.3"])
            with h5py.File(mat, "r") as f:
                np.testing.assert_array_equal(f["data"][()].T, np.moveaxis(cube, 0, 2))
        self.check(["FORMAT=7.3"])

    def test_band_axis_option(self):
        with tempfile.TemporaryDirectory() as tmp:
            p = os.path.join(tmp, "bfirst.mat")
            c = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)  # bands x rows x cols
            scipy.io.savemat(p, {"x": c})
            np.testing.assert_array_equal(gdal.OpenEx(p, open_options=["BAND_AXIS=1"]).ReadAsArray(), c)
            self.assertEqual(gdal.Open(p).RasterCount, 6)

    def test_all_types(self):
        with tempfile.TemporaryDirectory() as tmp:
            for dt in [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64,
                       np.float32, np.float64, bool]:
                p = os.path.join(tmp, "t.mat")
                a = (np.arange(3 * 4 * 2).reshape(3, 4, 2) % 2 if dt is bool else np.arange(3 * 4 * 2).reshape(3, 4, 2) - 5).astype(dt)
                scipy.io.savemat(p, {"v": a})
                got = gdal_cube(p)
                if dt is np.int8:
                    got = got.astype(np.uint8).view(np.int8)  # GDAL 3.6: Byte + PIXELTYPE=SIGNEDBYTE
                np.testing.assert_array_equal(got, a.astype(np.uint8) if dt is bool else a, str(dt))


class BadFiles(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)

    def assertOpenFails(self, path, pattern, **oo):
        with self.assertRaises(RuntimeError) as e:
            gdal.OpenEx(path, gdal.OF_RASTER, open_options=["%s=%s" % kv for kv in oo.items()])
        self.assertRegex(str(e.exception), pattern)

    def test_wrong_magic_is_declined(self):
        p = self.path("x.mat")
        with open(p, "wb") as f:
            f.write(b"NOT A MAT FILE" + bytes(200))
        self.assertOpenFails(p, "not recognized")

    def test_struct_only(self):
        p = self.path("s.mat")
        scipy.io.savemat(p, {"s": {"a": np.ones(3), "b": "text"}})
        self.assertOpenFails(p, r"no numeric 2-D or 3-D variable.*s \(struct\)")

    def test_cell_complex_sparse_named(self):
        p = self.path("m.mat")
        cell = np.empty((1, 2), dtype=object)
        cell[0, 0], cell[0, 1] = np.ones(2), "x"
        scipy.io.savemat(p, {"c": cell, "z": np.ones((3, 3)) * 1j, "sp": scipy.sparse.eye(4).tocsc(), "ok": np.ones((3, 3))})
        self.assertOpenFails(p, "variable 'c' is a cell", VARIABLE="c")
        self.assertOpenFails(p, "variable 'z' is complex", VARIABLE="z")
        self.assertOpenFails(p, "variable 'sp' is a sparse", VARIABLE="sp")
        self.assertOpenFails(p, "has no variable 'nope'", VARIABLE="nope")
        self.assertEqual(gdal.Open(p).RasterCount, 1)  # the one real array opens directly

    def test_four_d_and_zero_sized(self):
        p = self.path("d.mat")
        scipy.io.savemat(p, {"four": np.zeros((2, 2, 2, 2)), "empty": np.zeros((0, 5))})
        self.assertOpenFails(p, "has 4 dimensions", VARIABLE="four")
        self.assertOpenFails(p, "zero-sized", VARIABLE="empty")
        self.assertOpenFails(p, "no numeric 2-D or 3-D variable")

    def test_huge_claimed_size(self):
        p = self.path("h.mat")
        scipy.io.savemat(p, {"big": np.ones((3, 4, 5), dtype=np.uint8)})
        raw = open(p, "rb").read()
        tag = struct.pack("<iiiii", 5, 12, 3, 4, 5)
        self.assertIn(tag, raw)
        with open(p, "wb") as f:
            f.write(raw.replace(tag, struct.pack("<iiiii", 5, 12, 100000, 100000, 100000)))
        self.assertOpenFails(p, "claims 100000x100000x100000 elements")

    def test_truncated_files_error_not_crash(self):
        for compress in (False, True):
            p = self.path("t%d.mat" % compress)
            scipy.io.savemat(p, {"data": np.random.default_rng(1).random((40, 30, 8))}, do_compression=compress)
            raw = open(p, "rb").read()
            for keep in (100, 130, 200, len(raw) // 2, len(raw) - 8):
                with open(p, "wb") as f:
                    f.write(raw[:keep])
                with self.subTest(compress=compress, keep=keep):
                    with self.assertRaises(RuntimeError):
                        ds = gdal.Open(p)
                        ds.ReadAsArray()

    def test_update_access_refused(self):
        p = self.path("u.mat")
        scipy.io.savemat(p, {"a": np.ones((3, 3))})
        with self.assertRaises(RuntimeError) as e:
            gdal.Open(p, gdal.GA_Update)
        self.assertIn("read-only", str(e.exception))

    def test_gdalinfo_exit_code(self):
        p = self.path("s.mat")
        scipy.io.savemat(p, {"s": {"a": 1}})
        r = subprocess.run(["gdalinfo", p], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertGreater(r.returncode, 0, "gdalinfo crashed")
        self.assertIn("ERROR", r.stderr)


if __name__ == "__main__":
    unittest.main()
