// Test helpers for georeferenced data (GDAL underneath): CRS WKT and polar-stereographic grids.
// Library sarseg_test_geo_support (links sarseg_io and, when built with it, GDAL).
#pragma once

#include <string>

#include "sarseg/io/scene.h"

namespace sarseg::testing {

// The WKT of EPSG `code`, e.g. epsg_wkt(3413); "" in a build without GDAL (no CRS is written).
std::string epsg_wkt(int code);

// A north-up grid in EPSG:3413 (NSIDC sea-ice polar stereographic north): top-left corner at
// (x0, y0) metres, square pixels of `spacing` metres.
io::GeoReference polar_stereographic_grid(double x0, double y0, double spacing);

}  // namespace sarseg::testing
