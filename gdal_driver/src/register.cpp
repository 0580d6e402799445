#include "matlab_driver.h"

#include "matlab_dataset.h"

#include <gdal_priv.h>

using bs3l::matlab::MatlabDataset;

void GDALRegister_MATLAB() {
  if (!GDAL_CHECK_VERSION("MATLAB")) return;
  // The command links this driver in; a plugin copy may also be on GDAL_DRIVER_PATH.
  if (GDALGetDriverByName("MATLAB") != nullptr) return;
  auto *drv = new GDALDriver();
  drv->SetDescription("MATLAB");
  drv->SetMetadataItem(GDAL_DCAP_RASTER, "YES");
  drv->SetMetadataItem(GDAL_DMD_LONGNAME, "MATLAB MAT-file (v5, v7, v7.3)");
  drv->SetMetadataItem(GDAL_DMD_EXTENSION, "mat");
  drv->SetMetadataItem(GDAL_DMD_EXTENSIONS, "mat");
  drv->SetMetadataItem(GDAL_DMD_HELPTOPIC, "gdal_driver/README.md");
  drv->SetMetadataItem(GDAL_DCAP_VIRTUALIO, "NO");
  drv->SetMetadataItem(GDAL_DMD_SUBDATASETS, "YES");
  drv->SetMetadataItem(GDAL_DMD_CREATIONDATATYPES, "Byte Int16 UInt16 Int32 UInt32 Int64 UInt64 Float32 Float64");
  drv->SetMetadataItem(GDAL_DMD_OPENOPTIONLIST,
                       "<OpenOptionList>"
                       "  <Option name='VARIABLE' type='string' description='Variable to open as a raster'/>"
                       "  <Option name='BAND_AXIS' type='int' min='1' max='3' default='3' "
                       "description='MATLAB dimension (1-based) that holds the bands of a 3-D array'/>"
                       "  <Option name='TRANSPOSE' type='boolean' default='NO' "
                       "description='Swap rows and columns (for cubes stored cols x rows)'/>"
                       "</OpenOptionList>");
  drv->SetMetadataItem(GDAL_DMD_CREATIONOPTIONLIST,
                       "<CreationOptionList>"
                       "  <Option name='FORMAT' type='string-select' default='5' description='MAT-file version'>"
                       "    <Value>5</Value><Value>7.3</Value>"
                       "  </Option>"
                       "  <Option name='VARIABLE' type='string' default='data' description='Name of the cube variable'/>"
                       "  <Option name='COMPRESS' type='boolean' default='NO' "
                       "description='zlib-compress the variables (FORMAT=5 then writes a v7 file)'/>"
                       "</CreationOptionList>");
  drv->pfnIdentify = MatlabDataset::Identify;
  drv->pfnOpen = MatlabDataset::Open;
  drv->pfnCreateCopy = bs3l::matlab::create_copy;
  GetGDALDriverManager()->RegisterDriver(drv);
}
