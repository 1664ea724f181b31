#include "sarseg/io/geotiff.h"

#include "gdal_support.h"
#include "sarseg/io/ai4arctic.h"
#include "sarseg/util/error.h"

#if SARSEG_HAVE_GDAL
#include <cpl_string.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "sarseg/util/atomic_file.h"
#include "sarseg/util/log.h"
#include "sarseg/util/strings.h"
#endif

namespace sarseg::io {

std::filesystem::path geotiff_labels_path(const std::filesystem::path& stack_path) {
  std::filesystem::path result = stack_path;
  result.replace_filename(stack_path.stem().string() + "_labels" + stack_path.extension().string());
  return result;
}

#if !SARSEG_HAVE_GDAL

namespace {
[[noreturn]] void no_gdal(const std::filesystem::path& path) {
  throw UserError("cannot use '" + path.string() +
                  "': this sarseg was built without GDAL (SARSEG_WITH_GDAL=OFF); rebuild with "
                  "GDAL or use AI4Arctic netCDF (.nc)");
}
}  // namespace

bool geotiff_supported() {
  return false;
}
Scene read_geotiff_scene(const std::filesystem::path& path, const SceneReadOptions&) {
  no_gdal(path);
}
void write_geotiff_scene(const Scene&, const std::filesystem::path& path) {
  no_gdal(path);
}
void write_float_geotiff(const std::filesystem::path& path, const std::vector<Band>&,
                         const std::optional<GeoReference>&, const Raster<uint8_t>&,
                         const std::map<std::string, std::string>&, const RasterLayout&) {
  no_gdal(path);
}
void write_label_geotiff(const std::filesystem::path& path,
                         const std::vector<std::pair<std::string, LabelRaster>>&,
                         const std::optional<GeoReference>&,
                         const std::map<std::string, std::string>&, const RasterLayout&) {
  no_gdal(path);
}
LabelRasterFile read_label_geotiff(const std::filesystem::path& path) {
  no_gdal(path);
}
LabelRaster resample_labels_nearest(const LabelRaster&, const GeoReference&, int64_t, int64_t,
                                    const GeoReference&) {
  no_gdal("labels");
}
bool same_grid(const GeoReference& a, const GeoReference& b) {
  return a.transform == b.transform && a.crs_wkt == b.crs_wkt;
}

#else

bool geotiff_supported() {
  return true;
}

namespace {

constexpr const char* kSeasonKey = "SARSEG_SEASON";
constexpr const char* kTimeKey = "ACQUISITION_TIME";
constexpr const char* kSceneIdKey = "SCENE_ID";
constexpr const char* kIceServiceKey = "ICE_SERVICE";
constexpr const char* kSpacingKey = "PIXEL_SPACING";

using gdal::DatasetPtr;

DatasetPtr open_raster(const std::filesystem::path& path, const std::string& what) {
  require(std::filesystem::exists(path), what + " '" + path.string() + "' does not exist");
  gdal::ensure_registered();
  gdal::ErrorCapture errors;
  DatasetPtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  require(ds != nullptr, what + " '" + path.string() + "' is not a readable raster (" +
                             errors.last("unknown format") + "); give a GeoTIFF");
  require(ds->GetRasterCount() > 0,
          what + " '" + path.string() + "' has no raster bands; give a GeoTIFF with bands");
  require(ds->GetRasterXSize() > 0 && ds->GetRasterYSize() > 0,
          what + " '" + path.string() + "' has zero size");
  return ds;
}

std::optional<GeoReference> geo_of(GDALDataset& ds) {
  GeoReference geo;
  if (ds.GetGeoTransform(geo.transform.data()) != CE_None) return std::nullopt;
  if (const OGRSpatialReference* srs = ds.GetSpatialRef()) {
    char* wkt = nullptr;
    const char* options[] = {"FORMAT=WKT2_2018", nullptr};
    if (srs->exportToWkt(&wkt, options) == OGRERR_NONE && wkt) geo.crs_wkt = wkt;
    CPLFree(wkt);
  }
  return geo;
}

std::string canonical_band_name(const std::string& description) {
  const std::string lower = to_lower(trim(description));
  if (lower == "hh_db" || lower == "hv_db" || lower == "incidence_deg" || lower == "distance_map")
    return lower;
  if (lower.find("incid") != std::string::npos || lower.find("angle") != std::string::npos)
    return "incidence_deg";
  if (lower.find("hh") != std::string::npos) return "hh_db";
  if (lower.find("hv") != std::string::npos) return "hv_db";
  std::string name;
  for (char c : lower)
    name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return name;
}

bool is_backscatter(const std::string& name) {
  return name == "hh_db" || name == "hv_db";
}

// Reads band `index` (1-based) as float, marking NaN / inf / nodata invalid in `valid`.
FloatRaster read_float_band(GDALDataset& ds, int index, Raster<uint8_t>& valid,
                            const std::filesystem::path& path) {
  GDALRasterBand* band = ds.GetRasterBand(index);
  const int64_t h = ds.GetRasterYSize(), w = ds.GetRasterXSize();
  FloatRaster raster(h, w);
  gdal::ErrorCapture errors;
  if (band->RasterIO(GF_Read, 0, 0, static_cast<int>(w), static_cast<int>(h), raster.data.data(),
                     static_cast<int>(w), static_cast<int>(h), GDT_Float32, 0, 0) != CE_None) {
    throw UserError("GeoTIFF '" + path.string() + "': cannot read band " + std::to_string(index) +
                    " (" + errors.last() + "); the file may be truncated");
  }
  int has_nodata = 0;
  const double nodata = band->GetNoDataValue(&has_nodata);
  const float nodata_f = static_cast<float>(nodata);
  for (size_t i = 0; i < raster.data.size(); ++i) {
    const float v = raster.data[i];
    if (!std::isfinite(v) || (has_nodata && !std::isnan(nodata) && v == nodata_f))
      valid.data[i] = 0;
  }
  return raster;
}

std::map<std::string, std::string> read_metadata(GDALDataset& ds) {
  std::map<std::string, std::string> items;
  if (char** md = ds.GetMetadata()) {
    for (int i = 0; md[i]; ++i) {
      char* key = nullptr;
      const char* value = CPLParseNameValue(md[i], &key);
      if (key && value) items[key] = value;
      CPLFree(key);
    }
  }
  return items;
}

std::optional<int> month_of(const std::string& iso) {
  if (iso.size() >= 7 && iso[4] == '-' && std::isdigit(static_cast<unsigned char>(iso[5])) &&
      std::isdigit(static_cast<unsigned char>(iso[6]))) {
    const int month = std::stoi(iso.substr(5, 2));
    if (month >= 1 && month <= 12) return month;
  }
  return std::nullopt;
}

// Latitude of the scene centre (70 N when the grid has no CRS: the Arctic is the default).
double centre_latitude(const Scene& scene) {
  if (!scene.geo || scene.geo->crs_wkt.empty()) return 70.0;
  try {
    auto srs = gdal::make_srs(scene.geo->crs_wkt, "scene");
    OGRSpatialReference wgs84;
    wgs84.SetWellKnownGeogCS("WGS84");
    wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    auto transform = gdal::make_transform(*srs, wgs84, "scene");
    const auto& t = scene.geo->transform;
    double x = t[0] + t[1] * scene.width / 2.0 + t[2] * scene.height / 2.0;
    double y = t[3] + t[4] * scene.width / 2.0 + t[5] * scene.height / 2.0;
    if (!transform) return y;
    gdal::ErrorCapture errors;
    if (transform->Transform(1, &x, &y)) return y;
  } catch (const UserError&) {
  }
  return 70.0;
}

void check_writable_size(const std::filesystem::path& path, int64_t h, int64_t w) {
  require(h > 0 && w > 0, "cannot write '" + path.string() + "': the raster has zero size");
  require(h < std::numeric_limits<int>::max() && w < std::numeric_limits<int>::max(),
          "cannot write '" + path.string() + "': the raster is too large for GDAL");
}

// Creates a GeoTIFF at `temp` with georeference and metadata set.
// With `in_memory`, a MEM dataset that finish_geotiff copies to a COG.
DatasetPtr create_geotiff(const std::filesystem::path& temp, const std::filesystem::path& target,
                          int64_t h, int64_t w, int bands, GDALDataType type,
                          const std::optional<GeoReference>& geo,
                          const std::map<std::string, std::string>& metadata,
                          bool in_memory = false) {
  gdal::ensure_registered();
  gdal::ErrorCapture errors;
  const char* driver_name = in_memory ? "MEM" : "GTiff";
  GDALDriver* driver = GetGDALDriverManager()->GetDriverByName(driver_name);
  require(driver != nullptr, "cannot write '" + target.string() + "': GDAL has no " +
                                 std::string(driver_name) + " driver");
  char** options = nullptr;
  if (!in_memory) {
    options = CSLSetNameValue(options, "COMPRESS", "DEFLATE");
    options = CSLSetNameValue(options, "TILED", "YES");
    options = CSLSetNameValue(options, "BIGTIFF", "IF_SAFER");
    // DEFLATE compression of the tiles on every core (the same bytes, written faster).
    options = CSLSetNameValue(options, "NUM_THREADS", "ALL_CPUS");
    if (type == GDT_Float32) options = CSLSetNameValue(options, "PREDICTOR", "3");
  }
  DatasetPtr ds(driver->Create(in_memory ? "" : temp.c_str(), static_cast<int>(w),
                               static_cast<int>(h), bands, type, options));
  CSLDestroy(options);
  require(ds != nullptr, "cannot write '" + target.string() + "': " + errors.last());
  if (geo) {
    std::array<double, 6> transform = geo->transform;
    ds->SetGeoTransform(transform.data());
    if (!geo->crs_wkt.empty()) {
      auto srs = gdal::make_srs(geo->crs_wkt, "cannot write '" + target.string() + "'");
      ds->SetSpatialRef(srs.get());
    }
  }
  for (const auto& [key, value] : metadata)
    ds->SetMetadataItem(key.c_str(), value.c_str());
  return ds;
}

void close_checked(DatasetPtr& ds, const std::filesystem::path& target) {
  gdal::ErrorCapture errors;
  GDALClose(GDALDataset::ToHandle(ds.release()));
  require(CPLGetLastErrorType() < CE_Failure,
          "cannot write '" + target.string() + "': " + errors.last());
}

// Closes `ds` (a GTiff at `temp`), or for a COG copies the MEM dataset `ds` to `temp` with GDAL's
// COG driver (which computes the overviews and orders the IFDs first).
void finish_geotiff(DatasetPtr& ds, const std::filesystem::path& temp,
                    const std::filesystem::path& target, const RasterLayout& layout,
                    GDALDataType type) {
  if (!layout.cloud_optimised) {
    close_checked(ds, target);
    return;
  }
  gdal::ErrorCapture errors;
  GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("COG");
  require(driver != nullptr, "cannot write '" + target.string() +
                                 "': this GDAL has no COG driver (GDAL 3.1 or later has one)");
  char** options = nullptr;
  options = CSLSetNameValue(options, "COMPRESS", "DEFLATE");
  options = CSLSetNameValue(options, "BLOCKSIZE", "512");
  options = CSLSetNameValue(options, "BIGTIFF", "IF_SAFER");
  options = CSLSetNameValue(options, "OVERVIEWS", "IGNORE_EXISTING");
  options = CSLSetNameValue(options, "RESAMPLING", layout.overview_resampling.c_str());
  if (type == GDT_Float32) options = CSLSetNameValue(options, "PREDICTOR", "YES");
  DatasetPtr cog(driver->CreateCopy(temp.c_str(), ds.get(), FALSE, options, nullptr, nullptr));
  CSLDestroy(options);
  ds.reset();
  require(cog != nullptr, "cannot write '" + target.string() + "': " + errors.last());
  close_checked(cog, target);
}

std::map<std::string, std::string> scene_metadata(const Scene& scene) {
  std::map<std::string, std::string> md = scene.attributes;
  if (scene.season != Season::kUnknown) md[kSeasonKey] = to_string(scene.season);
  if (!scene.acquisition_time.empty()) md[kTimeKey] = scene.acquisition_time;
  if (!scene.id.empty()) md[kSceneIdKey] = scene.id;
  if (!scene.ice_service.empty()) md[kIceServiceKey] = scene.ice_service;
  char spacing[64];
  std::snprintf(spacing, sizeof(spacing), "%.17g", scene.pixel_spacing_m);
  md[kSpacingKey] = spacing;
  return md;
}

std::vector<std::pair<std::string, LabelRaster>> ordered_labels(const Scene& scene) {
  std::vector<std::pair<std::string, LabelRaster>> labels;
  for (const char* chart : {"SIC", "SOD", "FLOE"}) {
    auto it = scene.labels.find(chart);
    if (it != scene.labels.end()) labels.emplace_back(it->first, it->second);
  }
  for (const auto& [name, raster] : scene.labels) {
    if (name != "SIC" && name != "SOD" && name != "FLOE") labels.emplace_back(name, raster);
  }
  return labels;
}

}  // namespace

bool same_grid(const GeoReference& a, const GeoReference& b) {
  const double pixel = std::max({std::abs(a.transform[1]), std::abs(a.transform[5]), 1e-12});
  for (int i = 0; i < 6; ++i) {
    const double scale = (i == 0 || i == 3) ? pixel : std::max(std::abs(a.transform[i]), 1e-12);
    if (std::abs(a.transform[static_cast<size_t>(i)] - b.transform[static_cast<size_t>(i)]) >
        1e-6 * scale)
      return false;
  }
  if (a.crs_wkt.empty() || b.crs_wkt.empty()) return a.crs_wkt.empty() && b.crs_wkt.empty();
  if (a.crs_wkt == b.crs_wkt) return true;
  auto sa = gdal::make_srs(a.crs_wkt, "grid");
  auto sb = gdal::make_srs(b.crs_wkt, "grid");
  return sa->IsSame(sb.get());
}

LabelRaster resample_labels_nearest(const LabelRaster& source, const GeoReference& source_geo,
                                    int64_t height, int64_t width, const GeoReference& target_geo) {
  LabelRaster result(height, width, kLabelFill);
  double inverse[6];
  require(GDALInvGeoTransform(const_cast<double*>(source_geo.transform.data()), inverse) != 0,
          "the label raster's geotransform cannot be inverted");
  std::unique_ptr<OGRCoordinateTransformation> transform;
  if (!source_geo.crs_wkt.empty() && !target_geo.crs_wkt.empty()) {
    auto from = gdal::make_srs(target_geo.crs_wkt, "scene");
    auto to = gdal::make_srs(source_geo.crs_wkt, "label raster");
    transform = gdal::make_transform(*from, *to, "resampling labels");
  }
  const auto& t = target_geo.transform;
  std::vector<double> xs(static_cast<size_t>(width)), ys(static_cast<size_t>(width));
  std::vector<int> ok(static_cast<size_t>(width));
  gdal::ErrorCapture errors;
  for (int64_t row = 0; row < height; ++row) {
    for (int64_t col = 0; col < width; ++col) {
      const double c = static_cast<double>(col) + 0.5, r = static_cast<double>(row) + 0.5;
      xs[static_cast<size_t>(col)] = t[0] + t[1] * c + t[2] * r;
      ys[static_cast<size_t>(col)] = t[3] + t[4] * c + t[5] * r;
      ok[static_cast<size_t>(col)] = 1;
    }
    if (transform) {
      transform->Transform(static_cast<size_t>(width), xs.data(), ys.data(), nullptr, ok.data());
    }
    for (int64_t col = 0; col < width; ++col) {
      const size_t k = static_cast<size_t>(col);
      if (!ok[k]) continue;
      const double sc = inverse[0] + inverse[1] * xs[k] + inverse[2] * ys[k];
      const double sr = inverse[3] + inverse[4] * xs[k] + inverse[5] * ys[k];
      if (sc < 0 || sr < 0 || sc >= static_cast<double>(source.width) ||
          sr >= static_cast<double>(source.height))
        continue;
      result.at(row, col) = source.at(static_cast<int64_t>(sr), static_cast<int64_t>(sc));
    }
  }
  return result;
}

LabelRasterFile read_label_geotiff(const std::filesystem::path& path) {
  DatasetPtr ds = open_raster(path, "label raster");
  LabelRasterFile file;
  file.geo = geo_of(*ds);
  const int count = ds->GetRasterCount();
  const int64_t h = ds->GetRasterYSize(), w = ds->GetRasterXSize();
  for (int index = 1; index <= count; ++index) {
    GDALRasterBand* band = ds->GetRasterBand(index);
    const GDALDataType type = band->GetRasterDataType();
    require(!GDALDataTypeIsFloating(type) && !GDALDataTypeIsComplex(type),
            "label raster '" + path.string() + "': band " + std::to_string(index) + " is " +
                GDALGetDataTypeName(type) + "; labels must be integer classes (e.g. Byte)");
    std::vector<int32_t> values(static_cast<size_t>(h * w));
    gdal::ErrorCapture errors;
    if (band->RasterIO(GF_Read, 0, 0, static_cast<int>(w), static_cast<int>(h), values.data(),
                       static_cast<int>(w), static_cast<int>(h), GDT_Int32, 0, 0) != CE_None) {
      throw UserError("label raster '" + path.string() + "': cannot read band " +
                      std::to_string(index) + " (" + errors.last() + ")");
    }
    int has_nodata = 0;
    const double nodata = band->GetNoDataValue(&has_nodata);
    LabelRaster raster(h, w, kLabelFill);
    for (size_t i = 0; i < values.size(); ++i) {
      const int32_t v = values[i];
      if (v < 0 || v > 255 || (has_nodata && v == static_cast<int32_t>(nodata))) continue;
      raster.data[i] = static_cast<uint8_t>(v);
    }
    std::string name = trim(band->GetDescription());
    if (name.empty()) {
      if (count == 1) {
        name = "classes";
      } else if (count == 3) {
        name = kChartNames[index - 1];
      } else {
        name = "label_" + std::to_string(index);
      }
    }
    file.labels.emplace_back(name, std::move(raster));
  }
  return file;
}

namespace {

std::vector<std::string> band_descriptions(GDALDataset& ds) {
  std::vector<std::string> descriptions;
  for (int i = 1; i <= ds.GetRasterCount(); ++i)
    descriptions.push_back(trim(ds.GetRasterBand(i)->GetDescription()));
  return descriptions;
}

// Which bands (1-based): all in file order, or those `wanted` by 1-based index or by description
// (case-insensitive, or by its canonical name).
std::vector<int> chosen_bands(const std::vector<std::string>& wanted,
                              const std::vector<std::string>& descriptions,
                              const std::string& where) {
  const int count = static_cast<int>(descriptions.size());
  std::vector<int> chosen;
  if (wanted.empty()) {
    for (int i = 1; i <= count; ++i)
      chosen.push_back(i);
    return chosen;
  }
  for (const auto& name : wanted) {
    int index = 0;
    const std::string t = trim(name);
    if (!t.empty() && std::all_of(t.begin(), t.end(), [](char c) { return std::isdigit(c); })) {
      index = std::stoi(t);
      require(index >= 1 && index <= count, where + " has " + std::to_string(count) +
                                                " bands; band index " + t + " is out of range");
    } else {
      for (int i = 1; i <= count && index == 0; ++i) {
        if (to_lower(descriptions[static_cast<size_t>(i - 1)]) == to_lower(t) ||
            canonical_band_name(descriptions[static_cast<size_t>(i - 1)]) == to_lower(t))
          index = i;
      }
      require(index != 0, where + " has no band described '" + t + "'; its bands are: " +
                              join(descriptions, ", ") + " (or choose by 1-based index)");
    }
    chosen.push_back(index);
  }
  return chosen;
}

// The scene's name for band `index`: its canonical description; for an unnamed stack of up to
// three bands hh_db, hv_db, incidence_deg; else band_<index>. Made unique within `scene`.
std::string scene_band_name(const Scene& scene, int index,
                            const std::vector<std::string>& descriptions) {
  const bool unnamed = std::all_of(descriptions.begin(), descriptions.end(),
                                   [](const std::string& d) { return d.empty(); });
  static const char* kDefaultNames[] = {"hh_db", "hv_db", "incidence_deg"};
  const std::string& description = descriptions[static_cast<size_t>(index - 1)];
  std::string name;
  if (!description.empty()) {
    name = canonical_band_name(description);
  } else if (unnamed && descriptions.size() <= 3) {
    name = kDefaultNames[index - 1];
  } else {
    name = "band_" + std::to_string(index);
  }
  while (scene.find_band(name))
    name += "_" + std::to_string(index);
  return name;
}

// Linear sigma0 to dB, with `floor_db` for zero, negative, tiny or infinite values (NaN stays).
void convert_linear_to_db(Band& band, double floor_db) {
  const float floor = static_cast<float>(floor_db);
  for (float& v : band.pixels.data) {
    if (std::isnan(v)) continue;
    v = (v > 0 && std::isfinite(v)) ? std::max(10.0f * std::log10(v), floor) : floor;
  }
  band.units = "dB";
}

// Reads the chosen bands into `scene`, marking invalid pixels in `scene.valid`.
void read_scene_bands(GDALDataset& ds, const std::filesystem::path& path,
                      const SceneReadOptions& options, const std::vector<int>& chosen,
                      const std::vector<std::string>& descriptions, Scene& scene) {
  scene.valid = Raster<uint8_t>(scene.height, scene.width, 1);
  for (const int index : chosen) {
    Band band;
    band.name = scene_band_name(scene, index, descriptions);
    band.pixels = read_float_band(ds, index, scene.valid, path);
    band.units = ds.GetRasterBand(index)->GetUnitType();
    if (options.linear_to_db && band.name != "incidence_deg" && band.name != "distance_map")
      convert_linear_to_db(band, options.db_floor);
    if (band.units.empty()) {
      if (is_backscatter(band.name)) band.units = "dB";
      if (band.name == "incidence_deg") band.units = "deg";
    }
    scene.bands.push_back(std::move(band));
  }
}

// Invalid pixels get the band's mean over valid pixels: nothing downstream sees NaN.
void fill_invalid_with_band_means(Scene& scene) {
  for (auto& band : scene.bands) {
    double sum = 0;
    int64_t n = 0;
    for (size_t i = 0; i < band.pixels.data.size(); ++i) {
      if (scene.valid.data[i]) {
        sum += band.pixels.data[i];
        ++n;
      }
    }
    const float fill = n ? static_cast<float>(sum / static_cast<double>(n)) : 0.0f;
    for (size_t i = 0; i < band.pixels.data.size(); ++i)
      if (!scene.valid.data[i]) band.pixels.data[i] = fill;
  }
}

// Removes `key` from `metadata` and returns its value ("" when absent).
std::string take_item(std::map<std::string, std::string>& metadata, const char* key) {
  auto it = metadata.find(key);
  if (it == metadata.end()) return std::string();
  std::string value = it->second;
  metadata.erase(it);
  return value;
}

// The pixel spacing from the PIXEL_SPACING item, else from a projected grid (else unchanged).
void set_pixel_spacing(Scene& scene, const std::string& spacing, const std::string& where) {
  if (!spacing.empty()) {
    try {
      scene.pixel_spacing_m = std::stod(spacing);
    } catch (...) {
      throw UserError(where + ": metadata PIXEL_SPACING='" + spacing + "' is not a number");
    }
  } else if (scene.geo && !scene.geo->crs_wkt.empty()) {
    auto srs = gdal::make_srs(scene.geo->crs_wkt, where);
    if (srs->IsProjected()) scene.pixel_spacing_m = std::abs(scene.geo->transform[1]);
  }
}

// The season: the option, else the SARSEG_SEASON item, else from the date and latitude.
void set_season(Scene& scene, const std::string& option, const std::string& season_item,
                const std::string& where) {
  if (!option.empty()) {
    scene.season = parse_season(option);
  } else if (!season_item.empty()) {
    try {
      scene.season = parse_season(season_item);
    } catch (const UserError&) {
      throw UserError(where + ": metadata SARSEG_SEASON='" + season_item +
                      "' is not freeze-up, winter or melt");
    }
  } else if (auto month = month_of(scene.acquisition_time)) {
    scene.season = season_from_date(*month, centre_latitude(scene));
  }
}

// Scene id, ice service, time, pixel spacing and season from the metadata (the rest become
// attributes, less GDAL's own items).
void apply_scene_metadata(GDALDataset& ds, const std::filesystem::path& path,
                          const SceneReadOptions& options, const std::string& where, Scene& scene) {
  auto metadata = read_metadata(ds);
  scene.id = take_item(metadata, kSceneIdKey);
  if (scene.id.empty()) scene.id = path.stem().string();
  scene.ice_service = take_item(metadata, kIceServiceKey);
  scene.acquisition_time = take_item(metadata, kTimeKey);
  const std::string season_item = take_item(metadata, kSeasonKey);
  set_pixel_spacing(scene, take_item(metadata, kSpacingKey), where);
  for (const auto& [key, value] : metadata) {
    if (key == "AREA_OR_POINT" || starts_with(key, "TIFFTAG_")) continue;
    scene.attributes[key] = value;
  }
  set_season(scene, options.season, season_item, where);
}

// Labels: the given file, or a sibling <stem>_labels.tif when there is one; refused (or, when
// asked, resampled) when not on the scene's grid.
void attach_labels(const std::filesystem::path& path, const SceneReadOptions& options,
                   const std::string& where, Scene& scene) {
  std::filesystem::path labels_path = options.labels_path;
  if (labels_path.empty()) {
    const auto sibling = geotiff_labels_path(path);
    if (std::filesystem::exists(sibling)) labels_path = sibling;
  }
  if (labels_path.empty()) return;
  LabelRasterFile labels = read_label_geotiff(labels_path);
  const LabelRaster& first = labels.labels.front().second;
  const bool same_size = first.height == scene.height && first.width == scene.width;
  bool matches = same_size;
  if (matches && (labels.geo.has_value() != scene.geo.has_value())) matches = false;
  if (matches && labels.geo && scene.geo) matches = same_grid(*labels.geo, *scene.geo);
  if (!matches) {
    require(options.resample_labels,
            "label raster '" + labels_path.string() + "' (" + std::to_string(first.height) + "x" +
                std::to_string(first.width) + ") is not on the grid of " + where + " (" +
                std::to_string(scene.height) + "x" + std::to_string(scene.width) +
                "; size, geotransform and CRS must match); resample it or ask for "
                "resampling");
    require(labels.geo && scene.geo, "cannot resample label raster '" + labels_path.string() +
                                         "': it and the scene both need a geotransform");
    for (auto& [name, raster] : labels.labels) {
      raster = resample_labels_nearest(raster, *labels.geo, scene.height, scene.width, *scene.geo);
    }
  }
  for (auto& [name, raster] : labels.labels)
    scene.labels[name] = std::move(raster);
}

}  // namespace

Scene read_geotiff_scene(const std::filesystem::path& path, const SceneReadOptions& options) {
  DatasetPtr ds = open_raster(path, "GeoTIFF");
  const std::string where = "GeoTIFF '" + path.string() + "'";
  Scene scene;
  scene.source_path = path.string();
  scene.height = ds->GetRasterYSize();
  scene.width = ds->GetRasterXSize();
  scene.geo = geo_of(*ds);
  const std::vector<std::string> descriptions = band_descriptions(*ds);
  const std::vector<int> chosen = chosen_bands(options.bands, descriptions, where);
  read_scene_bands(*ds, path, options, chosen, descriptions, scene);
  fill_invalid_with_band_means(scene);
  apply_scene_metadata(*ds, path, options, where, scene);
  attach_labels(path, options, where, scene);
  scene.check_consistent();
  return scene;
}

void write_float_geotiff(const std::filesystem::path& path, const std::vector<Band>& bands,
                         const std::optional<GeoReference>& geo, const Raster<uint8_t>& valid,
                         const std::map<std::string, std::string>& metadata,
                         const RasterLayout& layout) {
  require(!bands.empty(), "cannot write '" + path.string() + "': no bands to write");
  const int64_t h = bands[0].pixels.height, w = bands[0].pixels.width;
  check_writable_size(path, h, w);
  for (const auto& band : bands) {
    require(band.pixels.height == h && band.pixels.width == w &&
                band.pixels.data.size() == static_cast<size_t>(h * w),
            "cannot write '" + path.string() + "': band '" + band.name + "' differs in size");
  }
  require(valid.empty() || (valid.height == h && valid.width == w),
          "cannot write '" + path.string() + "': the validity mask differs in size");
  AtomicOutput output(path);
  DatasetPtr ds = create_geotiff(output.temp_path(), path, h, w, static_cast<int>(bands.size()),
                                 GDT_Float32, geo, metadata, layout.cloud_optimised);
  std::vector<float> buffer(static_cast<size_t>(h * w));
  for (size_t k = 0; k < bands.size(); ++k) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (size_t i = 0; i < buffer.size(); ++i)
      buffer[i] = (valid.empty() || valid.data[i]) ? bands[k].pixels.data[i] : nan;
    GDALRasterBand* band = ds->GetRasterBand(static_cast<int>(k) + 1);
    band->SetDescription(bands[k].name.c_str());
    if (!bands[k].units.empty()) band->SetUnitType(bands[k].units.c_str());
    band->SetNoDataValue(std::numeric_limits<double>::quiet_NaN());
    gdal::ErrorCapture errors;
    require(band->RasterIO(GF_Write, 0, 0, static_cast<int>(w), static_cast<int>(h), buffer.data(),
                           static_cast<int>(w), static_cast<int>(h), GDT_Float32, 0, 0) == CE_None,
            "cannot write '" + path.string() + "': " + errors.last());
  }
  finish_geotiff(ds, output.temp_path(), path, layout, GDT_Float32);
  output.commit();
}

void write_label_geotiff(const std::filesystem::path& path,
                         const std::vector<std::pair<std::string, LabelRaster>>& labels,
                         const std::optional<GeoReference>& geo,
                         const std::map<std::string, std::string>& metadata,
                         const RasterLayout& layout) {
  require(!labels.empty(), "cannot write '" + path.string() + "': no label rasters to write");
  const int64_t h = labels[0].second.height, w = labels[0].second.width;
  check_writable_size(path, h, w);
  for (const auto& [name, raster] : labels) {
    require(
        raster.height == h && raster.width == w && raster.data.size() == static_cast<size_t>(h * w),
        "cannot write '" + path.string() + "': label '" + name + "' differs in size");
  }
  AtomicOutput output(path);
  DatasetPtr ds = create_geotiff(output.temp_path(), path, h, w, static_cast<int>(labels.size()),
                                 GDT_Byte, geo, metadata, layout.cloud_optimised);
  for (size_t k = 0; k < labels.size(); ++k) {
    GDALRasterBand* band = ds->GetRasterBand(static_cast<int>(k) + 1);
    band->SetDescription(labels[k].first.c_str());
    band->SetNoDataValue(kLabelFill);
    gdal::ErrorCapture errors;
    require(band->RasterIO(GF_Write, 0, 0, static_cast<int>(w), static_cast<int>(h),
                           const_cast<uint8_t*>(labels[k].second.data.data()), static_cast<int>(w),
                           static_cast<int>(h), GDT_Byte, 0, 0) == CE_None,
            "cannot write '" + path.string() + "': " + errors.last());
  }
  finish_geotiff(ds, output.temp_path(), path, layout, GDT_Byte);
  output.commit();
}

void write_geotiff_scene(const Scene& scene, const std::filesystem::path& path) {
  scene.check_consistent();
  require(!scene.bands.empty(), "cannot write '" + path.string() + "': the scene has no bands");
  const auto metadata = scene_metadata(scene);
  const auto labels_path = geotiff_labels_path(path);
  // Both files are written to temporaries first; the stack is committed last so that a reader
  // never finds a new stack beside old labels.
  if (!scene.labels.empty()) {
    write_label_geotiff(labels_path, ordered_labels(scene), scene.geo, metadata);
  } else if (std::filesystem::exists(labels_path)) {
    sarseg::log::info("removing stale label raster {}", labels_path.string());
    std::filesystem::remove(labels_path);
  }
  try {
    write_float_geotiff(path, scene.bands, scene.geo, scene.valid, metadata);
  } catch (...) {
    std::error_code ignored;
    if (!scene.labels.empty()) std::filesystem::remove(labels_path, ignored);
    throw;
  }
}

#endif

}  // namespace sarseg::io
