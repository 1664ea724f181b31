// Small scenes built in memory for the io tests.
#pragma once

#include <cmath>
#include <string>

#include "sarseg/io/scene.h"

namespace sarseg::io::test {

// A height x width scene in dB/deg with SIC/SOD/FLOE labels, two invalid pixels, a 2x3 aux grid
// and a 2x2 lat/lon subgrid.
inline Scene make_scene(int64_t height = 6, int64_t width = 7) {
  Scene scene;
  scene.id = "20201102T214550_cis";
  scene.height = height;
  scene.width = width;
  scene.pixel_spacing_m = 80;
  scene.ice_service = "cis";
  scene.season = Season::kWinter;  // explicit; the date alone would say freeze-up
  scene.acquisition_time = "2020-11-02T21:45:50Z";
  scene.attributes["original_id"] = "S1B_EW_GRDM_1SDH_20201101T214550";
  Band hh{"hh_db", "dB", FloatRaster(height, width)};
  Band hv{"hv_db", "dB", FloatRaster(height, width)};
  Band ia{"incidence_deg", "deg", FloatRaster(height, width)};
  for (int64_t r = 0; r < height; ++r) {
    for (int64_t c = 0; c < width; ++c) {
      hh.pixels.at(r, c) = -20.0f + 0.37f * static_cast<float>(r * width + c);
      hv.pixels.at(r, c) = -30.0f + 0.21f * static_cast<float>(r + 2 * c);
      ia.pixels.at(r, c) = 19.0f + 28.0f * static_cast<float>(c) / static_cast<float>(width);
    }
  }
  scene.bands = {hh, hv, ia};
  scene.valid = Raster<uint8_t>(height, width, 1);
  scene.valid.at(0, 0) = 0;
  scene.valid.at(height - 1, width - 2) = 0;
  LabelRaster sic(height, width), sod(height, width), floe(height, width);
  for (size_t i = 0; i < sic.data.size(); ++i) {
    sic.data[i] = static_cast<uint8_t>(i % 11);
    sod.data[i] = i % 7 == 6 ? kLabelFill : static_cast<uint8_t>(i % 6);
    floe.data[i] = static_cast<uint8_t>(i % 7);
  }
  scene.labels = {{"SIC", sic}, {"SOD", sod}, {"FLOE", floe}};
  AuxGrid t2m{"t2m", FloatRaster(2, 3)};
  AuxGrid btemp{"btemp_18_7h", FloatRaster(2, 3)};
  for (size_t i = 0; i < 6; ++i) {
    t2m.pixels.data[i] = 0.1f * static_cast<float>(i);
    btemp.pixels.data[i] = -0.2f * static_cast<float>(i);
  }
  scene.aux = {t2m, btemp};
  scene.latitude_grid = FloatRaster(2, 2);
  scene.longitude_grid = FloatRaster(2, 2);
  scene.latitude_grid.data = {72.5f, 72.6f, 73.1f, 73.2f};
  scene.longitude_grid.data = {-60.0f, -58.5f, -60.2f, -58.7f};
  return scene;
}

}  // namespace sarseg::io::test
