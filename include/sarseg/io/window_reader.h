// Windows of one raster read straight from a scene file, without reading the rest of it: netCDF
// hyperslabs (nc_get_vara_float, the chunks the window touches are decompressed) and GDAL
// RasterIO windows. `sarseg bench windows` measures them against the scene store
// (docs/formats.md, "Scene store": why training reads the store).
//
//   auto reader = io::open_window_reader("scene.nc", "nersc_sar_primary");
//   reader->read(buffer.data(), 100, 200, 256, 256);
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace sarseg::io {

class RasterWindowReader {
 public:
  virtual ~RasterWindowReader() = default;
  virtual int64_t height() const = 0;
  virtual int64_t width() const = 0;
  // h x w floats at (row, col), values as stored (netCDF: z-scores and fill values).
  virtual void read(float* dst, int64_t row, int64_t col, int64_t h, int64_t w) = 0;
};

// `raster`: a netCDF variable on the SAR grid (e.g. nersc_sar_primary), or a GeoTIFF band's
// description or 1-based index. UserError naming the file and the raster.
std::unique_ptr<RasterWindowReader> open_netcdf_window_reader(const std::filesystem::path& path,
                                                              const std::string& raster);
std::unique_ptr<RasterWindowReader> open_geotiff_window_reader(const std::filesystem::path& path,
                                                               const std::string& raster);
// By extension (.nc, .tif/.tiff).
std::unique_ptr<RasterWindowReader> open_window_reader(const std::filesystem::path& path,
                                                       const std::string& raster);

}  // namespace sarseg::io
