#include "support/geo_support.h"

#include "sarseg/build_config.h"

#if SARSEG_HAVE_GDAL
#include <cpl_conv.h>
#include <ogr_spatialref.h>
#endif

#include <stdexcept>

namespace sarseg::testing {

std::string epsg_wkt(int code) {
#if SARSEG_HAVE_GDAL
  OGRSpatialReference srs;
  if (srs.importFromEPSG(code) != OGRERR_NONE)
    throw std::runtime_error("GDAL does not know EPSG:" + std::to_string(code));
  char* wkt = nullptr;
  srs.exportToWkt(&wkt);
  std::string result = wkt;
  CPLFree(wkt);
  return result;
#else
  (void)code;
  return "";
#endif
}

io::GeoReference polar_stereographic_grid(double x0, double y0, double spacing) {
  io::GeoReference geo;
  geo.transform = {x0, spacing, 0.0, y0, 0.0, -spacing};
  geo.crs_wkt = epsg_wkt(3413);
  return geo;
}

}  // namespace sarseg::testing
