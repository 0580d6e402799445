// GDAL dataset over one numeric variable of a MATLAB v5/v7/v7.3 file, or a
// container listing a multi-variable file's rasters as subdatasets.
#pragma once

#include "mat_file.h"

#include <gdal_pam.h>
#include <ogr_spatialref.h>

#include <string>
#include <vector>

namespace bs3l::matlab {

class MatlabDataset final : public GDALPamDataset {
 public:
  static GDALDataset *Open(GDALOpenInfo *info);
  static int Identify(GDALOpenInfo *info);

  CPLErr GetGeoTransform(double *gt) override;
  const OGRSpatialReference *GetSpatialRef() const override;

  // Reads one rows x cols tile of one band into a row-major buffer of the band's type.
  CPLErr read_tile(int band, int x0, int y0, int w, int h, void *dst, int dst_stride);

 private:
  friend class MatlabBand;
  MatPtr mat_;
  VarPtr var_;                 // the raster variable's header, for Mat_VarReadData
  VarInfo info_;
  int axis_row_ = 0, axis_col_ = 1, axis_band_ = 2;  // which MATLAB dimension is which
  std::vector<unsigned char> cache_;  // whole variable, for zlib-compressed v5
  bool use_cache_ = false;
  bool has_transform_ = false;
  double transform_[6] = {0, 1, 0, 0, 0, 1};
  OGRSpatialReference srs_;

  bool setup_axes(GDALOpenInfo *info);
  bool load_cache();
  void add_band_metadata(mat_t *mat, const std::vector<VarInfo> &vars);
};

class MatlabBand final : public GDALPamRasterBand {
 public:
  MatlabBand(MatlabDataset *ds, int band, GDALDataType type, int block_x, int block_y);
  CPLErr IReadBlock(int bx, int by, void *dst) override;
};

GDALDataset *create_copy(const char *path, GDALDataset *src, int strict, char **options,
                         GDALProgressFunc progress, void *progress_data);

}  // namespace bs3l::matlab
