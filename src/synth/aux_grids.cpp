#include "sarseg/synth/aux_grids.h"

#include <algorithm>
#include <cmath>

#include "sarseg/synth/random.h"

namespace sarseg::synth {
namespace {

// Typical AMSR2 brightness temperatures (K) over calm open water and over first-year/multi-year
// ice in winter (Spreen et al. 2008, Lu et al. 2018 orders of magnitude), and over land.
struct Channel {
  const char* name;
  double water, ice, land;
};
constexpr Channel kChannels[] = {
    {"btemp_6_9h", 85, 235, 255},   {"btemp_6_9v", 160, 250, 262},  {"btemp_7_3h", 87, 235, 255},
    {"btemp_7_3v", 161, 250, 262},  {"btemp_10_7h", 92, 234, 254},  {"btemp_10_7v", 166, 248, 261},
    {"btemp_18_7h", 110, 230, 252}, {"btemp_18_7v", 182, 245, 259}, {"btemp_23_8h", 130, 228, 251},
    {"btemp_23_8v", 195, 243, 258}, {"btemp_36_5h", 145, 222, 248}, {"btemp_36_5v", 210, 236, 255},
    {"btemp_89_0h", 190, 212, 240}, {"btemp_89_0v", 230, 222, 247},
};
constexpr const char* kWeather[] = {"u10m_rotated", "v10m_rotated", "t2m", "skt", "tcwv", "tclw"};
constexpr const char* kWeatherUnits[] = {"m/s", "m/s", "K", "K", "kg/m2", "kg/m2"};

}  // namespace

int64_t aux_cell_pixels(double pixel_spacing_m) {
  return std::max<int64_t>(1, std::llround(2000.0 / pixel_spacing_m));
}

std::vector<std::string> aux_grid_names() {
  std::vector<std::string> names;
  for (const auto& channel : kChannels)
    names.emplace_back(channel.name);
  for (const char* name : kWeather)
    names.emplace_back(name);
  return names;
}

std::vector<io::AuxGrid> make_aux_grids(const io::LabelRaster& land, const io::LabelRaster& sic,
                                        double pixel_spacing_m, double wind_ms, uint64_t seed) {
  const int64_t h = land.height, w = land.width;
  const int64_t f = aux_cell_pixels(pixel_spacing_m);
  const int64_t rows = (h + f - 1) / f, cols = (w + f - 1) / f;
  // Per cell: share of land and mean ice concentration (0..1) over charted sea pixels.
  std::vector<double> land_share(static_cast<size_t>(rows * cols), 0.0);
  std::vector<double> ice(static_cast<size_t>(rows * cols), 0.5);
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      int64_t pixels = 0, land_pixels = 0, charted = 0;
      double sic_sum = 0;
      for (int64_t r = i * f; r < std::min(h, (i + 1) * f); ++r) {
        for (int64_t c = j * f; c < std::min(w, (j + 1) * f); ++c) {
          ++pixels;
          if (land.at(r, c)) {
            ++land_pixels;
            continue;
          }
          const uint8_t v = sic.empty() ? io::kLabelFill : sic.at(r, c);
          if (v <= 10) {
            sic_sum += v / 10.0;
            ++charted;
          }
        }
      }
      const size_t k = static_cast<size_t>(i * cols + j);
      land_share[k] = static_cast<double>(land_pixels) / static_cast<double>(pixels);
      if (charted > 0) ice[k] = sic_sum / static_cast<double>(charted);
    }
  }
  std::vector<io::AuxGrid> grids;
  for (const auto& channel : kChannels) {
    io::AuxGrid grid{channel.name, io::FloatRaster(rows, cols), "K"};
    const uint64_t stream = derive_seed(seed, channel.name);
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < cols; ++j) {
        const size_t k = static_cast<size_t>(i * cols + j);
        const double sea = channel.water + (channel.ice - channel.water) * ice[k];
        const double noise = 2.0 * (unit_from_hash(hash_cell(stream, i, j)) - 0.5);
        grid.pixels.data[k] =
            static_cast<float>(land_share[k] * channel.land + (1.0 - land_share[k]) * sea + noise);
      }
    }
    grids.push_back(std::move(grid));
  }
  // ERA5: smooth fields with a gradient across the scene.
  Rng rng(seed, "era5");
  const double direction = rng.uniform(0.0, 2.0 * 3.14159265358979323846);
  const double t2m = rng.uniform(245.0, 272.0);
  const double tcwv = rng.uniform(1.5, 8.0);
  const double tclw = rng.uniform(0.0, 0.15);
  const double wind = wind_ms > 0 ? wind_ms : 7.0;
  for (size_t v = 0; v < std::size(kWeather); ++v) {
    io::AuxGrid grid{kWeather[v], io::FloatRaster(rows, cols), kWeatherUnits[v]};
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < cols; ++j) {
        const double y = rows > 1 ? static_cast<double>(i) / static_cast<double>(rows - 1) : 0.5;
        const double x = cols > 1 ? static_cast<double>(j) / static_cast<double>(cols - 1) : 0.5;
        const double along = 0.9 + 0.2 * x;  // 10 % change across the scene
        double value = 0;
        switch (v) {
          case 0:
            value = wind * std::cos(direction) * along;
            break;
          case 1:
            value = wind * std::sin(direction) * along;
            break;
          case 2:
            value = t2m + 4.0 * (y - 0.5);
            break;
          case 3:
            value = t2m - 1.5 + 5.0 * (y - 0.5);
            break;
          case 4:
            value = tcwv * along;
            break;
          default:
            value = tclw * along;
            break;
        }
        grid.pixels.at(i, j) = static_cast<float>(value);
      }
    }
    grids.push_back(std::move(grid));
  }
  return grids;
}

}  // namespace sarseg::synth
