// Sentinel-1 import: calibrated windowed reads, multilooking in strips (bounded memory, worker
// threads), incidence and geolocation, and the optional warp to a map CRS.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

#include "gdal_support.h"
#include "sarseg/build_config.h"
#include "sarseg/io/sentinel1.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"

#if SARSEG_HAVE_GDAL
#include <gdal_utils.h>
#endif

namespace sarseg::io::s1 {

namespace {
// Lines of LUT values held at once while calibrating (bounded memory for any window).
constexpr int64_t kLutChunkLines = 64;
}  // namespace

Calibrator::Calibrator(const Product& product, size_t polarisation,
                       const CalibrationOptions& options)
    : options_(options) {
  require(polarisation < product.polarisations.size(), "Sentinel-1 product '" + product.path +
                                                           "' has no polarisation number " +
                                                           std::to_string(polarisation + 1));
  const Polarisation& p = product.polarisations[polarisation];
  amplitude_ = LineLut(p.calibration.vectors(options.target), p.files.calibration,
                       "/calibration/calibrationVectorList");
  // IPF 2.9 and later split the noise into range and azimuth vectors; an unknown IPF version is
  // taken from what the noise file holds.
  const bool azimuth = product.manifest.ipf == 0.0 || product.manifest.ipf >= 2.9;
  if (options.remove_noise) noise_ = NoiseModel(p.noise, azimuth, p.files.noise);
}

double Calibrator::noise_at(double line, double pixel) const {
  return options_.remove_noise ? noise_.at(line, pixel) : 0.0;
}

void Calibrator::calibrate(const Window& window, const uint16_t* dn, float* out) const {
  const int64_t w = window.pixels;
  std::vector<float> amplitude, noise;
  for (int64_t r0 = 0; r0 < window.lines; r0 += kLutChunkLines) {
    const int64_t n = std::min(kLutChunkLines, window.lines - r0);
    amplitude.resize(static_cast<size_t>(n * w));
    amplitude_.fill(window.line0 + r0, n, window.pixel0, w, amplitude.data());
    if (options_.remove_noise) {
      noise.resize(static_cast<size_t>(n * w));
      noise_.fill(window.line0 + r0, n, window.pixel0, w, noise.data());
    }
    const size_t offset = static_cast<size_t>(r0 * w);
    for (size_t i = 0; i < static_cast<size_t>(n * w); ++i) {
      const float d = static_cast<float>(dn[offset + i]);
      const float a = amplitude[i];
      float power = d * d;
      if (options_.remove_noise) power -= noise[i];
      out[offset + i] = dn[offset + i] == 0 ? NAN : power / (a * a);
    }
  }
}

#if SARSEG_HAVE_GDAL
namespace {

GDALDatasetUniquePtr open_measurement(const Polarisation& p) {
  gdal::ensure_registered();
  gdal::ErrorCapture errors;
  GDALDatasetUniquePtr dataset(
      GDALDataset::Open(p.files.measurement.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  require(dataset != nullptr, "Sentinel-1 measurement file '" + p.files.measurement +
                                  "' cannot be read (" + errors.last() + ")");
  return dataset;
}

void read_dn(GDALDataset& dataset, const Polarisation& p, const Window& window, uint16_t* out) {
  gdal::ErrorCapture errors;
  const CPLErr status = dataset.GetRasterBand(1)->RasterIO(
      GF_Read, static_cast<int>(window.pixel0), static_cast<int>(window.line0),
      static_cast<int>(window.pixels), static_cast<int>(window.lines), out,
      static_cast<int>(window.pixels), static_cast<int>(window.lines), GDT_UInt16, 0, 0, nullptr);
  require(status == CE_None, "Sentinel-1 measurement file '" + p.files.measurement +
                                 "': cannot read lines " + std::to_string(window.line0) + ".." +
                                 std::to_string(window.line0 + window.lines - 1) + " (" +
                                 errors.last() + "); the file is damaged");
  // Strips are read once: drop them from GDAL's block cache so that memory stays bounded.
  dataset.FlushCache();
}

void check_window(const Product& product, const Window& window) {
  require(window.lines > 0 && window.pixels > 0 && window.line0 >= 0 && window.pixel0 >= 0 &&
              window.line0 + window.lines <= product.lines &&
              window.pixel0 + window.pixels <= product.samples,
          "window lines " + std::to_string(window.line0) + "+" + std::to_string(window.lines) +
              ", pixels " + std::to_string(window.pixel0) + "+" + std::to_string(window.pixels) +
              " is outside the image of '" + product.path + "' (" + std::to_string(product.lines) +
              " x " + std::to_string(product.samples) + ")");
}

}  // namespace

FloatRaster read_calibrated_window(const Product& product, size_t polarisation,
                                   const Window& window, const CalibrationOptions& options) {
  check_window(product, window);
  const Calibrator calibrator(product, polarisation, options);
  const Polarisation& p = product.polarisations[polarisation];
  auto dataset = open_measurement(p);
  std::vector<uint16_t> dn(static_cast<size_t>(window.lines * window.pixels));
  read_dn(*dataset, p, window, dn.data());
  FloatRaster out(window.lines, window.pixels);
  calibrator.calibrate(window, dn.data(), out.data.data());
  return out;
}

namespace {

int worker_count(const ImportOptions& options, int64_t work_items) {
  const int threads =
      options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  return static_cast<int>(std::clamp<int64_t>(threads, 1, std::max<int64_t>(work_items, 1)));
}

// Runs fn(row0, row1) over [0, rows) in blocks on the import's worker threads.
void parallel_rows(int64_t rows, const ImportOptions& options,
                   const std::function<void(int64_t, int64_t)>& fn) {
  constexpr int64_t kBlock = 64;
  const int64_t blocks = (rows + kBlock - 1) / kBlock;
  std::atomic<int64_t> next{0};
  auto work = [&] {
    for (int64_t b = next++; b < blocks; b = next++)
      fn(b * kBlock, std::min(rows, (b + 1) * kBlock));
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < worker_count(options, blocks); ++t)
    pool.emplace_back(work);
  work();
  for (auto& t : pool)
    t.join();
}

struct Looks {
  int64_t lines = 1;   // azimuth
  int64_t pixels = 1;  // range
  int64_t out_height = 0;
  int64_t out_width = 0;
};

Looks looks_for(const Product& product, double spacing_m) {
  require(spacing_m > 0,
          "the output pixel spacing must be positive (got " + std::to_string(spacing_m) + " m)");
  const Annotation& a = product.polarisations.front().annotation;
  Looks looks;
  looks.lines = std::max<int64_t>(1, std::llround(spacing_m / a.azimuth_spacing_m));
  looks.pixels = std::max<int64_t>(1, std::llround(spacing_m / a.range_spacing_m));
  looks.out_height = (product.lines + looks.lines - 1) / looks.lines;
  looks.out_width = (product.samples + looks.pixels - 1) / looks.pixels;
  return looks;
}

// Mean linear backscatter per output pixel and polarisation, and where every polarisation has
// enough valid looks.
struct Multilooked {
  std::vector<FloatRaster> mean;  // per polarisation
  Raster<uint8_t> valid;
};

Multilooked multilook(const Product& product, const Looks& looks, const ImportOptions& options) {
  const size_t pols = product.polarisations.size();
  Multilooked result;
  for (size_t k = 0; k < pols; ++k) {
    result.mean.emplace_back(looks.out_height, looks.out_width, 0.0f);
  }
  result.valid = Raster<uint8_t>(looks.out_height, looks.out_width, 1);
  std::vector<Calibrator> calibrators;
  for (size_t k = 0; k < pols; ++k)
    calibrators.emplace_back(product, k, options.calibration);

  // Strips of whole output rows, so that no two threads write the same output pixel.
  const int64_t rows_per_strip =
      std::max<int64_t>(1, std::max<int64_t>(options.strip_lines, 1) / looks.lines);
  const int64_t strips = (looks.out_height + rows_per_strip - 1) / rows_per_strip;
  const int64_t chunk_rows = std::max<int64_t>(1, kLutChunkLines / looks.lines);
  const int threads = worker_count(options, strips);

  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mutex;
  std::exception_ptr error;
  int64_t done = 0;

  auto worker = [&] {
    try {
      std::vector<GDALDatasetUniquePtr> datasets;
      for (const auto& p : product.polarisations)
        datasets.push_back(open_measurement(p));
      std::vector<uint16_t> dn;
      std::vector<float> linear;
      std::vector<double> sums;
      std::vector<uint16_t> strip_counts;
      while (!failed) {
        const int64_t strip = next++;
        if (strip >= strips) break;
        const int64_t row0 = strip * rows_per_strip;
        const int64_t rows = std::min(rows_per_strip, looks.out_height - row0);
        const int64_t line0 = row0 * looks.lines;
        const int64_t lines = std::min(rows * looks.lines, product.lines - line0);
        const Window strip_window{line0, 0, lines, product.samples};
        dn.resize(static_cast<size_t>(lines * product.samples));
        for (size_t k = 0; k < pols; ++k) {
          strip_counts.assign(static_cast<size_t>(rows * looks.out_width), 0);
          read_dn(*datasets[k], product.polarisations[k], strip_window, dn.data());
          for (int64_t r0 = 0; r0 < rows; r0 += chunk_rows) {
            const int64_t chunk_line0 = line0 + r0 * looks.lines;
            const int64_t chunk_lines = std::min((std::min(chunk_rows, rows - r0)) * looks.lines,
                                                 product.lines - chunk_line0);
            if (chunk_lines <= 0) break;
            const Window window{chunk_line0, 0, chunk_lines, product.samples};
            linear.resize(static_cast<size_t>(chunk_lines * product.samples));
            calibrators[k].calibrate(
                window, dn.data() + static_cast<size_t>((chunk_line0 - line0) * product.samples),
                linear.data());
            // Sum the block of each output pixel (intensities, negatives included: the mean of
            // noise-subtracted intensities is unbiased; the floor comes after averaging).
            const int64_t out_rows = (chunk_lines + looks.lines - 1) / looks.lines;
            for (int64_t orow = 0; orow < out_rows; ++orow) {
              const int64_t out_row = (chunk_line0 / looks.lines) + orow;
              sums.assign(static_cast<size_t>(looks.out_width), 0.0);
              uint16_t* counts =
                  strip_counts.data() + static_cast<size_t>((out_row - row0) * looks.out_width);
              const int64_t first = orow * looks.lines;
              const int64_t last = std::min(first + looks.lines, chunk_lines);
              for (int64_t l = first; l < last; ++l) {
                const float* line = linear.data() + static_cast<size_t>(l * product.samples);
                for (int64_t c = 0; c < looks.out_width; ++c) {
                  const int64_t p0 = c * looks.pixels;
                  const int64_t p1 = std::min(p0 + looks.pixels, product.samples);
                  double sum = 0;
                  uint16_t n = 0;
                  for (int64_t p = p0; p < p1; ++p) {
                    const float v = line[p];
                    if (v == v) {  // not NaN (no data)
                      sum += v;
                      ++n;
                    }
                  }
                  sums[static_cast<size_t>(c)] += sum;
                  counts[c] = static_cast<uint16_t>(counts[c] + n);
                }
              }
              float* mean = &result.mean[k].at(out_row, 0);
              uint8_t* valid = &result.valid.at(out_row, 0);
              const int64_t block_lines = last - first;
              for (int64_t c = 0; c < looks.out_width; ++c) {
                mean[c] = counts[c] > 0
                              ? static_cast<float>(sums[static_cast<size_t>(c)] / counts[c])
                              : NAN;
                const int64_t block_pixels =
                    std::min(looks.pixels, product.samples - c * looks.pixels);
                const double needed =
                    std::max(1.0, options.min_valid_fraction *
                                      static_cast<double>(block_lines * block_pixels));
                if (counts[c] < needed) valid[c] = 0;
              }
            }
          }
        }
        std::lock_guard<std::mutex> lock(mutex);
        ++done;
        if (options.progress) options.progress(static_cast<double>(done) / strips);
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!error) error = std::current_exception();
      failed = true;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t)
    pool.emplace_back(worker);
  worker();
  for (auto& t : pool)
    t.join();
  if (error) std::rethrow_exception(error);
  return result;
}

float to_db(float linear, double floor_linear) {
  return 10.0f * std::log10(std::max(linear, static_cast<float>(floor_linear)));
}

std::string lower(std::string text) {
  return to_lower(text);
}

// "2021-12-23T05:11:22.594441" -> "2021-12-23T05:11:22Z".
std::string iso_seconds(const std::string& time) {
  const auto dot = time.find('.');
  std::string t = time.substr(0, dot);
  if (!t.empty() && t.back() != 'Z') t += 'Z';
  return t;
}

// Warps the linear bands and incidence of `scene` (swath geometry, NaN = no data) to `crs` with
// GDAL's warper, from the tie points as GCPs (thin-plate spline, bilinear resampling).
void warp_scene(Scene& scene, const GeolocationGrid& grid, const Looks& looks,
                const ImportOptions& options, const std::string& where) {
  gdal::ensure_registered();
  gdal::ErrorCapture errors;
  const auto target = gdal::make_srs(options.crs, "--crs '" + options.crs + "'");
  char* target_wkt = nullptr;
  target->exportToWkt(&target_wkt);
  const std::string target_text = target_wkt ? target_wkt : "";
  CPLFree(target_wkt);

  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  require(mem != nullptr, "GDAL has no MEM driver; cannot warp");
  const int bands = static_cast<int>(scene.bands.size());
  GDALDatasetUniquePtr source(mem->Create("", static_cast<int>(scene.width),
                                          static_cast<int>(scene.height), bands, GDT_Float32,
                                          nullptr));
  for (int b = 0; b < bands; ++b) {
    auto& pixels = scene.bands[static_cast<size_t>(b)].pixels;
    GDALRasterBand* band = source->GetRasterBand(b + 1);
    band->SetNoDataValue(NAN);
    require(band->RasterIO(GF_Write, 0, 0, static_cast<int>(scene.width),
                           static_cast<int>(scene.height), pixels.data.data(),
                           static_cast<int>(scene.width), static_cast<int>(scene.height),
                           GDT_Float32, 0, 0, nullptr) == CE_None,
            "cannot stage '" + where + "' for warping (" + errors.last() + ")");
  }
  std::vector<GDAL_GCP> gcps(static_cast<size_t>(grid.grid_lines() * grid.grid_pixels()));
  std::vector<std::string> ids(gcps.size());
  for (int64_t r = 0; r < grid.grid_lines(); ++r) {
    for (int64_t c = 0; c < grid.grid_pixels(); ++c) {
      const size_t i = static_cast<size_t>(r * grid.grid_pixels() + c);
      ids[i] = std::to_string(i + 1);
      GDAL_GCP& g = gcps[i];
      g.pszId = ids[i].data();
      g.pszInfo = const_cast<char*>("");
      // Tie points refer to pixel centres; GCP image coordinates to pixel corners.
      g.dfGCPPixel = (grid.pixels()[static_cast<size_t>(c)] + 0.5) / looks.pixels;
      g.dfGCPLine = (grid.lines()[static_cast<size_t>(r)] + 0.5) / looks.lines;
      g.dfGCPX = grid.longitudes()[i];
      g.dfGCPY = grid.latitudes()[i];
      g.dfGCPZ = 0;
    }
  }
  OGRSpatialReference wgs84;
  wgs84.SetWellKnownGeogCS("WGS84");
  wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  source->SetGCPs(static_cast<int>(gcps.size()), gcps.data(), &wgs84);

  const std::string spacing = std::to_string(options.pixel_spacing_m);
  const std::string threads = "NUM_THREADS=" + std::to_string(worker_count(options, 1 << 20));
  std::vector<const char*> argv = {
      "-of", "MEM", "-t_srs", options.crs.c_str(), "-tr", spacing.c_str(), spacing.c_str(), "-r",
      "bilinear", "-tps", "-srcnodata", "nan", "-dstnodata", "nan", "-wo", threads.c_str(),
      // 512 MB warp chunks: a whole EW scene in a few chunks (2-3x faster than the default 64).
      "-wm", "512", nullptr};
  GDALWarpAppOptions* warp_options =
      GDALWarpAppOptionsNew(const_cast<char**>(argv.data()), nullptr);
  require(warp_options != nullptr, "GDAL rejects the warp options (" + errors.last() + ")");
  GDALDatasetH source_handle = GDALDataset::ToHandle(source.get());
  int usage_error = 0;
  GDALDatasetUniquePtr warped(GDALDataset::FromHandle(
      GDALWarp("", nullptr, 1, &source_handle, warp_options, &usage_error)));
  GDALWarpAppOptionsFree(warp_options);
  require(warped != nullptr && usage_error == 0,
          "cannot warp '" + where + "' to '" + options.crs + "' (" + errors.last() + ")");

  const int64_t height = warped->GetRasterYSize();
  const int64_t width = warped->GetRasterXSize();
  scene.height = height;
  scene.width = width;
  scene.valid = Raster<uint8_t>(height, width, 1);
  for (int b = 0; b < bands; ++b) {
    FloatRaster pixels(height, width);
    require(warped->GetRasterBand(b + 1)->RasterIO(
                GF_Read, 0, 0, static_cast<int>(width), static_cast<int>(height),
                pixels.data.data(), static_cast<int>(width), static_cast<int>(height), GDT_Float32,
                0, 0, nullptr) == CE_None,
            "cannot read the warped '" + where + "' (" + errors.last() + ")");
    for (size_t i = 0; i < pixels.data.size(); ++i)
      if (!std::isfinite(pixels.data[i])) scene.valid.data[i] = 0;
    scene.bands[static_cast<size_t>(b)].pixels = std::move(pixels);
  }
  GeoReference geo;
  warped->GetGeoTransform(geo.transform.data());
  geo.crs_wkt = target_text;
  scene.geo = geo;
  // The tie-point subgrid belongs to the swath geometry.
  scene.latitude_grid = {};
  scene.longitude_grid = {};
}

}  // namespace

Scene import_product(const Product& product, const ImportOptions& options) {
  require(options.min_valid_fraction >= 0 && options.min_valid_fraction <= 1,
          "the valid share of a block must be in 0..1");
  if (!options.crs.empty()) {
    gdal::ErrorCapture quiet;
    gdal::make_srs(options.crs, "--crs '" + options.crs + "'");
  }
  const Looks looks = looks_for(product, options.pixel_spacing_m);
  require(looks.lines * looks.pixels <= 65535,
          "output pixel spacing " + std::to_string(options.pixel_spacing_m) +
              " m averages more than 65535 pixels of '" + product.path + "'; use a finer one");
  const Polarisation& first = product.polarisations.front();
  const GeolocationGrid grid(first.annotation.geolocation, first.files.annotation);

  Multilooked looked = multilook(product, looks, options);

  Scene scene;
  scene.id = product.name;
  scene.source_path = product.path;
  scene.height = looks.out_height;
  scene.width = looks.out_width;
  scene.pixel_spacing_m = options.pixel_spacing_m;
  scene.valid = std::move(looked.valid);
  for (size_t k = 0; k < product.polarisations.size(); ++k) {
    Band band{lower(product.polarisations[k].files.polarisation) + "_db", "dB",
              std::move(looked.mean[k])};
    scene.bands.push_back(std::move(band));
  }
  Band incidence{"incidence_deg", "deg", FloatRaster(scene.height, scene.width)};
  // At the centre of each block (partial blocks at the far edges included).
  std::vector<double> centres(static_cast<size_t>(scene.width));
  for (int64_t c = 0; c < scene.width; ++c) {
    centres[static_cast<size_t>(c)] =
        static_cast<double>(c * looks.pixels) +
        0.5 * static_cast<double>(std::min(looks.pixels, product.samples - c * looks.pixels) - 1);
  }
  parallel_rows(scene.height, options, [&](int64_t row0, int64_t row1) {
    for (int64_t r = row0; r < row1; ++r) {
      const double line =
          static_cast<double>(r * looks.lines) +
          0.5 * static_cast<double>(std::min(looks.lines, product.lines - r * looks.lines) - 1);
      grid.incidence_row(line, centres.data(), scene.width, &incidence.pixels.at(r, 0));
    }
  });
  scene.bands.push_back(std::move(incidence));

  const Annotation& a = first.annotation;
  scene.acquisition_time = iso_seconds(a.start_time);
  double latitude_sum = 0;
  for (double lat : grid.latitudes())
    latitude_sum += lat;
  const double mean_latitude = latitude_sum / static_cast<double>(grid.latitudes().size());
  const int month = a.start_time.size() >= 7 ? std::atoi(a.start_time.substr(5, 2).c_str()) : 0;
  scene.season =
      month >= 1 && month <= 12 ? season_from_date(month, mean_latitude) : Season::kUnknown;
  scene.latitude_grid = FloatRaster(grid.grid_lines(), grid.grid_pixels());
  scene.longitude_grid = FloatRaster(grid.grid_lines(), grid.grid_pixels());
  for (size_t i = 0; i < grid.latitudes().size(); ++i) {
    scene.latitude_grid.data[i] = static_cast<float>(grid.latitudes()[i]);
    scene.longitude_grid.data[i] = static_cast<float>(grid.longitudes()[i]);
  }
  scene.attributes["original_id"] = product.name;
  scene.attributes["s1_mission"] = product.manifest.mission;
  scene.attributes["s1_mode"] = a.mode;
  scene.attributes["s1_pass"] = a.pass;
  scene.attributes["s1_ipf_version"] = product.manifest.ipf_version;
  scene.attributes["s1_backscatter"] = to_string(options.calibration.target);
  scene.attributes["s1_noise_removal"] =
      !options.calibration.remove_noise
          ? "off"
          : (product.has_azimuth_noise() &&
                     (product.manifest.ipf == 0.0 || product.manifest.ipf >= 2.9)
                 ? "range and azimuth vectors"
                 : "range vectors");
  scene.attributes["s1_looks"] =
      std::to_string(looks.lines) + " lines x " + std::to_string(looks.pixels) + " pixels";

  if (!options.crs.empty()) {
    // Warp linear intensities (averaging dB would bias them), then convert.
    for (auto& band : scene.bands) {
      if (band.units != "dB") continue;
      for (size_t i = 0; i < band.pixels.data.size(); ++i)
        if (!scene.valid.data[i]) band.pixels.data[i] = NAN;
    }
    for (size_t i = 0; i < scene.valid.data.size(); ++i)
      if (!scene.valid.data[i]) scene.bands.back().pixels.data[i] = NAN;
    warp_scene(scene, grid, looks, options, product.path);
  }
  const double floor_linear = std::pow(10.0, options.db_floor / 10.0);
  parallel_rows(scene.height, options, [&](int64_t row0, int64_t row1) {
    for (auto& band : scene.bands) {
      if (band.units != "dB") continue;
      for (size_t i = static_cast<size_t>(row0 * scene.width);
           i < static_cast<size_t>(row1 * scene.width); ++i) {
        float& v = band.pixels.data[i];
        // Invalid pixels hold the floor rather than NaN: readers and models see finite numbers,
        // the mask says what is data.
        v = scene.valid.data[i] && std::isfinite(v) ? to_db(v, floor_linear)
                                                    : static_cast<float>(options.db_floor);
      }
    }
  });
  auto& incidence_band = scene.bands.back().pixels;
  for (size_t i = 0; i < incidence_band.data.size(); ++i)
    if (!std::isfinite(incidence_band.data[i])) incidence_band.data[i] = 0.0f;
  scene.check_consistent();
  return scene;
}

Scene import_product(const std::filesystem::path& path, const ImportOptions& options) {
  return import_product(open_product(path), options);
}

#else

FloatRaster read_calibrated_window(const Product& product, size_t, const Window&,
                                   const CalibrationOptions&) {
  throw UserError("cannot read Sentinel-1 product '" + product.path +
                  "': this sarseg was built without GDAL (SARSEG_WITH_GDAL=OFF)");
}
Scene import_product(const Product& product, const ImportOptions&) {
  throw UserError("cannot import Sentinel-1 product '" + product.path +
                  "': this sarseg was built without GDAL (SARSEG_WITH_GDAL=OFF)");
}
Scene import_product(const std::filesystem::path& path, const ImportOptions& options) {
  return import_product(open_product(path), options);
}

#endif

}  // namespace sarseg::io::s1
