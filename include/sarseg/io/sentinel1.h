// Sentinel-1 GRD products (SAFE folders or zips) to sarseg scenes, without SNAP.
//
// A product is read from its manifest and, per polarisation, the product annotation, the
// calibration and the thermal-noise annotation (XML) and the measurement raster (GDAL, also inside
// a zip through /vsizip/, without unpacking). Backscatter, per pixel (line l, pixel p):
//   sigma0 = (DN^2 - N(l, p)) / A(l, p)^2
// A: the calibration vectors (sigmaNought, betaNought or gamma) interpolated bilinearly in line and
// pixel; N: the range noise vectors interpolated the same way, times the azimuth noise vector of
// the swath block that holds (l, p) (IPF 2.9 and later; older products: range vectors alone).
// docs/formats.md has the formulas, the floor of non-positive values and what differs from SNAP.
//
// The parsers take in-memory buffers; every error is a UserError naming the file and the element.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sarseg/io/scene.h"

namespace sarseg::io::s1 {

// ---- parsed annotation ------------------------------------------------------------------------

struct ManifestInfo {
  std::string mission;       // S1A, S1B, ...
  std::string mode;          // IW, EW, ...
  std::string product_type;  // GRD
  std::string ipf_version;   // "003.40" ("" when absent)
  double ipf = 0.0;          // 3.40
};

struct GeolocationPoint {
  double line = 0;
  double pixel = 0;
  double latitude = 0;
  double longitude = 0;
  double incidence_deg = 0;
};

struct Annotation {
  std::string polarisation;  // HH, HV, VV, VH
  std::string mode;
  std::string start_time;  // ISO 8601 (UTC, no zone designator, as annotated)
  std::string stop_time;
  std::string pass;  // Ascending / Descending
  int64_t lines = 0;
  int64_t samples = 0;
  double range_spacing_m = 0;
  double azimuth_spacing_m = 0;
  std::vector<GeolocationPoint> geolocation;
};

// One vector of a look-up table: values at `pixels` (ascending) on image line `line`.
struct LutVector {
  int64_t line = 0;
  std::vector<double> pixels;
  std::vector<double> values;
};

enum class CalibrationTarget { kSigma0, kBeta0, kGamma0 };
std::string to_string(CalibrationTarget target);
// sigma0, beta0, gamma0 (UserError otherwise).
CalibrationTarget parse_calibration_target(std::string_view text);

struct Calibration {
  std::vector<LutVector> sigma0;
  std::vector<LutVector> beta0;
  std::vector<LutVector> gamma0;
  const std::vector<LutVector>& vectors(CalibrationTarget target) const;
};

// A swath block of azimuth noise (IPF 2.9+): lines first..last, samples first..last (inclusive).
struct NoiseAzimuthBlock {
  std::string swath;
  int64_t first_line = 0;
  int64_t first_sample = 0;
  int64_t last_line = 0;
  int64_t last_sample = 0;
  std::vector<double> lines;  // ascending
  std::vector<double> values;
};

struct Noise {
  std::vector<LutVector> range;  // noiseRangeVector (IPF 2.9+) or noiseVector (older)
  std::vector<NoiseAzimuthBlock> azimuth;
  std::string range_element = "/noise/noiseRangeVectorList";  // for error messages
};

// `where` names the buffer in errors (its file path).
ManifestInfo parse_manifest(std::string_view xml, const std::string& where);
Annotation parse_annotation(std::string_view xml, const std::string& where);
Calibration parse_calibration(std::string_view xml, const std::string& where);
Noise parse_noise(std::string_view xml, const std::string& where);

// ---- models -------------------------------------------------------------------------------------

// Vectors on lines, each with values on its own pixel grid: bilinear interpolation (linear in
// pixel within the two vectors around a line, then linear in line). Outside the first/last vector
// or pixel the nearest value is held.
class LineLut {
 public:
  LineLut() = default;
  // UserError naming the file `where` and `element` for vectors out of line order, unsorted
  // pixels or size mismatches.
  LineLut(std::vector<LutVector> vectors, std::string where, std::string element);
  // UserError unless the vectors span lines 0..lines-1 and every vector pixels 0..samples-1.
  void require_covers(int64_t lines, int64_t samples) const;
  double at(double line, double pixel) const;
  // Values at pixels p0 .. p0 + count - 1 of every line in [line0, line0 + line_count), row-major.
  void fill(int64_t line0, int64_t line_count, int64_t p0, int64_t count, float* out) const;
  bool empty() const { return vectors_.empty(); }

 private:
  std::string context() const;
  std::vector<LutVector> vectors_;
  std::string where_;
  std::string element_;
};

// Thermal noise power N(l, p) in DN^2: range LUT times the azimuth LUT of the block holding the
// pixel. Pixels outside every azimuth block get no noise. Without azimuth blocks (IPF
// before 2.9) the range LUT alone.
class NoiseModel {
 public:
  NoiseModel() = default;
  NoiseModel(Noise noise, bool use_azimuth, const std::string& where);
  double at(double line, double pixel) const;
  void fill(int64_t line0, int64_t line_count, int64_t p0, int64_t count, float* out) const;
  bool uses_azimuth() const { return use_azimuth_; }

 private:
  LineLut range_;
  std::vector<NoiseAzimuthBlock> blocks_;
  bool use_azimuth_ = false;
};

// The annotation's geolocation grid (a regular lines x pixels grid of tie points): bilinear in
// line and pixel, linear extrapolation beyond the outer points.
class GeolocationGrid {
 public:
  GeolocationGrid() = default;
  GeolocationGrid(const std::vector<GeolocationPoint>& points, const std::string& where);
  double incidence_deg(double line, double pixel) const;
  double latitude(double line, double pixel) const;
  double longitude(double line, double pixel) const;
  // Incidence on one line at `count` ascending pixel positions (as incidence_deg, faster).
  void incidence_row(double line, const double* pixels, int64_t count, float* out) const;
  int64_t grid_lines() const { return static_cast<int64_t>(lines_.size()); }
  int64_t grid_pixels() const { return static_cast<int64_t>(pixels_.size()); }
  const std::vector<double>& lines() const { return lines_; }
  const std::vector<double>& pixels() const { return pixels_; }
  // Tie-point values, row-major grid_lines() x grid_pixels().
  const std::vector<double>& latitudes() const { return latitude_; }
  const std::vector<double>& longitudes() const { return longitude_; }

 private:
  double interpolate(const std::vector<double>& values, double line, double pixel) const;
  std::vector<double> lines_, pixels_;
  std::vector<double> latitude_, longitude_, incidence_;
};

// ---- product ------------------------------------------------------------------------------------

struct PolarisationFiles {
  std::string polarisation;  // HH, HV, VV, VH
  std::string annotation;    // GDAL virtual file paths (plain paths, or /vsizip/...)
  std::string calibration;
  std::string noise;
  std::string measurement;
};

struct Polarisation {
  PolarisationFiles files;
  Annotation annotation;
  Calibration calibration;
  Noise noise;
};

struct Product {
  std::string path;  // as given
  std::string name;  // S1A_EW_GRDM_1SDH_... (without .SAFE)
  std::string root;  // the SAFE folder as a GDAL path (/vsizip/... for a zip)
  ManifestInfo manifest;
  std::vector<Polarisation> polarisations;  // co-polarisation first
  int64_t lines = 0;
  int64_t samples = 0;
  // IPF 2.9 and later annotate azimuth noise vectors.
  bool has_azimuth_noise() const;
};

// True for a *.SAFE folder, a *.zip file or a manifest.safe path (by name; nothing is read).
bool is_product_path(const std::filesystem::path& path);

// Reads the manifest and every polarisation's XML, checks the measurement files exist and that the
// calibration grid covers the image. UserError (file and element) for anything missing/malformed.
Product open_product(const std::filesystem::path& path);

// ---- calibrated reads ---------------------------------------------------------------------------

struct CalibrationOptions {
  CalibrationTarget target = CalibrationTarget::kSigma0;
  bool remove_noise = true;
};

struct Window {
  int64_t line0 = 0;
  int64_t pixel0 = 0;
  int64_t lines = 0;
  int64_t pixels = 0;
};

// The calibrated LUTs of one polarisation (built once, shared by every read).
class Calibrator {
 public:
  Calibrator(const Product& product, size_t polarisation, const CalibrationOptions& options);
  // Linear backscatter of `dn` (window-sized, row-major); NaN where DN is 0 (no data). Values
  // that noise removal makes zero or negative are kept as they are (see docs/formats.md).
  void calibrate(const Window& window, const uint16_t* dn, float* out) const;
  double amplitude_at(double line, double pixel) const { return amplitude_.at(line, pixel); }
  double noise_at(double line, double pixel) const;
  bool removes_noise() const { return options_.remove_noise; }

 private:
  CalibrationOptions options_;
  LineLut amplitude_;
  NoiseModel noise_;
};

// Linear backscatter of a window of one polarisation, read through GDAL.
FloatRaster read_calibrated_window(const Product& product, size_t polarisation,
                                   const Window& window, const CalibrationOptions& options = {});

// ---- import -------------------------------------------------------------------------------------

struct ImportOptions {
  CalibrationOptions calibration;
  // Output pixel spacing; the product's pixels are averaged (intensities) in blocks of
  // round(spacing / pixel spacing) lines x pixels.
  double pixel_spacing_m = 80.0;
  // Linear backscatter is floored at 10^(db_floor/10) before conversion to dB (never -inf).
  double db_floor = -40.0;
  // Share of a block's pixels that must be valid (DN > 0) for the output pixel to be valid.
  double min_valid_fraction = 0.5;
  // Map CRS to warp to with GDAL's warper from the geolocation tie points (e.g. "EPSG:3413");
  // "" keeps the swath geometry with the tie-point latitude/longitude subgrid.
  std::string crs;
  // Worker threads for the strips (0 = every core).
  int threads = 0;
  // Input lines per strip (memory per thread is about 6 bytes x samples x strip_lines).
  int64_t strip_lines = 512;
  // Called with the share done (0..1); from worker threads, serialised.
  std::function<void(double)> progress;
};

Scene import_product(const std::filesystem::path& path, const ImportOptions& options = {});
Scene import_product(const Product& product, const ImportOptions& options = {});

}  // namespace sarseg::io::s1
