#include "sarseg/io/scene_io.h"

#include "sarseg/io/derived_bands.h"
#include "sarseg/io/geotiff.h"
#include "sarseg/io/netcdf.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"

namespace sarseg::io {
namespace {

std::optional<SceneFormat> format_of(const std::filesystem::path& path) {
  const std::string ext = to_lower(path.extension().string());
  if (ext == ".nc" || ext == ".nc4") return SceneFormat::kNetcdf;
  if (ext == ".tif" || ext == ".tiff") return SceneFormat::kGeoTiff;
  return std::nullopt;
}

SceneFormat require_format(const std::filesystem::path& path, const char* verb) {
  const auto format = format_of(path);
  require(format.has_value(), std::string("cannot ") + verb + " scene '" + path.string() +
                                  "': unknown extension '" + path.extension().string() +
                                  "'; use .nc (AI4Arctic netCDF) or .tif (GeoTIFF)");
  return *format;
}

}  // namespace

namespace {

Scene read_scene_as_stored(const std::filesystem::path& path, const SceneReadOptions& options) {
  require(std::filesystem::exists(path), "scene file '" + path.string() + "' does not exist");
  if (s1::is_product_path(path)) {
    Scene scene = s1::import_product(path, options.product);
    if (!options.season.empty()) scene.season = parse_season(options.season);
    return scene;
  }
  require(!std::filesystem::is_directory(path),
          "scene file '" + path.string() + "' is a directory; give a .nc or .tif file");
  if (require_format(path, "read") == SceneFormat::kNetcdf) {
    return read_ai4arctic_netcdf(path, options);
  }
  return read_geotiff_scene(path, options);
}

}  // namespace

Scene read_scene(const std::filesystem::path& path, const SceneReadOptions& options) {
  Scene scene = read_scene_as_stored(path, options);
  add_derived_bands(scene, options.derived_bands);
  return scene;
}

void write_scene(const Scene& scene, const std::filesystem::path& path) {
  if (require_format(path, "write") == SceneFormat::kNetcdf) {
    write_ai4arctic_netcdf(scene, path);
  } else {
    write_geotiff_scene(scene, path);
  }
}

bool is_scene_file(const std::filesystem::path& path) {
  const auto format = format_of(path);
  if (!format) return false;
  if (*format == SceneFormat::kNetcdf) return netcdf_supported();
  // Label rasters beside a stack are not scenes of their own.
  if (ends_with(to_lower(path.stem().string()), "_labels")) return false;
  return geotiff_supported();
}

}  // namespace sarseg::io
