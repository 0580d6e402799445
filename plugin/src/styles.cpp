#include "styles.h"

#include <cstdio>

namespace bs3l::app {
namespace {

std::string document(const std::string &renderer) {
  return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
         "<qgis version=\"3.22.0\" styleCategories=\"Symbology\">\n"
         "  <pipe>\n" +
         renderer +
         "    <brightnesscontrast brightness=\"0\" contrast=\"0\" gamma=\"1\"/>\n"
         "    <huesaturation saturation=\"0\" grayscaleMode=\"0\" colorizeOn=\"0\" colorizeRed=\"255\" "
         "colorizeGreen=\"128\" colorizeBlue=\"128\" colorizeStrength=\"100\"/>\n"
         "    <rasterresampler maxOversampling=\"2\"/>\n"
         "  </pipe>\n"
         "  <blendMode>0</blendMode>\n"
         "</qgis>\n";
}

}  // namespace

std::string pfa_style() {
  // Magma at 0, 1, ..., 6: rare (high) scores bright; the legend speaks in
  // false-alarm rates, the units analysts threshold in.
  const char *colours[] = {"#000004", "#2c115f", "#721f81", "#b73779", "#f1605d", "#feb078", "#fcfdbf"};
  std::string items;
  for (int k = 0; k <= 6; ++k) {
    char line[200];
    std::snprintf(line, sizeof line,
                  "          <item alpha=\"255\" value=\"%d\" label=\"%s\" color=\"%s\"/>\n", k,
                  k == 0 ? "pfa 1" : ("pfa 1e-" + std::to_string(k)).c_str(), colours[k]);
    items += line;
  }
  return document(
      "    <rasterrenderer type=\"singlebandpseudocolor\" band=\"1\" opacity=\"1\" alphaBand=\"-1\" "
      "classificationMin=\"0\" classificationMax=\"6\" nodataColor=\"\">\n"
      "      <rasterTransparency/>\n"
      "      <minMaxOrigin><limits>None</limits><extent>WholeRaster</extent><statAccuracy>Estimated</statAccuracy>"
      "<cumulativeCutLower>0.02</cumulativeCutLower><cumulativeCutUpper>0.98</cumulativeCutUpper>"
      "<stdDevFactor>2</stdDevFactor></minMaxOrigin>\n"
      "      <rastershader>\n"
      "        <colorrampshader colorRampType=\"INTERPOLATED\" classificationMode=\"1\" clip=\"0\" "
      "minimumValue=\"0\" maximumValue=\"6\" labelPrecision=\"0\">\n" +
      items +
      "        </colorrampshader>\n"
      "      </rastershader>\n"
      "    </rasterrenderer>\n");
}

std::string mask_style() {
  return document(
      "    <rasterrenderer type=\"paletted\" band=\"1\" opacity=\"1\" alphaBand=\"-1\" nodataColor=\"\">\n"
      "      <rasterTransparency/>\n"
      "      <minMaxOrigin><limits>None</limits><extent>WholeRaster</extent><statAccuracy>Estimated</statAccuracy>"
      "<cumulativeCutLower>0.02</cumulativeCutLower><cumulativeCutUpper>0.98</cumulativeCutUpper>"
      "<stdDevFactor>2</stdDevFactor></minMaxOrigin>\n"
      "      <colorPalette>\n"
      "        <paletteEntry value=\"0\" color=\"#000000\" alpha=\"0\" label=\"background\"/>\n"
      "        <paletteEntry value=\"1\" color=\"#ff0000\" alpha=\"255\" label=\"detection\"/>\n"
      "      </colorPalette>\n"
      "      <colorramp type=\"randomcolors\" name=\"[source]\"/>\n"
      "    </rasterrenderer>\n");
}

}  // namespace bs3l::app
