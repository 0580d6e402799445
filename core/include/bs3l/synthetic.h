// The deterministic synthetic scene of sample_data/ (and of the GPU check):
// five smooth reflectance spectra mixed by smooth abundance fields, with
// illumination and spectrally correlated noise; water-vapour bands noisy and
// flagged bad; 12 targets of 1..4 px with sub-pixel fractions 0.1..1.
// Torch-free and bit-reproducible on any platform.
#pragma once
#include <cstdint>
#include <vector>

namespace bs3l {

struct SyntheticScene {
  int size, bands;
  std::vector<double> wavelength, fwhm;
  std::vector<int> bbl;
  std::vector<int16_t> data;  // band-sequential (bands x rows x cols), reflectance x 10000
  std::vector<uint8_t> truth;
};

// n x n pixels, `bands` bands from 400 to 2500 nm.
SyntheticScene make_scene(int n, int bands, uint64_t seed);

}  // namespace bs3l
