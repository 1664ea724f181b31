#include "sarseg/io/window_reader.h"

#include "gdal_support.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"

namespace sarseg::io {

#if SARSEG_HAVE_GDAL
namespace {

class GdalWindowReader : public RasterWindowReader {
 public:
  GdalWindowReader(const std::filesystem::path& path, const std::string& raster) {
    gdal::ensure_registered();
    gdal::ErrorCapture errors;
    dataset_.reset(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
    require(dataset_ != nullptr,
            "cannot open '" + path.string() + "': " + errors.last("not a raster GDAL reads"));
    for (int b = 1; b <= dataset_->GetRasterCount(); ++b) {
      GDALRasterBand* band = dataset_->GetRasterBand(b);
      if (raster == std::to_string(b) || raster == band->GetDescription()) band_ = band;
    }
    require(band_ != nullptr, "'" + path.string() + "' has no band '" + raster +
                                  "' (give its description or 1-based index)");
  }
  int64_t height() const override { return dataset_->GetRasterYSize(); }
  int64_t width() const override { return dataset_->GetRasterXSize(); }
  void read(float* dst, int64_t row, int64_t col, int64_t h, int64_t w) override {
    gdal::ErrorCapture errors;
    const CPLErr status =
        band_->RasterIO(GF_Read, static_cast<int>(col), static_cast<int>(row), static_cast<int>(w),
                        static_cast<int>(h), dst, static_cast<int>(w), static_cast<int>(h),
                        GDT_Float32, 0, 0, nullptr);
    require(status == CE_None, "reading a window: " + errors.last());
  }

 private:
  gdal::DatasetPtr dataset_;
  GDALRasterBand* band_ = nullptr;
};

}  // namespace
#endif

std::unique_ptr<RasterWindowReader> open_geotiff_window_reader(const std::filesystem::path& path,
                                                               const std::string& raster) {
#if SARSEG_HAVE_GDAL
  return std::make_unique<GdalWindowReader>(path, raster);
#else
  (void)raster;
  throw UserError("cannot read '" + path.string() + "': this sarseg was built without GDAL");
#endif
}

std::unique_ptr<RasterWindowReader> open_window_reader(const std::filesystem::path& path,
                                                       const std::string& raster) {
  const std::string ext = to_lower(path.extension().string());
  if (ext == ".nc") return open_netcdf_window_reader(path, raster);
  require(ext == ".tif" || ext == ".tiff",
          "'" + path.string() + "': window reading knows .nc and .tif files");
  return open_geotiff_window_reader(path, raster);
}

}  // namespace sarseg::io
