#include "sarseg/synth/s1_product.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "sarseg/build_config.h"
#include "sarseg/io/sentinel1.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"

#if SARSEG_HAVE_GDAL
#include <cpl_conv.h>
#include <gdal_priv.h>
#endif

namespace sarseg::synth {

namespace fs = std::filesystem;

std::vector<std::string> s1_swaths(const std::string& mode) {
  const int count = mode == "EW" ? 5 : (mode == "IW" ? 3 : 0);
  require(count > 0, "synthetic Sentinel-1 mode '" + mode + "' is not EW or IW");
  std::vector<std::string> swaths;
  for (int i = 1; i <= count; ++i)
    swaths.push_back(mode + std::to_string(i));
  return swaths;
}

#if SARSEG_HAVE_GDAL
namespace {

constexpr int64_t kPixelStep = 40;
constexpr int kGridLines = 10;
constexpr int kGridPixels = 21;

std::string lower(const std::string& text) {
  return to_lower(text);
}

std::string e(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6e", value);
  return buffer;
}

std::string join(const std::vector<double>& values, bool integers) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ' ';
    out += integers ? std::to_string(static_cast<int64_t>(values[i])) : e(values[i]);
  }
  return out;
}

std::string list(const char* name, const std::vector<double>& values, bool integers = false) {
  return "<" + std::string(name) + " count=\"" + std::to_string(values.size()) + "\">" +
         join(values, integers) + "</" + name + ">";
}

// Compact date-time used in names: "2020-11-01T21:45:50.000000" -> "20201101T214550".
std::string compact_time(const std::string& iso) {
  std::string out;
  for (char c : iso.substr(0, 19))
    if (c != '-' && c != ':') out += c;
  return out;
}

struct Layout {
  std::vector<double> lut_lines;   // vector lines (last >= lines - 1)
  std::vector<double> lut_pixels;  // 0, 40, ..., samples - 1
  std::vector<std::pair<int64_t, int64_t>> swath_bounds;
};

Layout layout_of(const S1ProductSpec& spec) {
  Layout layout;
  const int64_t step =
      spec.lut_line_step > 0 ? spec.lut_line_step : std::max<int64_t>(1, spec.lines / 20);
  for (int64_t l = 0;; l += step) {
    layout.lut_lines.push_back(static_cast<double>(l));
    if (l >= spec.lines - 1) break;
  }
  for (int64_t p = 0; p < spec.samples - 1; p += kPixelStep)
    layout.lut_pixels.push_back(static_cast<double>(p));
  layout.lut_pixels.push_back(static_cast<double>(spec.samples - 1));
  const auto swaths = s1_swaths(spec.mode);
  const int64_t n = static_cast<int64_t>(swaths.size());
  for (int64_t s = 0; s < n; ++s) {
    layout.swath_bounds.emplace_back(s * spec.samples / n, (s + 1) * spec.samples / n - 1);
  }
  return layout;
}

double incidence_at(const S1ProductSpec& spec, double pixel) {
  const double t = pixel / static_cast<double>(std::max<int64_t>(spec.samples - 1, 1));
  return spec.incidence_near_deg + (spec.incidence_far_deg - spec.incidence_near_deg) * t;
}

double beta_amplitude() {
  return 237.0;
}
// sigma0 = beta0 sin(theta), gamma0 = sigma0 / cos(theta): A_sigma = A_beta / sqrt(sin theta).
double sigma_amplitude(const S1ProductSpec& spec, double pixel) {
  return beta_amplitude() / std::sqrt(std::sin(incidence_at(spec, pixel) * M_PI / 180.0));
}
double gamma_amplitude(const S1ProductSpec& spec, double pixel) {
  return sigma_amplitude(spec, pixel) *
         std::sqrt(std::cos(incidence_at(spec, pixel) * M_PI / 180.0));
}

// Range noise (DN^2): higher at the sub-swath edges, as the elevation antenna pattern makes it.
double range_noise(const S1ProductSpec& spec, const Layout& layout, double pixel) {
  for (const auto& [first, last] : layout.swath_bounds) {
    if (pixel > static_cast<double>(last)) continue;
    const double mid = 0.5 * static_cast<double>(first + last);
    const double half = std::max(1.0, 0.5 * static_cast<double>(last - first));
    const double x = (pixel - mid) / half;
    const double a = sigma_amplitude(spec, pixel);
    return 0.5 * spec.cross_sigma0 * a * a * (1.0 + 0.8 * x * x);
  }
  return 0.0;
}

double azimuth_noise(double line, size_t swath) {
  return 1.0 + 0.05 * std::sin(2.0 * M_PI * line / 300.0 + static_cast<double>(swath));
}

std::string ads_header(const S1ProductSpec& spec, const std::string& polarisation) {
  return "  <adsHeader>\n    <missionId>" + spec.mission +
         "</missionId>\n    <productType>GRD</productType>\n    <polarisation>" + polarisation +
         "</polarisation>\n    <mode>" + spec.mode + "</mode>\n    <swath>" + spec.mode +
         "</swath>\n    <startTime>" + spec.start_time + "</startTime>\n    <stopTime>" +
         spec.start_time +
         "</stopTime>\n    <absoluteOrbitNumber>0</absoluteOrbitNumber>\n"
         "    <missionDataTakeId>0</missionDataTakeId>\n    <imageNumber>001</imageNumber>\n"
         "  </adsHeader>\n";
}

// Latitude and longitude of an image position: lines southwards, pixels westwards (a descending,
// right-looking pass), on a sphere of 6371 km.
std::pair<double, double> footprint(const S1ProductSpec& spec, double line, double pixel) {
  constexpr double kMetresPerDegree = 6371000.0 * M_PI / 180.0;
  const double north_m = (0.5 * static_cast<double>(spec.lines - 1) - line) * spec.pixel_spacing_m;
  const double east_m =
      (0.5 * static_cast<double>(spec.samples - 1) - pixel) * spec.pixel_spacing_m;
  const double lat = spec.centre_latitude + north_m / kMetresPerDegree;
  const double lon =
      spec.centre_longitude + east_m / (kMetresPerDegree * std::cos(lat * M_PI / 180.0));
  return {lat, lon};
}

std::string annotation_xml(const S1ProductSpec& spec, const std::string& polarisation) {
  std::ostringstream x;
  x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<product>\n" << ads_header(spec, polarisation);
  x << "  <generalAnnotation>\n    <productInformation>\n      <pass>" << spec.pass
    << "</pass>\n      <projection>Ground Range</projection>\n    </productInformation>\n"
       "  </generalAnnotation>\n";
  x << "  <imageAnnotation>\n    <imageInformation>\n      <productFirstLineUtcTime>"
    << spec.start_time << "</productFirstLineUtcTime>\n      <rangePixelSpacing>"
    << e(spec.pixel_spacing_m) << "</rangePixelSpacing>\n      <azimuthPixelSpacing>"
    << e(spec.pixel_spacing_m) << "</azimuthPixelSpacing>\n      <numberOfSamples>" << spec.samples
    << "</numberOfSamples>\n      <numberOfLines>" << spec.lines
    << "</numberOfLines>\n    </imageInformation>\n    <processingInformation>\n"
       "      <thermalNoiseCorrectionPerformed>false</thermalNoiseCorrectionPerformed>\n"
       "    </processingInformation>\n  </imageAnnotation>\n";
  x << "  <geolocationGrid>\n    <geolocationGridPointList count=\"" << kGridLines * kGridPixels
    << "\">\n";
  for (int r = 0; r < kGridLines; ++r) {
    const double tl = static_cast<double>(r) / (kGridLines - 1);
    const int64_t line =
        static_cast<int64_t>(std::llround(tl * static_cast<double>(spec.lines - 1)));
    for (int c = 0; c < kGridPixels; ++c) {
      const double tp = static_cast<double>(c) / (kGridPixels - 1);
      const int64_t pixel =
          static_cast<int64_t>(std::llround(tp * static_cast<double>(spec.samples - 1)));
      const auto [lat, lon] =
          footprint(spec, static_cast<double>(line), static_cast<double>(pixel));
      x << "      <geolocationGridPoint>\n        <azimuthTime>" << spec.start_time
        << "</azimuthTime>\n        <slantRangeTime>5.0e-03</slantRangeTime>\n        <line>"
        << line << "</line>\n        <pixel>" << pixel << "</pixel>\n        <latitude>" << e(lat)
        << "</latitude>\n        <longitude>" << e(lon)
        << "</longitude>\n        <height>0.0e+00</height>\n        <incidenceAngle>"
        << e(incidence_at(spec, static_cast<double>(pixel)))
        << "</incidenceAngle>\n        <elevationAngle>3.0e+01</elevationAngle>\n"
           "      </geolocationGridPoint>\n";
    }
  }
  x << "    </geolocationGridPointList>\n  </geolocationGrid>\n</product>\n";
  return x.str();
}

std::string calibration_xml(const S1ProductSpec& spec, const Layout& layout,
                            const std::string& polarisation) {
  std::ostringstream x;
  x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<calibration>\n"
    << ads_header(spec, polarisation)
    << "  <calibrationInformation>\n    <absoluteCalibrationConstant>1.0e+00"
       "</absoluteCalibrationConstant>\n  </calibrationInformation>\n"
    << "  <calibrationVectorList count=\"" << layout.lut_lines.size() << "\">\n";
  std::vector<double> sigma, beta, gamma, dn;
  for (double p : layout.lut_pixels) {
    sigma.push_back(sigma_amplitude(spec, p));
    beta.push_back(beta_amplitude());
    gamma.push_back(gamma_amplitude(spec, p));
    dn.push_back(beta_amplitude());
  }
  for (double line : layout.lut_lines) {
    x << "    <calibrationVector>\n      <azimuthTime>" << spec.start_time
      << "</azimuthTime>\n      <line>" << static_cast<int64_t>(line) << "</line>\n      "
      << list("pixel", layout.lut_pixels, true) << "\n      " << list("sigmaNought", sigma)
      << "\n      " << list("betaNought", beta) << "\n      " << list("gamma", gamma) << "\n      "
      << list("dn", dn) << "\n    </calibrationVector>\n";
  }
  x << "  </calibrationVectorList>\n</calibration>\n";
  return x.str();
}

bool has_azimuth_noise(const S1ProductSpec& spec) {
  return std::atof(spec.ipf_version.c_str()) >= 2.9;
}

std::string noise_xml(const S1ProductSpec& spec, const Layout& layout,
                      const std::string& polarisation) {
  const bool modern = has_azimuth_noise(spec);
  std::ostringstream x;
  x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<noise>\n" << ads_header(spec, polarisation);
  std::vector<double> range;
  for (double p : layout.lut_pixels)
    range.push_back(range_noise(spec, layout, p));
  const char* list_name = modern ? "noiseRangeVectorList" : "noiseVectorList";
  const char* vector_name = modern ? "noiseRangeVector" : "noiseVector";
  x << "  <" << list_name << " count=\"" << layout.lut_lines.size() << "\">\n";
  for (double line : layout.lut_lines) {
    // The last noise vector sits on the last image line, as in real products.
    const double at = std::min(line, static_cast<double>(spec.lines - 1));
    x << "    <" << vector_name << ">\n      <azimuthTime>" << spec.start_time
      << "</azimuthTime>\n      <line>" << static_cast<int64_t>(at) << "</line>\n      "
      << list("pixel", layout.lut_pixels, true) << "\n      "
      << list(modern ? "noiseRangeLut" : "noiseLut", range) << "\n    </" << vector_name << ">\n";
  }
  x << "  </" << list_name << ">\n";
  if (modern) {
    const auto swaths = s1_swaths(spec.mode);
    x << "  <noiseAzimuthVectorList count=\"" << swaths.size() << "\">\n";
    for (size_t s = 0; s < swaths.size(); ++s) {
      std::vector<double> lines, values;
      for (int64_t l = 0;; l += 10) {
        const int64_t at = std::min(l, spec.lines - 1);
        lines.push_back(static_cast<double>(at));
        values.push_back(azimuth_noise(static_cast<double>(at), s));
        if (at >= spec.lines - 1) break;
      }
      x << "    <noiseAzimuthVector>\n      <swath>" << swaths[s]
        << "</swath>\n      <firstAzimuthLine>0</firstAzimuthLine>\n      <firstRangeSample>"
        << layout.swath_bounds[s].first << "</firstRangeSample>\n      <lastAzimuthLine>"
        << spec.lines - 1 << "</lastAzimuthLine>\n      <lastRangeSample>"
        << layout.swath_bounds[s].second << "</lastRangeSample>\n      "
        << list("line", lines, true) << "\n      " << list("noiseAzimuthLut", values)
        << "\n    </noiseAzimuthVector>\n";
    }
    x << "  </noiseAzimuthVectorList>\n";
  }
  x << "</noise>\n";
  return x.str();
}

struct PolarisationNames {
  std::string polarisation;
  std::string stem;  // s1a-ew-grd-hh-...-001
};

std::string manifest_xml(const S1ProductSpec& spec, const std::vector<PolarisationNames>& pols) {
  std::ostringstream x;
  x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
       "<xfdu:XFDU xmlns:xfdu=\"urn:ccsds:schema:xfdu:1\" "
       "xmlns:safe=\"http://www.esa.int/safe/sentinel-1.0\" "
       "xmlns:s1sarl1=\"http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar/level-1\" "
       "version=\"esa/safe/sentinel-1.0/sentinel-1/sar/level-1/grd/standard\">\n"
       "  <metadataSection>\n"
       "    <metadataObject ID=\"processing\" classification=\"PROVENANCE\" category=\"PDI\">\n"
       "      <metadataWrap mimeType=\"text/xml\" vocabularyName=\"SAFE\"><xmlData>\n"
       "        <safe:processing name=\"GRD Post Processing\"><safe:facility name=\"synthetic\">"
       "<safe:software name=\"Sentinel-1 IPF\" version=\""
    << spec.ipf_version
    << "\"/></safe:facility></safe:processing>\n"
       "      </xmlData></metadataWrap>\n    </metadataObject>\n"
       "    <metadataObject ID=\"platform\" classification=\"DESCRIPTION\" category=\"DMD\">\n"
       "      <metadataWrap mimeType=\"text/xml\" vocabularyName=\"SAFE\"><xmlData>\n"
       "        <safe:platform><safe:familyName>SENTINEL-1</safe:familyName><safe:number>"
    << spec.mission.substr(2)
    << "</safe:number><safe:instrument><safe:extension><s1sarl1:instrumentMode><s1sarl1:mode>"
    << spec.mode
    << "</s1sarl1:mode></s1sarl1:instrumentMode></safe:extension></safe:instrument>"
       "</safe:platform>\n      </xmlData></metadataWrap>\n    </metadataObject>\n"
       "    <metadataObject ID=\"generalProductInformation\" classification=\"DESCRIPTION\" "
       "category=\"DMD\">\n      <metadataWrap mimeType=\"text/xml\" vocabularyName=\"SAFE\">"
       "<xmlData>\n        <s1sarl1:standAloneProductInformation>";
  for (const auto& p : pols)
    x << "<s1sarl1:transmitterReceiverPolarisation>" << p.polarisation
      << "</s1sarl1:transmitterReceiverPolarisation>";
  x << "<s1sarl1:productType>GRD</s1sarl1:productType></s1sarl1:standAloneProductInformation>\n"
       "      </xmlData></metadataWrap>\n    </metadataObject>\n  </metadataSection>\n"
       "  <dataObjectSection>\n";
  for (const auto& p : pols) {
    const std::vector<std::pair<std::string, std::string>> objects = {
        {"s1Level1ProductSchema", "annotation/" + p.stem + ".xml"},
        {"s1Level1NoiseSchema", "annotation/calibration/noise-" + p.stem + ".xml"},
        {"s1Level1CalibrationSchema", "annotation/calibration/calibration-" + p.stem + ".xml"},
        {"s1Level1MeasurementSchema", "measurement/" + p.stem + ".tiff"}};
    for (const auto& [rep, href] : objects) {
      x << "    <dataObject ID=\"" << rep << lower(p.polarisation) << "\" repID=\"" << rep
        << "\">\n      <byteStream mimeType=\"text/xml\">\n        <fileLocation "
           "locatorType=\"URL\" href=\"./"
        << href << "\"/>\n      </byteStream>\n    </dataObject>\n";
    }
  }
  x << "  </dataObjectSection>\n</xfdu:XFDU>\n";
  return x.str();
}

// 64-bit mix (splitmix64) -> uniform in (0, 1).
double uniform(uint64_t key) {
  key += 0x9E3779B97F4A7C15ull;
  key = (key ^ (key >> 30)) * 0xBF58476D1CE4E5B9ull;
  key = (key ^ (key >> 27)) * 0x94D049BB133111EBull;
  key ^= key >> 31;
  return (static_cast<double>(key >> 11) + 0.5) / 9007199254740992.0;
}

void write_measurement(const S1ProductSpec& spec, const Layout& layout, size_t polarisation,
                       const fs::path& path) {
  GDALAllRegister();
  GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GTiff");
  require(driver != nullptr, "GDAL has no GTiff driver");
  std::vector<const char*> options = {"BIGTIFF=IF_SAFER"};
  if (spec.compress) {
    options.insert(options.end(), {"TILED=YES", "COMPRESS=DEFLATE", "ZLEVEL=1", "PREDICTOR=2"});
  }
  options.push_back(nullptr);
  const fs::path temporary = path.string() + ".partial";
  GDALDatasetUniquePtr dataset(driver->Create(
      temporary.string().c_str(), static_cast<int>(spec.samples), static_cast<int>(spec.lines), 1,
      GDT_UInt16, const_cast<char**>(options.data())));
  require(dataset != nullptr, "cannot create measurement file '" + path.string() + "'");

  // The calibration and noise the annotation describes, through the reader's own interpolation.
  std::vector<io::s1::LutVector> amplitude_vectors, noise_vectors;
  for (double line : layout.lut_lines) {
    io::s1::LutVector a{static_cast<int64_t>(line), layout.lut_pixels, {}};
    io::s1::LutVector n{static_cast<int64_t>(std::min(line, static_cast<double>(spec.lines - 1))),
                        layout.lut_pixels,
                        {}};
    for (double p : layout.lut_pixels) {
      a.values.push_back(sigma_amplitude(spec, p));
      n.values.push_back(range_noise(spec, layout, p));
    }
    amplitude_vectors.push_back(std::move(a));
    if (noise_vectors.empty() || noise_vectors.back().line < n.line)
      noise_vectors.push_back(std::move(n));
  }
  const io::s1::LineLut amplitude(amplitude_vectors, path.string(), "calibration");
  const io::s1::LineLut noise(noise_vectors, path.string(), "noise");
  const double mean = polarisation == 0 ? spec.co_sigma0 : spec.cross_sigma0;
  const auto& bounds = layout.swath_bounds;
  const bool azimuth = has_azimuth_noise(spec);

  constexpr int64_t kChunk = 128;
  std::vector<float> a(static_cast<size_t>(kChunk * spec.samples));
  std::vector<float> n(a.size());
  std::vector<uint16_t> dn(a.size());
  const uint64_t seed = (static_cast<uint64_t>(spec.seed) << 40) ^ (polarisation << 36);
  for (int64_t line0 = 0; line0 < spec.lines; line0 += kChunk) {
    const int64_t count = std::min(kChunk, spec.lines - line0);
    amplitude.fill(line0, count, 0, spec.samples, a.data());
    noise.fill(line0, count, 0, spec.samples, n.data());
    for (int64_t r = 0; r < count; ++r) {
      const int64_t line = line0 + r;
      // Sea-ice-like texture: floes and leads as slow waves in both directions (+-4 dB).
      const double along = std::sin(static_cast<double>(line) / 57.0);
      for (int64_t p = 0; p < spec.samples; ++p) {
        const size_t i = static_cast<size_t>(r * spec.samples + p);
        if (p < spec.border_pixels || p >= spec.samples - spec.border_pixels) {
          dn[i] = 0;
          continue;
        }
        size_t swath = 0;
        while (swath + 1 < bounds.size() && p > bounds[swath].second)
          ++swath;
        const double texture =
            std::pow(10.0, 0.4 * along * std::cos(static_cast<double>(p) / 83.0));
        const double noise_power =
            n[i] * (azimuth ? azimuth_noise(static_cast<double>(line), swath) : 1.0);
        const double speckle = -std::log(
            uniform(seed + static_cast<uint64_t>(line) * static_cast<uint64_t>(spec.samples) +
                    static_cast<uint64_t>(p)));
        const double power =
            (mean * texture * static_cast<double>(a[i]) * static_cast<double>(a[i]) + noise_power) *
            speckle;
        dn[i] = static_cast<uint16_t>(std::clamp(std::llround(std::sqrt(power)), 1LL, 65535LL));
      }
    }
    require(dataset->GetRasterBand(1)->RasterIO(
                GF_Write, 0, static_cast<int>(line0), static_cast<int>(spec.samples),
                static_cast<int>(count), dn.data(), static_cast<int>(spec.samples),
                static_cast<int>(count), GDT_UInt16, 0, 0, nullptr) == CE_None,
            "cannot write measurement file '" + path.string() + "'");
  }
  dataset.reset();
  fs::rename(temporary, path);
}

void add_to_zip(void* zip, const fs::path& file, const std::string& name) {
  require(CPLCreateFileInZip(zip, name.c_str(), nullptr) == CE_None,
          "cannot add '" + name + "' to the zip");
  std::ifstream in(file, std::ios::binary);
  std::vector<char> buffer(16 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const std::streamsize got = in.gcount();
    if (got <= 0) break;
    require(CPLWriteFileInZip(zip, buffer.data(), static_cast<int>(got)) == CE_None,
            "cannot write '" + name + "' into the zip");
  }
  CPLCloseFileInZip(zip);
}

}  // namespace

S1ProductFiles write_s1_product(const S1ProductSpec& spec, const fs::path& dir, bool zip) {
  require(spec.lines >= 2 && spec.samples >= 2 * kPixelStep,
          "synthetic Sentinel-1 product: needs at least 2 lines and 80 samples");
  require(!spec.polarisations.empty() && spec.polarisations.size() <= 2,
          "synthetic Sentinel-1 product: one or two polarisations");
  require(spec.mission.size() == 3, "synthetic Sentinel-1 product: mission like S1A");
  const Layout layout = layout_of(spec);
  const bool co_h = spec.polarisations.front().front() == 'H';
  const std::string product_class =
      std::string(spec.polarisations.size() == 2 ? "1SD" : "1SS") + (co_h ? "H" : "V");
  const std::string time = compact_time(spec.start_time);
  S1ProductFiles files;
  files.name = spec.mission + "_" + spec.mode + "_GRD" + (spec.mode == "EW" ? "M" : "H") + "_" +
               product_class + "_" + time + "_" + time + "_000000_000000_0000";
  files.safe = dir / (files.name + ".SAFE");
  fs::create_directories(files.safe / "annotation" / "calibration");
  fs::create_directories(files.safe / "measurement");

  std::vector<PolarisationNames> names;
  for (size_t k = 0; k < spec.polarisations.size(); ++k) {
    const std::string& pol = spec.polarisations[k];
    PolarisationNames n{pol, lower(spec.mission) + "-" + lower(spec.mode) + "-grd-" + lower(pol) +
                                 "-" + lower(time) + "-" + lower(time) + "-000000-000000-00" +
                                 std::to_string(k + 1)};
    write_file_atomically(files.safe / "annotation" / (n.stem + ".xml"), annotation_xml(spec, pol));
    write_file_atomically(
        files.safe / "annotation" / "calibration" / ("calibration-" + n.stem + ".xml"),
        calibration_xml(spec, layout, pol));
    write_file_atomically(files.safe / "annotation" / "calibration" / ("noise-" + n.stem + ".xml"),
                          noise_xml(spec, layout, pol));
    write_measurement(spec, layout, k, files.safe / "measurement" / (n.stem + ".tiff"));
    names.push_back(n);
  }
  write_file_atomically(files.safe / "manifest.safe", manifest_xml(spec, names));

  if (zip) {
    files.zip = dir / (files.name + ".zip");
    const fs::path temporary = files.zip.string() + ".partial";
    void* handle = CPLCreateZip(temporary.string().c_str(), nullptr);
    require(handle != nullptr, "cannot create zip '" + files.zip.string() + "'");
    std::vector<fs::path> entries;
    for (const auto& entry : fs::recursive_directory_iterator(files.safe))
      if (entry.is_regular_file()) entries.push_back(entry.path());
    std::sort(entries.begin(), entries.end());
    for (const auto& entry : entries) {
      add_to_zip(handle, entry,
                 files.name + ".SAFE/" + fs::relative(entry, files.safe).generic_string());
    }
    require(CPLCloseZip(handle) == CE_None, "cannot finish zip '" + files.zip.string() + "'");
    fs::rename(temporary, files.zip);
  }
  return files;
}

#else

S1ProductFiles write_s1_product(const S1ProductSpec&, const fs::path&, bool) {
  throw UserError("synthetic Sentinel-1 products need GDAL (SARSEG_WITH_GDAL=OFF in this build)");
}

#endif

}  // namespace sarseg::synth
