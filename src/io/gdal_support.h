// Private helpers shared by the GDAL-based readers and writers (GeoTIFF, charts).
#pragma once

#include "sarseg/build_config.h"

#if SARSEG_HAVE_GDAL
#include <cpl_error.h>
#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include <memory>
#include <string>

namespace sarseg::io::gdal {

// Closes a dataset when the pointer goes.
struct DatasetCloser {
  void operator()(GDALDataset* ds) const {
    if (ds) GDALClose(GDALDataset::ToHandle(ds));
  }
};
using DatasetPtr = std::unique_ptr<GDALDataset, DatasetCloser>;

// Registers the drivers once.
void ensure_registered();

// Silences GDAL's stderr printing for its lifetime and remembers the last error message, so
// that failures become one-line UserErrors instead of console noise.
class ErrorCapture {
 public:
  ErrorCapture();
  ~ErrorCapture();
  ErrorCapture(const ErrorCapture&) = delete;
  ErrorCapture& operator=(const ErrorCapture&) = delete;
  // The last error GDAL reported, or `fallback`.
  std::string last(const std::string& fallback = "unknown GDAL error") const;
};

// A spatial reference from WKT (or any user input GDAL accepts), in traditional x = easting /
// longitude order; nullptr for an empty string. UserError naming `where` for text GDAL rejects.
std::unique_ptr<OGRSpatialReference> make_srs(const std::string& wkt, const std::string& where);

// Transformation between two CRSs (nullptr when both are the same). UserError naming `where`.
std::unique_ptr<OGRCoordinateTransformation> make_transform(const OGRSpatialReference& from,
                                                            const OGRSpatialReference& to,
                                                            const std::string& where);

}  // namespace sarseg::io::gdal
#endif
