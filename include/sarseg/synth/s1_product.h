// Synthetic Sentinel-1 GRD products (SAFE folders, optionally zipped) for tests and benchmarks:
// manifest, product annotation, calibration and noise XML in the ESA schema (the elements
// io/sentinel1.h reads, laid out as in real products) and UInt16 measurement GeoTIFFs whose
// digital numbers follow DN^2 = sigma0 * A^2 + N with single-look speckle.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace sarseg::synth {

struct S1ProductSpec {
  std::string mission = "S1A";
  std::string mode = "EW";  // EW: sub-swaths EW1..EW5; IW: IW1..IW3
  std::vector<std::string> polarisations = {"HH", "HV"};
  int64_t lines = 1000;
  int64_t samples = 1200;
  double pixel_spacing_m = 40.0;  // EW GRDM 40 m, IW GRDH 10 m
  // "002.80" and older write the single noiseVectorList of those products (no azimuth vectors).
  std::string ipf_version = "003.40";
  std::string start_time = "2020-11-01T21:45:50.000000";
  std::string pass = "Descending";
  // Footprint: centred here, lines running south (descending pass), the ground size of the image
  // (lines x samples x pixel spacing) on a sphere.
  double centre_latitude = 73.0;
  double centre_longitude = -56.0;
  double incidence_near_deg = 19.0, incidence_far_deg = 47.0;
  // LUT spacing: calibration and noise vectors every `lut_line_step` lines (0 = lines / 20) and
  // every 40 pixels; geolocation tie points on 10 lines x 21 pixels.
  int64_t lut_line_step = 0;
  // No-data (DN 0) columns at near and far range, as GRD borders have.
  int64_t border_pixels = 16;
  // Mean sigma0 per polarisation (linear) before speckle; co-pol first.
  double co_sigma0 = 0.03;
  double cross_sigma0 = 0.003;
  // Measurement rasters: uncompressed strips as ESA delivers them, or tiled DEFLATE (small files).
  bool compress = false;
  uint32_t seed = 1;
};

struct S1ProductFiles {
  std::filesystem::path safe;  // <dir>/<name>.SAFE
  std::filesystem::path zip;   // <dir>/<name>.zip when asked for, else empty
  std::string name;            // <name>
};

// Writes the product under `dir` (created when missing); with `zip`, also a zip of the SAFE folder
// (its files deflated, as ESA's are). UserError for an impossible spec.
S1ProductFiles write_s1_product(const S1ProductSpec& spec, const std::filesystem::path& dir,
                                bool zip = false);

// The names of the sub-swaths of a mode (EW1..EW5, IW1..IW3).
std::vector<std::string> s1_swaths(const std::string& mode);

}  // namespace sarseg::synth
