#include "sarseg/io/netcdf.h"

#include "sarseg/io/window_reader.h"

#include "sarseg/build_config.h"
#include "sarseg/util/error.h"

#if SARSEG_HAVE_NETCDF
#include <netcdf.h>
#include <netcdf_mem.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <set>

#include "netcdf_probe.h"
#include "sarseg/io/ai4arctic.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/strings.h"
#endif

namespace sarseg::io {

#if !SARSEG_HAVE_NETCDF

bool netcdf_supported() {
  return false;
}

Scene read_ai4arctic_netcdf(const std::filesystem::path& path, const SceneReadOptions&) {
  throw UserError("cannot read '" + path.string() +
                  "': this sarseg was built without netCDF support (SARSEG_WITH_NETCDF=OFF); "
                  "rebuild with libnetcdf or convert the scene to GeoTIFF");
}

Scene read_ai4arctic_netcdf_memory(std::string_view, const std::string& name,
                                   const SceneReadOptions&) {
  throw UserError("cannot read '" + name +
                  "': this sarseg was built without netCDF support (SARSEG_WITH_NETCDF=OFF)");
}

void write_ai4arctic_netcdf(const Scene&, const std::filesystem::path& path) {
  throw UserError("cannot write '" + path.string() +
                  "': this sarseg was built without netCDF support (SARSEG_WITH_NETCDF=OFF); "
                  "write GeoTIFF (.tif) instead");
}

void write_autoice_submission(const std::filesystem::path& path, const std::string&,
                              const std::map<std::string, LabelRaster>&) {
  throw UserError("cannot write the AutoICE submission '" + path.string() +
                  "': this sarseg was built without netCDF support (SARSEG_WITH_NETCDF=OFF); "
                  "rebuild with libnetcdf or leave out the submission");
}

std::unique_ptr<RasterWindowReader> open_netcdf_window_reader(const std::filesystem::path& path,
                                                              const std::string&) {
  throw UserError("cannot read '" + path.string() +
                  "': this sarseg was built without netCDF support (SARSEG_WITH_NETCDF=OFF)");
}

#else

bool netcdf_supported() {
  return true;
}

namespace {

constexpr const char* kLinesDim = "sar_lines";
constexpr const char* kSamplesDim = "sar_samples";
constexpr const char* kAuxLinesDim = "2km_grid_lines";
constexpr const char* kAuxSamplesDim = "2km_grid_samples";
constexpr const char* kGridLinesDim = "sar_line_2dgrid_points";
constexpr const char* kGridSamplesDim = "sar_sample_2dgrid_points";
constexpr const char* kGeoTransformAttr = "sarseg_geotransform";
constexpr const char* kCrsAttr = "sarseg_crs_wkt";

// libnetcdf (and the HDF5 under it) is not thread-safe: data loaders may read scenes from several
// threads, so every call into it is serialised.
std::mutex& netcdf_mutex() {
  static std::mutex mutex;
  return mutex;
}

// Owns an open netCDF id and names the file in every error.
class NcFile {
 public:
  NcFile(int id, std::filesystem::path path) : id_(id), path_(std::move(path)) {}
  ~NcFile() {
    if (id_ >= 0) nc_close(id_);
  }
  NcFile(const NcFile&) = delete;
  NcFile& operator=(const NcFile&) = delete;
  int id() const { return id_; }
  const std::filesystem::path& path() const { return path_; }
  void close() {
    const int status = nc_close(id_);
    id_ = -1;
    check(status, "closing the file");
  }
  void check(int status, const std::string& what) const {
    if (status != NC_NOERR) {
      throw UserError("netCDF file '" + path_.string() + "': " + what + ": " + nc_strerror(status));
    }
  }

 private:
  int id_;
  std::filesystem::path path_;
};

std::string text_attribute(int ncid, int varid, const char* name) {
  nc_type type;
  size_t length = 0;
  if (nc_inq_att(ncid, varid, name, &type, &length) != NC_NOERR) return "";
  if (type == NC_CHAR) {
    std::string value(length, '\0');
    if (nc_get_att_text(ncid, varid, name, value.data()) != NC_NOERR) return "";
    while (!value.empty() && value.back() == '\0')
      value.pop_back();
    return value;
  }
  if (type == NC_STRING && length == 1) {
    char* value = nullptr;
    if (nc_get_att_string(ncid, varid, name, &value) != NC_NOERR) return "";
    std::string result = value ? value : "";
    nc_free_string(1, &value);
    return result;
  }
  if (length >= 1 && type != NC_STRING) {
    std::vector<double> values(length);
    if (nc_get_att_double(ncid, varid, name, values.data()) != NC_NOERR) return "";
    std::string result;
    for (size_t i = 0; i < values.size(); ++i) {
      char buffer[64];
      std::snprintf(buffer, sizeof(buffer), "%.17g", values[i]);
      if (i) result += " ";
      result += buffer;
    }
    return result;
  }
  return "";
}

std::optional<double> number_attribute(int ncid, int varid, const char* name) {
  nc_type type;
  size_t length = 0;
  if (nc_inq_att(ncid, varid, name, &type, &length) != NC_NOERR || length < 1) return std::nullopt;
  if (type == NC_CHAR || type == NC_STRING) {
    const std::string text = text_attribute(ncid, varid, name);
    try {
      size_t used = 0;
      const double value = std::stod(text, &used);
      if (used > 0) return value;
    } catch (...) {
    }
    return std::nullopt;
  }
  std::vector<double> values(length);
  if (nc_get_att_double(ncid, varid, name, values.data()) != NC_NOERR) return std::nullopt;
  return values[0];
}

struct VarInfo {
  int id = -1;
  nc_type type = NC_NAT;
  std::vector<std::string> dims;
  std::vector<size_t> shape;
};

std::optional<VarInfo> find_variable(const NcFile& file, const std::string& name) {
  VarInfo info;
  if (nc_inq_varid(file.id(), name.c_str(), &info.id) != NC_NOERR) return std::nullopt;
  int ndims = 0;
  file.check(nc_inq_var(file.id(), info.id, nullptr, &info.type, &ndims, nullptr, nullptr),
             "variable '" + name + "'");
  std::vector<int> dimids(static_cast<size_t>(ndims));
  file.check(nc_inq_vardimid(file.id(), info.id, dimids.data()), "variable '" + name + "'");
  for (int d : dimids) {
    char dim_name[NC_MAX_NAME + 1] = {0};
    size_t length = 0;
    file.check(nc_inq_dim(file.id(), d, dim_name, &length), "variable '" + name + "'");
    info.dims.emplace_back(dim_name);
    info.shape.push_back(length);
  }
  return info;
}

std::string describe_dims(const VarInfo& info) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < info.dims.size(); ++i)
    parts.push_back(info.dims[i] + "=" + std::to_string(info.shape[i]));
  return "(" + join(parts, ", ") + ")";
}

bool is_float_type(nc_type t) {
  return t == NC_FLOAT || t == NC_DOUBLE;
}
bool is_integer_type(nc_type t) {
  return t == NC_BYTE || t == NC_UBYTE || t == NC_SHORT || t == NC_USHORT || t == NC_INT ||
         t == NC_UINT || t == NC_INT64 || t == NC_UINT64;
}

// Reads a float variable on the SAR grid; refuses the wrong dimensions or type.
FloatRaster read_sar_float(const NcFile& file, const std::string& name, const VarInfo& info,
                           int64_t height, int64_t width) {
  const std::string where = "netCDF file '" + file.path().string() + "': variable '" + name + "'";
  require(info.dims.size() == 2 && info.dims[0] == kLinesDim && info.dims[1] == kSamplesDim,
          where + " has dimensions " + describe_dims(info) + ", expected (" + kLinesDim + ", " +
              kSamplesDim + ")");
  require(is_float_type(info.type),
          where + " has type " + std::to_string(info.type) + ", expected float32 or float64");
  FloatRaster raster(height, width);
  file.check(nc_get_var_float(file.id(), info.id, raster.data.data()),
             "reading variable '" + name + "'");
  return raster;
}

// Parses "YYYYMMDDTHHMMSS..." at the start of a scene id into ISO 8601 and the month.
std::optional<std::pair<std::string, int> > time_from_scene_id(const std::string& id) {
  if (id.size() < 8) return std::nullopt;
  for (int i = 0; i < 8; ++i)
    if (!std::isdigit(static_cast<unsigned char>(id[static_cast<size_t>(i)]))) return std::nullopt;
  const int month = std::stoi(id.substr(4, 2));
  const int day = std::stoi(id.substr(6, 2));
  if (month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
  std::string iso = id.substr(0, 4) + "-" + id.substr(4, 2) + "-" + id.substr(6, 2);
  bool has_time = id.size() >= 15 && id[8] == 'T';
  for (int i = 9; has_time && i < 15; ++i)
    has_time = std::isdigit(static_cast<unsigned char>(id[static_cast<size_t>(i)])) != 0;
  if (has_time) {
    iso += "T" + id.substr(9, 2) + ":" + id.substr(11, 2) + ":" + id.substr(13, 2) + "Z";
  }
  return std::make_pair(iso, month);
}

std::optional<int> month_of_iso_time(const std::string& iso) {
  if (iso.size() < 7 || iso[4] != '-') return std::nullopt;
  try {
    const int month = std::stoi(iso.substr(5, 2));
    if (month >= 1 && month <= 12) return month;
  } catch (...) {
  }
  return std::nullopt;
}

double mean_finite(const FloatRaster& raster) {
  double sum = 0;
  int64_t count = 0;
  for (float v : raster.data) {
    if (std::isfinite(v)) {
      sum += v;
      ++count;
    }
  }
  return count ? sum / static_cast<double>(count) : std::nan("");
}

// ---- the stages of read_ai4arctic_netcdf ---------------------------------------------------

std::string file_where(const NcFile& file) {
  return "netCDF file '" + file.path().string() + "'";
}

bool on_sar_grid(const VarInfo& info) {
  return info.dims.size() == 2 && info.dims[0] == kLinesDim && info.dims[1] == kSamplesDim;
}

// The size the child check's time limit is set from; 0 (the shortest limit) where it has none.
std::uintmax_t size_or_zero(const std::filesystem::path& path) {
  std::error_code error;
  const std::uintmax_t bytes = std::filesystem::file_size(path, error);
  return error ? 0 : bytes;
}

// Opens an existing file read-only; UserError when it is missing or not netCDF.
NcFile open_for_reading(const std::filesystem::path& path) {
  require(std::filesystem::exists(path), "scene file '" + path.string() + "' does not exist");
  int ncid = -1;
  const auto open_file = [&](int* id) { return nc_open(path.c_str(), NC_NOWRITE, id); };
  int status = detail::check_netcdf_in_child(open_file, path.string(), size_or_zero(path));
  if (status == NC_NOERR) status = open_file(&ncid);
  if (status != NC_NOERR) {
    throw UserError("'" + path.string() + "' is not a readable netCDF file (" +
                    nc_strerror(status) + "); check that it is a complete AI4Arctic .nc file");
  }
  return NcFile(ncid, path);
}

// The SAR grid is defined by the primary channel; both channels must be there.
void read_sar_grid_size(const NcFile& file, Scene& scene) {
  const std::string where = file_where(file);
  const auto primary = find_variable(file, "nersc_sar_primary");
  const auto secondary = find_variable(file, "nersc_sar_secondary");
  require(primary.has_value(), where +
                                   " has no variable 'nersc_sar_primary' (HH); it is not an "
                                   "AI4Arctic ready-to-train scene");
  require(secondary.has_value(), where +
                                     " has no variable 'nersc_sar_secondary' (HV); it is not "
                                     "an AI4Arctic ready-to-train scene");
  require(on_sar_grid(*primary), where + ": variable 'nersc_sar_primary' has dimensions " +
                                     describe_dims(*primary) + ", expected (" + kLinesDim + ", " +
                                     kSamplesDim + ")");
  scene.height = static_cast<int64_t>(primary->shape[0]);
  scene.width = static_cast<int64_t>(primary->shape[1]);
  require(scene.height > 0 && scene.width > 0,
          where + " has a zero-size SAR grid (" + describe_dims(*primary) + ")");
}

// Every global attribute as text, into scene.attributes.
void read_global_attributes(const NcFile& file, Scene& scene) {
  int natts = 0;
  file.check(nc_inq_natts(file.id(), &natts), "global attributes");
  for (int i = 0; i < natts; ++i) {
    char name[NC_MAX_NAME + 1] = {0};
    file.check(nc_inq_attname(file.id(), NC_GLOBAL, i, name), "global attributes");
    scene.attributes[name] = text_attribute(file.id(), NC_GLOBAL, name);
  }
}

// Removes an attribute from scene.attributes and returns its value ("" when absent).
std::string take_attribute(Scene& scene, const char* key) {
  auto it = scene.attributes.find(key);
  if (it == scene.attributes.end()) return std::string();
  std::string value = it->second;
  scene.attributes.erase(it);
  return value;
}

GeoReference parse_georeference(const std::string& transform_text, const std::string& crs_text,
                                const std::string& where) {
  GeoReference geo;
  const auto parts = split(trim(transform_text), ' ');
  require(parts.size() == 6,
          where + ": attribute '" + std::string(kGeoTransformAttr) + "' must hold 6 numbers");
  for (size_t i = 0; i < 6; ++i)
    geo.transform[i] = std::stod(parts[i]);
  geo.crs_wkt = crs_text;
  return geo;
}

// The global attributes the schema gives a meaning to, moved from scene.attributes into the
// scene's own fields. Returns the file's season attribute ("" when absent).
std::string take_schema_attributes(const NcFile& file, Scene& scene) {
  const std::string where = file_where(file);
  scene.id = take_attribute(scene, "scene_id");
  if (scene.id.empty()) scene.id = file.path().stem().string();
  scene.ice_service = take_attribute(scene, "ice_service");
  if (auto spacing = number_attribute(file.id(), NC_GLOBAL, "pixel_spacing")) {
    require(*spacing > 0 && std::isfinite(*spacing),
            where + ": attribute 'pixel_spacing' must be positive");
    scene.pixel_spacing_m = *spacing;
  }
  take_attribute(scene, "pixel_spacing");
  scene.acquisition_time = take_attribute(scene, "acquisition_time");
  const std::string season_attribute = take_attribute(scene, "season");
  const std::string transform_text = take_attribute(scene, kGeoTransformAttr);
  const std::string crs_text = take_attribute(scene, kCrsAttr);
  if (!transform_text.empty()) scene.geo = parse_georeference(transform_text, crs_text, where);
  return season_attribute;
}

// The SAR-grid float variables of the schema as z-scored bands; returns the variables read.
std::set<std::string> read_sar_bands(const NcFile& file, Scene& scene) {
  std::set<std::string> used;
  for (const auto& entry : ai4arctic_bands()) {
    const std::string variable(entry.variable);
    const auto info = find_variable(file, variable);
    if (!info) continue;
    used.insert(variable);
    Band band;
    band.name = std::string(entry.band);
    band.pixels = read_sar_float(file, variable, *info, scene.height, scene.width);
    band.units = "zscore";
    scene.bands.push_back(std::move(band));
  }
  return used;
}

// Validity: SAR fill (0 unless variable_fill_value says otherwise) or NaN in either channel.
void mark_valid_pixels(const NcFile& file, Scene& scene) {
  scene.valid = Raster<uint8_t>(scene.height, scene.width, 1);
  for (const char* variable : {"nersc_sar_primary", "nersc_sar_secondary"}) {
    const auto info = find_variable(file, variable);
    const double fill =
        number_attribute(file.id(), info->id, "variable_fill_value").value_or(kAi4ArcticSarFill);
    const Band& band = *scene.find_band(ai4arctic_band(variable)->band);
    for (size_t i = 0; i < band.pixels.data.size(); ++i) {
      const float v = band.pixels.data[i];
      if (!std::isfinite(v) || v == static_cast<float>(fill)) scene.valid.data[i] = 0;
    }
  }
}

// Zeroes NaN and invalid pixels; with options.physical_units, undoes the z-scoring.
void finish_bands(const SceneReadOptions& options, Scene& scene) {
  for (auto& band : scene.bands) {
    for (size_t i = 0; i < band.pixels.data.size(); ++i) {
      if (!std::isfinite(band.pixels.data[i]) || !scene.valid.data[i]) band.pixels.data[i] = 0.0f;
    }
    if (options.physical_units) {
      const auto entry = ai4arctic_band(band.name);
      const auto stats = ai4arctic_band_stats(band.name);
      if (entry && stats) {
        for (float& v : band.pixels.data)
          v = static_cast<float>(v * stats->std + stats->mean);
        band.units = std::string(entry->physical_units);
      }
    }
  }
}

std::vector<std::string> variable_names(const NcFile& file) {
  int nvars = 0;
  file.check(nc_inq_nvars(file.id(), &nvars), "listing variables");
  std::vector<std::string> names;
  for (int v = 0; v < nvars; ++v) {
    char name[NC_MAX_NAME + 1] = {0};
    file.check(nc_inq_varname(file.id(), v, name), "listing variables");
    names.emplace_back(name);
  }
  return names;
}

// A chart or label on the SAR grid, integer, with its chart_fill_value (default 255) as fill.
LabelRaster read_label(const NcFile& file, const std::string& name, const VarInfo& info,
                       const Scene& scene) {
  const std::string var_where = file_where(file) + ": variable '" + name + "'";
  require(on_sar_grid(info), var_where + " has dimensions " + describe_dims(info) + ", expected (" +
                                 kLinesDim + ", " + kSamplesDim + ")");
  require(is_integer_type(info.type),
          var_where + " must be an integer chart (uint8), not type " + std::to_string(info.type));
  const int fill = static_cast<int>(
      number_attribute(file.id(), info.id, "chart_fill_value").value_or(kLabelFill));
  std::vector<int> values(static_cast<size_t>(scene.height * scene.width));
  file.check(nc_get_var_int(file.id(), info.id, values.data()), "reading variable '" + name + "'");
  LabelRaster label(scene.height, scene.width, kLabelFill);
  for (size_t i = 0; i < values.size(); ++i) {
    const int v = values[i];
    label.data[i] = (v == fill || v < 0 || v > 255) ? kLabelFill : static_cast<uint8_t>(v);
  }
  return label;
}

// A 2-D variable read as float at its own size (2 km grids, the lat/lon subgrid).
FloatRaster read_float_grid(const NcFile& file, const std::string& name, const VarInfo& info) {
  FloatRaster grid(static_cast<int64_t>(info.shape[0]), static_cast<int64_t>(info.shape[1]));
  file.check(nc_get_var_float(file.id(), info.id, grid.data.data()),
             "reading variable '" + name + "'");
  return grid;
}

// Every variable not read as a band: charts and labels on the SAR grid, 2 km grids, the lat/lon
// subgrid; others are ignored.
void read_other_variables(const NcFile& file, const std::set<std::string>& used, Scene& scene) {
  const auto is_chart = [](const std::string& n) {
    return n == "SIC" || n == "SOD" || n == "FLOE";
  };
  for (const auto& name : variable_names(file)) {
    if (used.count(name)) continue;
    const auto info = find_variable(file, name);
    const std::string var_where = file_where(file) + ": variable '" + name + "'";
    const bool has_chart_fill =
        nc_inq_att(file.id(), info->id, "chart_fill_value", nullptr, nullptr) == NC_NOERR;
    if (is_chart(name) || (on_sar_grid(*info) && has_chart_fill)) {
      scene.labels[name] = read_label(file, name, *info, scene);
      continue;
    }
    if (info->dims.size() == 2 && info->dims[0] == kAuxLinesDim &&
        info->dims[1] == kAuxSamplesDim) {
      require(is_float_type(info->type) || is_integer_type(info->type),
              var_where + " is not numeric");
      scene.aux.push_back({name, read_float_grid(file, name, *info)});
      continue;
    }
    const bool is_latitude = name == "sar_grid2d_latitude" || name == "sar_2dgrid_latitude";
    const bool is_longitude = name == "sar_grid2d_longitude" || name == "sar_2dgrid_longitude";
    if (is_latitude || is_longitude) {
      require(info->dims.size() == 2 && info->shape[0] > 0 && info->shape[1] > 0,
              var_where + " must be a non-empty 2-D grid, has " + describe_dims(*info));
      require(is_float_type(info->type), var_where + " must be float32 or float64");
      (is_latitude ? scene.latitude_grid : scene.longitude_grid) =
          read_float_grid(file, name, *info);
    }
  }
}

void check_geolocation_subgrid(const Scene& scene, const std::string& where) {
  require(scene.latitude_grid.empty() == scene.longitude_grid.empty(),
          where + " has a latitude subgrid without a longitude subgrid (or the reverse)");
  if (!scene.latitude_grid.empty()) {
    require(scene.latitude_grid.height == scene.longitude_grid.height &&
                scene.latitude_grid.width == scene.longitude_grid.width,
            where + ": the latitude and longitude subgrids differ in size");
  }
}

// Season: explicit option, then the file's own season attribute, then date + hemisphere
// (AI4Arctic is Arctic-only, so a date without latitude is taken as northern).
Season scene_season(const SceneReadOptions& options, const std::string& season_attribute,
                    const std::optional<std::pair<std::string, int> >& id_time, const Scene& scene,
                    const std::string& where) {
  if (!options.season.empty()) return parse_season(options.season);
  if (!season_attribute.empty()) {
    try {
      return parse_season(season_attribute);
    } catch (const UserError&) {
      throw UserError(where + ": global attribute 'season' = '" + season_attribute +
                      "' is not freeze-up, winter or melt");
    }
  }
  std::optional<int> month = month_of_iso_time(scene.acquisition_time);
  if (!month && id_time) month = id_time->second;
  if (!month) return scene.season;
  double latitude = scene.latitude_grid.empty() ? 70.0 : mean_finite(scene.latitude_grid);
  if (!std::isfinite(latitude)) latitude = 70.0;
  return season_from_date(*month, latitude);
}

}  // namespace

namespace {

// The schema checks and reading of an open file (from disk or from memory).
Scene read_open_file(const NcFile& file, const SceneReadOptions& options) {
  Scene scene;
  scene.source_path = file.path().string();
  read_sar_grid_size(file, scene);
  read_global_attributes(file, scene);
  const std::string season_attribute = take_schema_attributes(file, scene);
  const auto id_time = time_from_scene_id(scene.id);
  if (scene.acquisition_time.empty() && id_time) scene.acquisition_time = id_time->first;

  const std::set<std::string> used = read_sar_bands(file, scene);
  mark_valid_pixels(file, scene);
  finish_bands(options, scene);
  read_other_variables(file, used, scene);
  check_geolocation_subgrid(scene, file_where(file));
  scene.season = scene_season(options, season_attribute, id_time, scene, file_where(file));
  scene.check_consistent();
  return scene;
}

}  // namespace

Scene read_ai4arctic_netcdf(const std::filesystem::path& path, const SceneReadOptions& options) {
  std::lock_guard<std::mutex> lock(netcdf_mutex());
  const NcFile file = open_for_reading(path);
  return read_open_file(file, options);
}

Scene read_ai4arctic_netcdf_memory(std::string_view bytes, const std::string& name,
                                   const SceneReadOptions& options) {
  std::lock_guard<std::mutex> lock(netcdf_mutex());
  // nc_open_mem takes a mutable buffer (it does not write to it with NC_NOWRITE).
  std::string buffer(bytes);
  const auto open_buffer = [&](int* id) {
    return nc_open_mem(name.c_str(), NC_NOWRITE, buffer.size(), buffer.data(), id);
  };
  int ncid = -1;
  int status = detail::check_netcdf_in_child(open_buffer, name, buffer.size());
  if (status == NC_NOERR) status = open_buffer(&ncid);
  if (status != NC_NOERR) {
    throw UserError("'" + name + "' is not a readable netCDF file (" + nc_strerror(status) +
                    "); check that it is a complete AI4Arctic .nc file");
  }
  const NcFile file(ncid, name);
  return read_open_file(file, options);
}

namespace {

void put_text(const NcFile& file, int varid, const std::string& name, const std::string& value) {
  file.check(nc_put_att_text(file.id(), varid, name.c_str(), value.size(), value.c_str()),
             "writing attribute '" + name + "'");
}

int define_var(const NcFile& file, const std::string& name, nc_type type, const int dims[2],
               bool compress) {
  int varid = -1;
  file.check(nc_def_var(file.id(), name.c_str(), type, 2, dims, &varid),
             "defining variable '" + name + "'");
  if (compress) {
    file.check(nc_def_var_deflate(file.id(), varid, 1, 1, 1),
               "compressing variable '" + name + "'");
  }
  return varid;
}

// ---- the stages of write_ai4arctic_netcdf --------------------------------------------------

// A SAR-grid variable ready to write: z-scored, invalid / NaN pixels at the fill value.
struct PreparedVariable {
  std::string variable;
  std::vector<float> values;
};

std::vector<PreparedVariable> prepare_sar_variables(const Scene& scene, const std::string& where) {
  std::vector<PreparedVariable> prepared;
  for (const auto& entry : ai4arctic_bands()) {
    const Band* band = scene.find_band(entry.band);
    if (!band) continue;
    PreparedVariable p{std::string(entry.variable), {}};
    p.values.resize(band->pixels.data.size());
    const bool zscored = band->units == "zscore";
    const auto stats = ai4arctic_band_stats(entry.variable);
    require(zscored || stats.has_value(),
            where + ": no published statistics for variable '" + p.variable + "'");
    const bool is_sar = entry.band == "hh_db" || entry.band == "hv_db";
    for (size_t i = 0; i < p.values.size(); ++i) {
      float v = band->pixels.data[i];
      if (!zscored) v = static_cast<float>((v - stats->mean) / stats->std);
      const bool valid = scene.valid.empty() || scene.valid.data[i] != 0;
      if (!valid || !std::isfinite(v)) {
        v = kAi4ArcticSarFill;
      } else if (is_sar && v == kAi4ArcticSarFill) {
        v = 1e-6f;  // keep a valid pixel distinguishable from the fill value
      }
      p.values[i] = v;
    }
    prepared.push_back(std::move(p));
  }
  return prepared;
}

// The schema has one 2 km grid size and one lat/lon subgrid size.
void check_secondary_grids(const Scene& scene, const std::string& where) {
  for (const auto& grid : scene.aux) {
    require(grid.pixels.height == scene.aux.front().pixels.height &&
                grid.pixels.width == scene.aux.front().pixels.width,
            where + ": 2 km grid '" + grid.name + "' differs in size from '" +
                scene.aux.front().name + "'");
    require(grid.units == "zscore" || ai4arctic_band_stats(grid.name).has_value(),
            where + ": 2 km grid '" + grid.name + "' is in " + grid.units +
                " and has no published statistics to z-score it with; z-score it first");
  }
  require(scene.latitude_grid.empty() == scene.longitude_grid.empty() &&
              scene.latitude_grid.height == scene.longitude_grid.height &&
              scene.latitude_grid.width == scene.longitude_grid.width,
          where + ": latitude and longitude subgrids differ");
}

void define_dimension_pair(const NcFile& file, const char* lines_name, const char* samples_name,
                           int64_t lines, int64_t samples, int dims[2]) {
  file.check(nc_def_dim(file.id(), lines_name, static_cast<size_t>(lines), &dims[0]),
             "defining dimensions");
  file.check(nc_def_dim(file.id(), samples_name, static_cast<size_t>(samples), &dims[1]),
             "defining dimensions");
}

// Dimension ids of the SAR grid, the 2 km grid and the lat/lon subgrid (-1 when absent).
struct Dimensions {
  int sar[2] = {-1, -1};
  int aux[2] = {-1, -1};
  int grid[2] = {-1, -1};
};

Dimensions define_dimensions(const NcFile& file, const Scene& scene) {
  Dimensions dims;
  define_dimension_pair(file, kLinesDim, kSamplesDim, scene.height, scene.width, dims.sar);
  if (!scene.aux.empty()) {
    define_dimension_pair(file, kAuxLinesDim, kAuxSamplesDim, scene.aux[0].pixels.height,
                          scene.aux[0].pixels.width, dims.aux);
  }
  if (!scene.latitude_grid.empty()) {
    define_dimension_pair(file, kGridLinesDim, kGridSamplesDim, scene.latitude_grid.height,
                          scene.latitude_grid.width, dims.grid);
  }
  return dims;
}

// Charts first in schema order, then any other label (e.g. a task's class map).
std::vector<std::string> label_write_order(const Scene& scene) {
  std::vector<std::string> label_names;
  for (const char* chart : kChartNames)
    if (scene.labels.count(chart)) label_names.emplace_back(chart);
  for (const auto& [name, raster] : scene.labels)
    if (std::find(label_names.begin(), label_names.end(), name) == label_names.end())
      label_names.push_back(name);
  return label_names;
}

struct VariableIds {
  std::vector<int> sar;
  std::vector<std::string> label_names;
  std::vector<int> labels;
  std::vector<int> aux;
  int latitude = -1, longitude = -1;
};

VariableIds define_variables(const NcFile& file, const Scene& scene,
                             const std::vector<PreparedVariable>& prepared,
                             const Dimensions& dims) {
  VariableIds ids;
  for (const auto& p : prepared) {
    const int varid = define_var(file, p.variable, NC_FLOAT, dims.sar, true);
    const float fill = kAi4ArcticSarFill;
    file.check(nc_put_att_float(file.id(), varid, "variable_fill_value", NC_FLOAT, 1, &fill),
               "writing attributes of '" + p.variable + "'");
    ids.sar.push_back(varid);
  }
  ids.label_names = label_write_order(scene);
  for (const auto& name : ids.label_names) {
    const int varid = define_var(file, name, NC_UBYTE, dims.sar, true);
    const unsigned char fill = kLabelFill;
    file.check(nc_put_att_uchar(file.id(), varid, "chart_fill_value", NC_UBYTE, 1, &fill),
               "writing attributes of '" + name + "'");
    ids.labels.push_back(varid);
  }
  for (const auto& grid : scene.aux)
    ids.aux.push_back(define_var(file, grid.name, NC_FLOAT, dims.aux, true));
  if (!scene.latitude_grid.empty()) {
    ids.latitude = define_var(file, "sar_grid2d_latitude", NC_DOUBLE, dims.grid, false);
    ids.longitude = define_var(file, "sar_grid2d_longitude", NC_DOUBLE, dims.grid, false);
  }
  return ids;
}

// Global attributes: the published ones, then ours, then whatever else the scene carries.
void write_global_attributes(const NcFile& file, const Scene& scene) {
  const int ncid = file.id();
  std::map<std::string, std::string> attributes = scene.attributes;
  const std::string original_id =
      attributes.count("original_id") ? attributes["original_id"] : scene.id;
  put_text(file, NC_GLOBAL, "scene_id", scene.id);
  put_text(file, NC_GLOBAL, "original_id", original_id);
  put_text(file, NC_GLOBAL, "ice_service", scene.ice_service);
  const int flip = attributes.count("flip") ? std::atoi(attributes["flip"].c_str()) : 0;
  file.check(nc_put_att_int(ncid, NC_GLOBAL, "flip", NC_INT, 1, &flip), "writing attribute flip");
  if (scene.pixel_spacing_m == std::round(scene.pixel_spacing_m)) {
    const int spacing = static_cast<int>(scene.pixel_spacing_m);
    file.check(nc_put_att_int(ncid, NC_GLOBAL, "pixel_spacing", NC_INT, 1, &spacing),
               "writing attribute pixel_spacing");
  } else {
    file.check(
        nc_put_att_double(ncid, NC_GLOBAL, "pixel_spacing", NC_DOUBLE, 1, &scene.pixel_spacing_m),
        "writing attribute pixel_spacing");
  }
  if (scene.season != Season::kUnknown)
    put_text(file, NC_GLOBAL, "season", to_string(scene.season));
  if (!scene.acquisition_time.empty())
    put_text(file, NC_GLOBAL, "acquisition_time", scene.acquisition_time);
  if (scene.geo) {
    file.check(nc_put_att_double(ncid, NC_GLOBAL, kGeoTransformAttr, NC_DOUBLE, 6,
                                 scene.geo->transform.data()),
               "writing the geotransform");
    if (!scene.geo->crs_wkt.empty()) put_text(file, NC_GLOBAL, kCrsAttr, scene.geo->crs_wkt);
  }
  for (const char* reserved : {"scene_id", "original_id", "ice_service", "flip", "pixel_spacing",
                               "season", "acquisition_time", kGeoTransformAttr, kCrsAttr})
    attributes.erase(reserved);
  for (const auto& [name, value] : attributes)
    put_text(file, NC_GLOBAL, name, value);
}

void write_variable_data(const NcFile& file, const Scene& scene,
                         const std::vector<PreparedVariable>& prepared, const VariableIds& ids) {
  const int ncid = file.id();
  for (size_t i = 0; i < prepared.size(); ++i)
    file.check(nc_put_var_float(ncid, ids.sar[i], prepared[i].values.data()),
               "writing '" + prepared[i].variable + "'");
  for (size_t i = 0; i < ids.label_names.size(); ++i)
    file.check(
        nc_put_var_uchar(ncid, ids.labels[i], scene.labels.at(ids.label_names[i]).data.data()),
        "writing '" + ids.label_names[i] + "'");
  for (size_t i = 0; i < scene.aux.size(); ++i) {
    // The schema stores z-scores; grids in physical units (the simulator's) are z-scored here.
    const AuxGrid& grid = scene.aux[i];
    std::vector<float> values = grid.pixels.data;
    if (grid.units != "zscore") {
      const MeanStd stats = *ai4arctic_band_stats(grid.name);
      for (float& v : values)
        v = static_cast<float>((v - stats.mean) / stats.std);
    }
    file.check(nc_put_var_float(ncid, ids.aux[i], values.data()), "writing '" + grid.name + "'");
  }
  if (ids.latitude >= 0) {
    std::vector<double> lat(scene.latitude_grid.data.begin(), scene.latitude_grid.data.end());
    std::vector<double> lon(scene.longitude_grid.data.begin(), scene.longitude_grid.data.end());
    file.check(nc_put_var_double(ncid, ids.latitude, lat.data()), "writing the latitude grid");
    file.check(nc_put_var_double(ncid, ids.longitude, lon.data()), "writing the longitude grid");
  }
}

}  // namespace

void write_ai4arctic_netcdf(const Scene& scene, const std::filesystem::path& path) {
  scene.check_consistent();
  const std::string where = "cannot write '" + path.string() + "'";
  require(scene.find_band("hh_db") && scene.find_band("hv_db"),
          where + ": the AI4Arctic schema needs bands hh_db and hv_db; the scene has " +
              join(scene.band_names(), ", "));
  const std::vector<PreparedVariable> prepared = prepare_sar_variables(scene, where);
  check_secondary_grids(scene, where);

  AtomicOutput output(path);
  std::lock_guard<std::mutex> lock(netcdf_mutex());
  int ncid = -1;
  const int status = nc_create(output.temp_path().c_str(), NC_NETCDF4 | NC_CLOBBER, &ncid);
  if (status != NC_NOERR) throw UserError(where + ": " + nc_strerror(status));
  NcFile file(ncid, path);
  const Dimensions dims = define_dimensions(file, scene);
  const VariableIds ids = define_variables(file, scene, prepared, dims);
  write_global_attributes(file, scene);
  file.check(nc_enddef(ncid), "finishing the header");
  write_variable_data(file, scene, prepared, ids);
  file.close();
  output.commit();
}

void write_autoice_submission(const std::filesystem::path& path, const std::string& scene_name,
                              const std::map<std::string, LabelRaster>& charts) {
  require(!charts.empty(), "no charts for the AutoICE submission '" + path.string() + "'");
  const LabelRaster& first = charts.begin()->second;
  for (const auto& [chart, raster] : charts)
    require(raster.height == first.height && raster.width == first.width,
            "AutoICE submission '" + path.string() + "': chart " + chart + " differs in size");
  AtomicOutput output(path);
  std::lock_guard<std::mutex> lock(netcdf_mutex());
  int ncid = -1;
  const int status = nc_create(output.temp_path().c_str(), NC_NETCDF4 | NC_CLOBBER, &ncid);
  if (status != NC_NOERR)
    throw UserError("cannot write the AutoICE submission '" + path.string() +
                    "': " + nc_strerror(status));
  NcFile file(ncid, path);
  int dims[2];
  file.check(nc_def_dim(ncid, kLinesDim, static_cast<size_t>(first.height), &dims[0]),
             "defining dimensions");
  file.check(nc_def_dim(ncid, kSamplesDim, static_cast<size_t>(first.width), &dims[1]),
             "defining dimensions");
  std::vector<int> variables;
  for (const auto& [chart, raster] : charts) {
    const std::string name = scene_name + "_" + chart;
    const int varid = define_var(file, name, NC_UBYTE, dims, true);
    const unsigned char fill = kLabelFill;
    file.check(nc_def_var_fill(ncid, varid, 0, &fill), "fill value of '" + name + "'");
    variables.push_back(varid);
  }
  file.check(nc_enddef(ncid), "finishing the header");
  size_t i = 0;
  for (const auto& [chart, raster] : charts)
    file.check(nc_put_var_uchar(ncid, variables[i++], raster.data.data()), "writing " + chart);
  file.close();
  output.commit();
}

namespace {

// A SAR-grid variable read by hyperslab; the file stays open (under the library lock).
class NetcdfWindowReader : public RasterWindowReader {
 public:
  NetcdfWindowReader(const std::filesystem::path& path, const std::string& variable)
      : file_(open(path), path) {
    std::lock_guard<std::mutex> lock(netcdf_mutex());
    file_.check(nc_inq_varid(file_.id(), variable.c_str(), &varid_),
                "finding variable '" + variable + "'");
    int dims[2] = {-1, -1};
    int rank = 0;
    file_.check(nc_inq_varndims(file_.id(), varid_, &rank), "reading '" + variable + "'");
    require(rank == 2, "netCDF file '" + path.string() + "': '" + variable + "' is not 2-D");
    file_.check(nc_inq_vardimid(file_.id(), varid_, dims), "reading '" + variable + "'");
    size_t lines = 0, samples = 0;
    file_.check(nc_inq_dimlen(file_.id(), dims[0], &lines), "reading dimensions");
    file_.check(nc_inq_dimlen(file_.id(), dims[1], &samples), "reading dimensions");
    height_ = static_cast<int64_t>(lines);
    width_ = static_cast<int64_t>(samples);
  }
  int64_t height() const override { return height_; }
  int64_t width() const override { return width_; }
  void read(float* dst, int64_t row, int64_t col, int64_t h, int64_t w) override {
    const size_t start[2] = {static_cast<size_t>(row), static_cast<size_t>(col)};
    const size_t count[2] = {static_cast<size_t>(h), static_cast<size_t>(w)};
    std::lock_guard<std::mutex> lock(netcdf_mutex());
    file_.check(nc_get_vara_float(file_.id(), varid_, start, count, dst), "reading a window");
  }

 private:
  static int open(const std::filesystem::path& path) {
    std::lock_guard<std::mutex> lock(netcdf_mutex());
    int ncid = -1;
    const auto open_file = [&](int* id) { return nc_open(path.c_str(), NC_NOWRITE, id); };
    int status = detail::check_netcdf_in_child(open_file, path.string(), size_or_zero(path));
    if (status == NC_NOERR) status = open_file(&ncid);
    if (status != NC_NOERR)
      throw UserError("cannot open '" + path.string() + "': " + nc_strerror(status));
    return ncid;
  }
  NcFile file_;
  int varid_ = -1;
  int64_t height_ = 0, width_ = 0;
};

}  // namespace

std::unique_ptr<RasterWindowReader> open_netcdf_window_reader(const std::filesystem::path& path,
                                                              const std::string& raster) {
  return std::make_unique<NetcdfWindowReader>(path, raster);
}

#endif

}  // namespace sarseg::io
