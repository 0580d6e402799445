// Writing rasters: the driver from the name, creation options, a QGIS style
// beside, all through a temporary file committed with the run's outputs.
#include <cpl_conv.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gdal_open.h"
#include "progress.h"
#include "output_file.h"

namespace fs = std::filesystem;

namespace bs3l::app {
namespace {

std::string guess_driver(const std::string &path) {
  std::string ext = fs::path(path).extension().string();
  if (!ext.empty()) ext = ext.substr(1);
  for (char &c : ext) c = char(std::tolower(c));
  if (ext == "tif" || ext == "tiff" || ext.empty()) return "GTiff";
  // ENVI users name their data files so; GDAL would pick Erdas Imagine for .img.
  if (ext == "img" || ext == "dat" || ext == "bil" || ext == "bsq" || ext == "bip") return "ENVI";
  GDALDriverManager *dm = GetGDALDriverManager();
  for (int i = 0; i < dm->GetDriverCount(); ++i) {
    GDALDriver *drv = dm->GetDriver(i);
    const char *exts = drv->GetMetadataItem(GDAL_DMD_EXTENSIONS);
    if (!exts || !drv->GetMetadataItem(GDAL_DCAP_RASTER)) continue;
    if (!drv->GetMetadataItem(GDAL_DCAP_CREATE) && !drv->GetMetadataItem(GDAL_DCAP_CREATECOPY)) continue;
    std::istringstream s(exts);
    for (std::string e; s >> e;)
      if (e == ext) return drv->GetDescription();
  }
  return "GTiff";
}

}  // namespace

void check_output(const std::string &path, const WriteOptions &o, const std::vector<std::string> &inputs) {
  check_output_path(path, o.overwrite, inputs);
  const std::string fmt = o.format.empty() ? guess_driver(path) : o.format;
  GDALDriver *drv = GetGDALDriverManager()->GetDriverByName(fmt.c_str());
  if (!drv) throw Error("unknown output format '" + fmt + "'");
  if (!drv->GetMetadataItem(GDAL_DCAP_CREATE) && !drv->GetMetadataItem(GDAL_DCAP_CREATECOPY))
    throw Error("format '" + fmt + "' cannot write rasters");
}

void write_raster(const std::string &path, const WriteOptions &o, int rows, int cols,
                  const std::vector<const float *> &bands, const Georef &geo,
                  const std::vector<std::string> &descriptions, const std::map<std::string, std::string> &metadata,
                  bool byte_type, const std::string &unit, const std::map<std::string, std::string> &band_metadata,
                  const std::string &style) {
  const std::string fmt = o.format.empty() ? guess_driver(path) : o.format;
  GDALDriver *drv = GetGDALDriverManager()->GetDriverByName(fmt.c_str());
  GDALDriver *mem = GetGDALDriverManager()->GetDriverByName("MEM");
  if (!drv || !mem) throw Error("unknown output format '" + fmt + "'");
  const GDALDataType type = byte_type ? GDT_Byte : GDT_Float32;
  const double nodata = byte_type ? 255.0 : -9999.0;
  DatasetPtr m(mem->Create("", cols, rows, int(bands.size()), type, nullptr));
  apply_georef(*m, geo);
  for (const auto &[k, v] : metadata) m->SetMetadataItem(k.c_str(), v.c_str());
  std::vector<float> buf(size_t(rows) * cols);
  for (size_t b = 0; b < bands.size(); ++b) {
    GDALRasterBand *band = m->GetRasterBand(int(b + 1));
    for (size_t i = 0; i < buf.size(); ++i) buf[i] = std::isfinite(bands[b][i]) ? bands[b][i] : float(nodata);
    if (band->RasterIO(GF_Write, 0, 0, cols, rows, buf.data(), cols, rows, GDT_Float32, 0, 0) != CE_None)
      throw Error("out of memory preparing '" + path + "'");
    band->SetNoDataValue(nodata);
    if (b < descriptions.size()) band->SetDescription(descriptions[b].c_str());
    if (b == 0) {
      if (!unit.empty()) band->SetUnitType(unit.c_str());
      for (const auto &[k, v] : band_metadata) band->SetMetadataItem(k.c_str(), v.c_str());
    }
  }
  PendingOutput out(path, o.overwrite);
  CPLStringList co = string_list(o.creation_options);
  // Large GeoTIFF outputs tiled (GIS viewers and gdal tools read windows of
  // them fast), unless the user chose a layout.
  if (EQUAL(drv->GetDescription(), "GTiff") && size_t(rows) * cols >= 1000000 && !co.FetchNameValue("TILED") &&
      !co.FetchNameValue("BLOCKYSIZE"))
    co.SetNameValue("TILED", "YES"), co.SetNameValue("BIGTIFF", co.FetchNameValueDef("BIGTIFF", "IF_SAFER"));
  // An ENVI file named .bil or .bip is laid out as its name says; one with
  // no extension gets NAME.hdr (GDAL would swap the temporary name's marker).
  const std::string ext = fs::path(path).extension().string();
  if (EQUAL(drv->GetDescription(), "ENVI") && ext.empty() && !co.FetchNameValue("SUFFIX"))
    co.SetNameValue("SUFFIX", "ADD");
  if (EQUAL(drv->GetDescription(), "ENVI") && !co.FetchNameValue("INTERLEAVE") &&
      (EQUAL(ext.c_str(), ".bil") || EQUAL(ext.c_str(), ".bip")))
    co.SetNameValue("INTERLEAVE", ext.substr(1).c_str());
  CPLErrorReset();
  GDALDataset *outp =
      drv->CreateCopy(out.temp().c_str(), m.get(), FALSE, co.List(), RunProgress::gdal, RunProgress::active());
  bool ok = outp != nullptr;
  if (outp) {
    // CreateCopy leaves the GEOLOCATION domain behind; it then goes to the
    // output's own metadata (an .aux.xml where the format has no place for it).
    if (!geo.geolocation.empty()) outp->SetMetadata(string_list(geo.geolocation).List(), "GEOLOCATION");
    char **list = outp->GetFileList();
    for (char **f = list; f && *f; ++f) out.also(*f);
    CSLDestroy(list);
    GDALClose(outp);
    ok = CPLGetLastErrorType() < CE_Failure;
  }
  if (!ok || RunProgress::cancelled()) {
    const std::string why = gdal_error_text();
    drv->Delete(out.temp().c_str());
    if (RunProgress::cancelled()) throw Cancelled();
    throw Error("cannot write '" + path + "'" + why);
  }
  if (!style.empty()) {  // NAME.qml: QGIS styles the layer with it when it opens NAME.tif
    const std::string qml = out.side_car(".qml");
    out.also(qml);
    std::ofstream f(qml, std::ios::binary);
    f << style;
    f.close();
    if (f.fail()) throw Error("cannot write the QGIS style of '" + path + "'");
  }
  out.commit();
}

}  // namespace bs3l::app
