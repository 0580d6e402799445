// Entry point of the MATLAB .mat raster driver. GDAL calls it when it loads
// gdal_MATLAB.so from GDAL_DRIVER_PATH; programs linking the driver call it
// before GDALAllRegister().
#pragma once

#include <cpl_port.h>

extern "C" void CPL_DLL GDALRegister_MATLAB();
