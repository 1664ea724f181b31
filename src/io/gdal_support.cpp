#include "gdal_support.h"

#if SARSEG_HAVE_GDAL
#include <mutex>

#include "sarseg/util/error.h"

namespace sarseg::io::gdal {

void ensure_registered() {
  static std::once_flag once;
  std::call_once(once, [] { GDALAllRegister(); });
}

ErrorCapture::ErrorCapture() {
  CPLPushErrorHandler(CPLQuietErrorHandler);
  CPLErrorReset();
}

ErrorCapture::~ErrorCapture() {
  CPLPopErrorHandler();
}

std::string ErrorCapture::last(const std::string& fallback) const {
  const char* message = CPLGetLastErrorMsg();
  std::string text = (message && *message) ? message : fallback;
  const auto newline = text.find('\n');
  if (newline != std::string::npos) text.resize(newline);
  return text;
}

std::unique_ptr<OGRSpatialReference> make_srs(const std::string& wkt, const std::string& where) {
  if (wkt.empty()) return nullptr;
  auto srs = std::make_unique<OGRSpatialReference>();
  if (srs->SetFromUserInput(wkt.c_str()) != OGRERR_NONE) {
    throw UserError(where + ": the coordinate reference system is not understood by GDAL");
  }
  srs->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  return srs;
}

std::unique_ptr<OGRCoordinateTransformation> make_transform(const OGRSpatialReference& from,
                                                            const OGRSpatialReference& to,
                                                            const std::string& where) {
  if (from.IsSame(&to)) return nullptr;
  ErrorCapture errors;
  std::unique_ptr<OGRCoordinateTransformation> transform(
      OGRCreateCoordinateTransformation(&from, &to));
  if (!transform) {
    throw UserError(where + ": cannot transform between the two coordinate systems (" +
                    errors.last() + ")");
  }
  return transform;
}

}  // namespace sarseg::io::gdal
#endif
