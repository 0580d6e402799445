// bs3lnet: hyperspectral anomaly detection with BS3LNet, GDAL in and out.
#include "src/commands.h"

int main(int argc, char **argv) { return bs3l::app::run(argc, argv); }
