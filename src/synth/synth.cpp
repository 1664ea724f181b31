// The scene simulator. Stages (each with its own random stream, so changing one does not
// reshuffle the others): geometry and time, land, chart polygons with egg codes, pixel truth
// (floes, leads, ridges, ponds), noise-free backscatter, residual noise, speckle, labels.
#include "sarseg/synth/synth.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "sarseg/synth/aux_grids.h"
#include "sarseg/synth/fields.h"
#include "sarseg/synth/random.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"

namespace sarseg::synth {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kLn10Over10 = 0.23025850929940458;  // ln(10) / 10
constexpr uint8_t kNoForm = 255;  // floe code of new ice / nilas: no floe size (masked)
constexpr int kMaxLevels = 12;    // floe cascade levels: cell spacing 3 * 2^j pixels
constexpr double kBaseFloeCellPx = 3.0;
constexpr int kCascadeDepth = 3;      // levels per polygon (top and two finer)
constexpr float kLevelWeight = 0.8f;  // score weight of each finer level

float db_to_linear(double db) {
  return static_cast<float>(std::exp(db * kLn10Over10));
}

// ---------------------------------------------------------------------------------------------
// Season tables: how often each chart polygon kind, ice type and floe size occurs. Shares follow
// the AI4Arctic per-season class histograms (docs/synth.md, "Chart polygons").
struct SeasonTable {
  double water_polygon_probability;
  std::array<double, 6> type_weights;  // SOD 1..5
  std::array<double, 6> floe_weights;  // FLOE 1..5 (cake .. vast)
  double ct10_probability;             // 10/10 among ice polygons
  double ct9_probability;              // 9/10
  uint8_t stray_ice_type;              // ice type of the odd floes inside water polygons
  double leads_factor;
  double lead_refrozen_probability;
  std::array<int, 5> months;  // candidate months (0 = unused)
};

const SeasonTable& season_table(io::Season season) {
  static const SeasonTable kFreezeUp{0.55,
                                     {0, 0.08, 0.35, 0.07, 0.05, 0.45},
                                     {0, 0.0, 0.10, 0.20, 0.25, 0.45},
                                     0.40,
                                     0.15,
                                     1,
                                     0.5,
                                     0.5,
                                     {9, 10, 11, 0, 0}};
  static const SeasonTable kWinter{0.30,
                                   {0, 0.03, 0.12, 0.14, 0.43, 0.28},
                                   {0, 0.0, 0.05, 0.10, 0.15, 0.70},
                                   0.60,
                                   0.15,
                                   1,
                                   1.0,
                                   0.75,
                                   {12, 1, 2, 3, 4}};
  static const SeasonTable kMelt{0.45,
                                 {0, 0.0, 0.0, 0.05, 0.60, 0.35},
                                 {0, 0.0, 0.10, 0.20, 0.20, 0.50},
                                 0.30,
                                 0.15,
                                 4,
                                 0.5,
                                 0.0,
                                 {5, 6, 7, 8, 0}};
  switch (season) {
    case io::Season::kFreezeUp:
      return kFreezeUp;
    case io::Season::kMelt:
      return kMelt;
    default:
      return kWinter;
  }
}

// Floe size class (AI4Arctic FLOE 1..5) of a floe with this diameter.
uint8_t floe_class_for_km(double diameter_km) {
  if (diameter_km < 0.02) return 1;  // cake
  if (diameter_km < 0.1) return 2;   // small floe
  if (diameter_km < 0.5) return 3;   // medium floe
  if (diameter_km < 2.0) return 4;   // big floe
  return 5;                          // vast / giant
}

// Diameter range (km) of a floe class, used to draw a polygon's top floe size.
std::pair<double, double> floe_range_km(uint8_t floe_class) {
  switch (floe_class) {
    case 1:
      return {0.005, 0.02};
    case 2:
      return {0.02, 0.1};
    case 3:
      return {0.1, 0.5};
    case 4:
      return {0.5, 2.0};
    default:
      return {2.0, 10.0};
  }
}

// ---------------------------------------------------------------------------------------------
struct Partial {
  int tenths = 0;
  uint8_t sod = 0;
  uint8_t floe = 0;  // FLOE class 1..5 or kNoForm
};

struct ChartPolygon {
  double x = 0, y = 0;  // seed (pixels)
  bool water = false;   // POLY_TYPE W
  int ct_tenths = 0;
  std::vector<Partial> partials;
  double true_concentration = 0;
  int top_level = 0;
  double pond_fraction = 0;
  float ice_threshold = 0;  // floe score above which a pixel is ice
  uint8_t chart_sic = 0, chart_sod = 0, chart_floe = 0;
};

// AI4Arctic dominance rule: the class holding >= 65 % of CT, else 255.
uint8_t dominant_class(const std::vector<Partial>& partials, int ct, bool use_floe) {
  std::array<int, 256> sums{};
  for (const auto& p : partials)
    sums[use_floe ? p.floe : p.sod] += p.tenths;
  int best = 0;
  for (int c = 1; c < 256; ++c)
    if (sums[c] > sums[best]) best = c;
  if (ct <= 0 || sums[best] < 0.65 * ct) return io::kLabelFill;
  return static_cast<uint8_t>(best);
}

int level_for_spacing(double spacing_px) {
  const int level =
      static_cast<int>(std::lround(std::log2(std::max(1.0, spacing_px / kBaseFloeCellPx))));
  return std::clamp(level, 0, kMaxLevels - 1);
}

ChartPolygon draw_polygon(const SeasonTable& table, double px_km, Rng& rng) {
  ChartPolygon poly;
  poly.water = rng.uniform() < table.water_polygon_probability;
  poly.pond_fraction = 0;
  if (poly.water) {
    poly.ct_tenths = 0;
    // "Open water" charts allow < 1/10 ice: a few stray floes of the season's marginal type.
    poly.true_concentration = rng.uniform(0.0, 0.03);
    poly.partials.push_back({1, table.stray_ice_type, 2});
    poly.top_level = rng.uniform() < 0.5 ? 0 : 1;
    poly.chart_sic = poly.chart_sod = poly.chart_floe = 0;
    return poly;
  }
  const double u = rng.uniform();
  if (u < table.ct10_probability) {
    poly.ct_tenths = 10;
  } else if (u < table.ct10_probability + table.ct9_probability) {
    poly.ct_tenths = 9;
  } else {
    poly.ct_tenths = static_cast<int>(rng.uniform_int(1, 8));
  }
  const double count_weights[3] = {0.35, 0.40, 0.25};
  const int wanted = 1 + rng.choose(count_weights, 3);
  const int count = std::min(wanted, poly.ct_tenths);
  // Distinct ice types, drawn by the season's shares.
  std::array<double, 6> type_weights = table.type_weights;
  std::vector<double> shares;
  double share_sum = 0;
  for (int i = 0; i < count; ++i) {
    const int sod = 1 + rng.choose(type_weights.data() + 1, 5);
    type_weights[static_cast<size_t>(sod)] = 0;
    Partial partial;
    partial.sod = static_cast<uint8_t>(sod);
    partial.floe =
        sod == 1 ? kNoForm : static_cast<uint8_t>(1 + rng.choose(table.floe_weights.data() + 1, 5));
    poly.partials.push_back(partial);
    shares.push_back(0.2 + rng.uniform());
    share_sum += shares.back();
    bool any_left = false;
    for (int t = 1; t <= 5; ++t)
      any_left = any_left || type_weights[static_cast<size_t>(t)] > 0;
    if (!any_left) break;
  }
  // Partial concentrations: integer tenths >= 1 summing to CT, largest first (CA, CB, CC).
  int assigned = 0;
  for (size_t i = 0; i < poly.partials.size(); ++i) {
    poly.partials[i].tenths =
        std::max(1, static_cast<int>(std::floor(poly.ct_tenths * shares[i] / share_sum)));
    assigned += poly.partials[i].tenths;
  }
  std::sort(poly.partials.begin(), poly.partials.end(),
            [](const Partial& a, const Partial& b) { return a.tenths > b.tenths; });
  poly.partials.front().tenths += poly.ct_tenths - assigned;
  while (poly.partials.front().tenths < 1) {  // rounding took too much: drop the smallest
    poly.partials.front().tenths += poly.partials.back().tenths;
    poly.partials.pop_back();
  }

  poly.chart_sic = static_cast<uint8_t>(poly.ct_tenths);
  poly.chart_sod = dominant_class(poly.partials, poly.ct_tenths, false);
  poly.chart_floe = dominant_class(poly.partials, poly.ct_tenths, true);

  // The analyst's CT is an estimate: the true concentration scatters around it.
  if (poly.ct_tenths == 10) {
    poly.true_concentration = 1.0 - std::abs(rng.normal(0.0, 0.02));
  } else {
    poly.true_concentration = std::clamp(poly.ct_tenths / 10.0 + rng.normal(0.0, 0.04), 0.03, 1.0);
  }
  // Top floe size from the largest partial that has a floe form (new ice: sheets of nilas).
  uint8_t top_class = 5;
  for (const auto& p : poly.partials) {
    if (p.floe != kNoForm) {
      top_class = p.floe;
      break;
    }
  }
  const auto [low_km, high_km] = floe_range_km(top_class);
  const double diameter_km = std::exp(rng.uniform(std::log(low_km), std::log(high_km)));
  poly.top_level = level_for_spacing(diameter_km / px_km);
  return poly;
}

// ---------------------------------------------------------------------------------------------
// Nearest polygon seed for every pixel after a domain warp (warped Voronoi regions).
io::Raster<uint16_t> assign_polygons(const std::vector<ChartPolygon>& polygons, int64_t h,
                                     int64_t w, const io::FloatRaster& warp_x,
                                     const io::FloatRaster& warp_y, double warp_scale_px,
                                     const io::FloatRaster* fine_x, const io::FloatRaster* fine_y,
                                     double fine_scale_px, double shift_x, double shift_y) {
  io::Raster<uint16_t> index(h, w, 0);
  const size_t n = polygons.size();
  for (int64_t r = 0; r < h; ++r) {
    for (int64_t c = 0; c < w; ++c) {
      const size_t i = static_cast<size_t>(r * w + c);
      double x = c + 0.5 + warp_scale_px * warp_x.data[i] + shift_x;
      double y = r + 0.5 + warp_scale_px * warp_y.data[i] + shift_y;
      if (fine_x != nullptr) {
        x += fine_scale_px * fine_x->data[i];
        y += fine_scale_px * fine_y->data[i];
      }
      double best = std::numeric_limits<double>::max();
      uint16_t best_index = 0;
      for (size_t p = 0; p < n; ++p) {
        const double dx = x - polygons[p].x, dy = y - polygons[p].y;
        const double d = dx * dx + dy * dy;
        if (d < best) {
          best = d;
          best_index = static_cast<uint16_t>(p);
        }
      }
      index.data[i] = best_index;
    }
  }
  return index;
}

struct FloeCells {
  std::vector<float> score;    // -1 on land
  std::vector<uint64_t> cell;  // hash of the winning floe cell
  std::vector<uint8_t> level;  // cascade level of the winning cell
};

// Floe cascade: for every pixel, the best weighted Worley score over its polygon's levels and
// the hash of the winning floe cell. Score = 1 - d1/d2 (1 at a floe centre, 0 on a crack).
FloeCells floe_cascade(const std::vector<ChartPolygon>& polygons, const io::Raster<uint16_t>& truth,
                       const io::LabelRaster& land, uint64_t seed) {
  const int64_t h = truth.height, w = truth.width;
  FloeCells floes;
  std::vector<float>& best_score = floes.score;
  std::vector<uint64_t>& best_cell = floes.cell;
  std::vector<uint8_t>& best_level = floes.level;
  best_score.assign(static_cast<size_t>(h * w), -1.0f);
  best_cell.assign(static_cast<size_t>(h * w), 0);
  best_level.assign(static_cast<size_t>(h * w), 0);
  std::array<bool, kMaxLevels> needed{};
  for (const auto& p : polygons)
    for (int k = 0; k < kCascadeDepth; ++k)
      if (p.top_level - k >= 0) needed[static_cast<size_t>(p.top_level - k)] = true;

  float level_weight[kCascadeDepth];
  for (int k = 0; k < kCascadeDepth; ++k)
    level_weight[k] = static_cast<float>(std::pow(kLevelWeight, k));
  struct Seed {
    float x, y, inv_weight_sq;
    uint64_t hash;
  };
  for (int level = 0; level < kMaxLevels; ++level) {
    if (!needed[static_cast<size_t>(level)]) continue;
    const double spacing = kBaseFloeCellPx * std::pow(2.0, level);
    const uint64_t level_seed = mix64(seed + static_cast<uint64_t>(level) * 0x9e37ULL);
    const int64_t cells_x = static_cast<int64_t>(std::floor(w / spacing)) + 3;
    std::vector<Seed> seeds(static_cast<size_t>(3 * cells_x));
    int64_t cached_row = std::numeric_limits<int64_t>::min();
    for (int64_t r = 0; r < h; ++r) {
      const double y = r + 0.5;
      const int64_t cy = static_cast<int64_t>(std::floor(y / spacing));
      if (cy != cached_row) {
        cached_row = cy;
        for (int64_t dy = -1; dy <= 1; ++dy) {
          for (int64_t cx = -1; cx < cells_x - 1; ++cx) {
            const uint64_t hash = hash_cell(level_seed, cx, cy + dy);
            const double jx = unit_from_hash(hash);
            const double jy = unit_from_hash(mix64(hash ^ 0x51ULL));
            // Per-floe size factor (multiplicatively weighted Voronoi): wider size spread.
            const double weight = 0.6 + 0.8 * unit_from_hash(mix64(hash ^ 0xa7ULL));
            seeds[static_cast<size_t>((dy + 1) * cells_x + cx + 1)] = {
                static_cast<float>((cx + jx) * spacing),
                static_cast<float>((cy + dy + jy) * spacing),
                static_cast<float>(1.0 / (weight * weight)), hash};
          }
        }
      }
      for (int64_t c = 0; c < w; ++c) {
        const size_t i = static_cast<size_t>(r * w + c);
        if (land.data[i]) continue;
        const int offset = polygons[truth.data[i]].top_level - level;
        if (offset < 0 || offset >= kCascadeDepth) continue;
        const float x = static_cast<float>(c + 0.5);
        const int64_t cx = static_cast<int64_t>(std::floor(x / spacing));
        float d1 = std::numeric_limits<float>::max(), d2 = d1;
        uint64_t hash1 = 0;
        for (int64_t dy = 0; dy < 3; ++dy) {
          for (int64_t dx = -1; dx <= 1; ++dx) {
            const int64_t column = cx + dx + 1;
            if (column < 0 || column >= cells_x) continue;
            const Seed& s = seeds[static_cast<size_t>(dy * cells_x + column)];
            const float ex = x - s.x, ey = static_cast<float>(y) - s.y;
            const float d = (ex * ex + ey * ey) * s.inv_weight_sq;
            if (d < d1) {
              d2 = d1;
              d1 = d;
              hash1 = s.hash;
            } else if (d < d2) {
              d2 = d;
            }
          }
        }
        const float score = (1.0f - std::sqrt(d1 / std::max(d2, 1e-12f))) * level_weight[offset];
        if (score > best_score[i]) {
          best_score[i] = score;
          best_cell[i] = hash1;
          best_level[i] = static_cast<uint8_t>(level);
        }
      }
    }
  }
  return floes;
}

// Stamps leads (long narrow openings, open or refrozen) into `lead` (1 open, 2 refrozen).
void draw_leads(io::LabelRaster& lead, int count, double px_km, double refrozen_probability,
                Rng& rng) {
  const int64_t h = lead.height, w = lead.width;
  for (int n = 0; n < count; ++n) {
    double x = rng.uniform(0, static_cast<double>(w));
    double y = rng.uniform(0, static_cast<double>(h));
    double direction = rng.uniform(0, 2 * kPi);
    const double length_px = rng.uniform(5.0, 30.0) / px_km;
    const double width_px = std::max(1.0, rng.uniform(0.08, 0.4) / px_km);
    const uint8_t kind = rng.uniform() < refrozen_probability ? 2 : 1;
    const double radius = width_px / 2.0;
    const int reach = static_cast<int>(std::ceil(radius));
    for (double travelled = 0; travelled < length_px; travelled += 0.5) {
      direction += rng.normal(0.0, 0.03);
      x += 0.5 * std::cos(direction);
      y += 0.5 * std::sin(direction);
      const int64_t cx = static_cast<int64_t>(std::floor(x)),
                    cy = static_cast<int64_t>(std::floor(y));
      for (int64_t r = cy - reach; r <= cy + reach; ++r) {
        if (r < 0 || r >= h) continue;
        for (int64_t c = cx - reach; c <= cx + reach; ++c) {
          if (c < 0 || c >= w) continue;
          const double dx = c + 0.5 - x, dy = r + 0.5 - y;
          if (dx * dx + dy * dy <= radius * radius + 0.25) lead.at(r, c) = kind;
        }
      }
    }
  }
}

// AI4Arctic distance-to-land zone of a distance in km (0 is land).
float distance_zone(double km) {
  static const double kEdges[] = {0.5, 1, 2, 4, 8, 16, 32, 64, 128};
  int zone = 1;
  for (double edge : kEdges) {
    if (km <= edge) return static_cast<float>(zone);
    ++zone;
  }
  return 10.0f;
}

// Fraction of the surface covered by ice at each pixel, averaged over a window (for SIC error).
std::vector<float> local_mean(const std::vector<float>& values, int64_t h, int64_t w, int radius) {
  std::vector<float> out = values;
  box_blur(out, h, w, radius, 1);
  return out;
}

// Inverse EPSG:3413 projection (polar stereographic north, true scale at 70 N, lon0 -45, WGS 84;
// Snyder 1987, eqs. 21-33 and 7-9). Returns {latitude, longitude} in degrees.
std::pair<double, double> polar_stereographic_to_geographic(double x, double y) {
  const double a = 6378137.0, e = 0.0818191908426215;
  const double phi_c = 70.0 * kPi / 180.0, lambda_0 = -45.0 * kPi / 180.0;
  const double sin_c = std::sin(phi_c);
  const double t_c =
      std::tan(kPi / 4 - phi_c / 2) / std::pow((1 - e * sin_c) / (1 + e * sin_c), e / 2);
  const double m_c = std::cos(phi_c) / std::sqrt(1 - e * e * sin_c * sin_c);
  const double rho = std::hypot(x, y);
  const double t = rho * t_c / (a * m_c);
  const double chi = kPi / 2 - 2 * std::atan(t);
  const double e2 = e * e, e4 = e2 * e2, e6 = e4 * e2, e8 = e4 * e4;
  const double phi = chi + (e2 / 2 + 5 * e4 / 24 + e6 / 12 + 13 * e8 / 360) * std::sin(2 * chi) +
                     (7 * e4 / 48 + 29 * e6 / 240 + 811 * e8 / 11520) * std::sin(4 * chi) +
                     (7 * e6 / 120 + 81 * e8 / 1120) * std::sin(6 * chi) +
                     (4279 * e8 / 161280) * std::sin(8 * chi);
  double lambda = lambda_0 + std::atan2(x, -y);
  if (lambda > kPi) lambda -= 2 * kPi;
  if (lambda < -kPi) lambda += 2 * kPi;
  return {phi * 180.0 / kPi, lambda * 180.0 / kPi};
}

std::string two_digits(int v) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "%02d", v);
  return buffer;
}

// ---------------------------------------------------------------------------------------------
// The stages of generate_scene, in the order it runs them. Each stage that draws does so from
// its own named random stream, so changing one stage does not reshuffle the others.

// Scene size and the km -> pixel conversion every stage needs.
struct SceneGrid {
  int64_t h = 0, w = 0;
  size_t n = 0;                                                      // pixels
  double px_km = 0;                                                  // pixel spacing (km)
  double km(double kilometres) const { return kilometres / px_km; }  // km -> pixels
  double area_km2() const { return h * w * px_km * px_km; }
};

SceneGrid scene_grid(const SynthSpec& spec) {
  SceneGrid grid;
  grid.h = spec.height;
  grid.w = spec.width;
  grid.n = static_cast<size_t>(grid.h * grid.w);
  grid.px_km = spec.pixel_spacing_m / 1000.0;
  return grid;
}

// Acquisition date and time in one of the season's months: the scene id and its ISO 8601 time.
void draw_acquisition_time(const SeasonTable& table, Rng& rng, io::Scene& scene) {
  std::vector<int> months;
  for (int m : table.months)
    if (m != 0) months.push_back(m);
  const int month =
      months[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(months.size()) - 1))];
  const int year = static_cast<int>(rng.uniform_int(2018, 2021));
  const int day = static_cast<int>(rng.uniform_int(1, 28));
  const int hour = static_cast<int>(rng.uniform_int(0, 23));
  const int minute = static_cast<int>(rng.uniform_int(0, 59));
  const int second = static_cast<int>(rng.uniform_int(0, 59));
  const std::string date = std::to_string(year) + two_digits(month) + two_digits(day);
  const std::string time = two_digits(hour) + two_digits(minute) + two_digits(second);
  scene.id = date + "T" + time + "_synth";
  scene.acquisition_time = std::to_string(year) + "-" + two_digits(month) + "-" + two_digits(day) +
                           "T" + two_digits(hour) + ":" + two_digits(minute) + ":" +
                           two_digits(second) + "Z";
}

// Geolocation subgrid (like AI4Arctic's sar_grid2d_*): points evenly spaced from the first to
// the last pixel centre in both directions.
void add_geolocation_subgrid(const io::GeoReference& geo, io::Scene& scene) {
  const int64_t h = scene.height, w = scene.width;
  const int64_t rows = std::min<int64_t>(21, h), cols = std::min<int64_t>(21, w);
  scene.latitude_grid = io::FloatRaster(rows, cols);
  scene.longitude_grid = io::FloatRaster(rows, cols);
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      const double pixel_row = 0.5 + static_cast<double>(i) * (h - 1) / (rows - 1);
      const double pixel_col = 0.5 + static_cast<double>(j) * (w - 1) / (cols - 1);
      const double x = geo.transform[0] + pixel_col * geo.transform[1];
      const double y = geo.transform[3] + pixel_row * geo.transform[5];
      const auto [lat, lon] = polar_stereographic_to_geographic(x, y);
      scene.latitude_grid.at(i, j) = static_cast<float>(lat);
      scene.longitude_grid.at(i, j) = static_cast<float>(lon);
    }
  }
}

// Somewhere in the Arctic seas on the EPSG:3413 plane (distance from the pole 500-2500 km).
void place_on_polar_grid(const SynthSpec& spec, Rng& rng, io::Scene& scene) {
  const int64_t h = scene.height, w = scene.width;
  const double angle = rng.uniform(0, 2 * kPi);
  const double radius_m = rng.uniform(500e3, 2500e3);
  const double cx = radius_m * std::cos(angle), cy = radius_m * std::sin(angle);
  io::GeoReference geo;
  geo.transform = {cx - 0.5 * w * spec.pixel_spacing_m,
                   spec.pixel_spacing_m,
                   0.0,
                   cy + 0.5 * h * spec.pixel_spacing_m,
                   0.0,
                   -spec.pixel_spacing_m};
  geo.crs_wkt = polar_stereographic_north_wkt();
  scene.geo = geo;
  add_geolocation_subgrid(geo, scene);
}

// Incidence angle and residual noise floor per column (EW swath, flat-earth geometry).
struct SwathGeometry {
  bool near_range_left = true;  // ascending / descending pass
  std::vector<double> incidence_deg;
  std::vector<double> noise_hh_db, noise_hv_db;
};

SwathGeometry swath_geometry(const SynthSpec& spec, const SceneGrid& grid) {
  const SynthPhysics& phys = spec.physics;
  const int64_t w = grid.w;
  SwathGeometry swath;
  swath.incidence_deg.resize(static_cast<size_t>(w));
  swath.noise_hv_db.resize(static_cast<size_t>(w));
  swath.noise_hh_db.resize(static_cast<size_t>(w));
  Rng rng(spec.seed, "geometry");
  swath.near_range_left = rng.uniform() < 0.5;
  const double tan_near = std::tan(spec.incidence_near_deg * kPi / 180.0);
  const double tan_far = std::tan(spec.incidence_far_deg * kPi / 180.0);
  const double swath_km = phys.swath_width_km;
  const double height_km = swath_km / (tan_far - tan_near);  // flat-earth effective height
  const double scene_km = w * grid.px_km;
  const double start_km =
      spec.full_swath ? 0.0 : rng.uniform(0.0, std::max(0.0, swath_km - scene_km));
  const int sub_swaths = static_cast<int>(phys.sub_swath_offset_db.size());
  std::vector<double> offsets(phys.sub_swath_offset_db.begin(), phys.sub_swath_offset_db.end());
  for (auto& o : offsets)
    o += rng.normal(0.0, phys.sub_swath_jitter_db);
  const double sub_width = swath_km / sub_swaths;
  for (int64_t c = 0; c < w; ++c) {
    const size_t column = static_cast<size_t>(c);
    const double along = swath.near_range_left ? (c + 0.5) : (w - c - 0.5);
    const double ground_km = spec.full_swath ? along / w * swath_km : start_km + along * grid.px_km;
    swath.incidence_deg[column] = std::atan(tan_near + ground_km / height_km) * 180.0 / kPi;
    const int sub = std::clamp(static_cast<int>(ground_km / sub_width), 0, sub_swaths - 1);
    const double u = (ground_km - sub * sub_width) / sub_width - 0.5;  // -0.5 .. 0.5
    const double bump = phys.scalloping_db * 4.0 * u * u;
    swath.noise_hv_db[column] = phys.hv_noise_floor_db + offsets[static_cast<size_t>(sub)] + bump;
    swath.noise_hh_db[column] = phys.hh_noise_floor_db + offsets[static_cast<size_t>(sub)] + bump;
  }
  return swath;
}

// Land mask (1 land): a tilted ramp plus noise at three scales, thresholded at the drawn land
// fraction; no land at all in a scene that draws none.
io::LabelRaster draw_land(const SynthSpec& spec, const SceneGrid& grid) {
  const int64_t h = grid.h, w = grid.w;
  const size_t n = grid.n;
  io::LabelRaster land(h, w, 0);
  Rng rng(spec.seed, "land");
  if (!(rng.uniform() < spec.land_probability)) return land;
  const double fraction = rng.uniform(spec.land_fraction_min, spec.land_fraction_max);
  auto coarse = gaussian_field(h, w, grid.km(20.0), rng);
  const auto medium = gaussian_field(h, w, grid.km(5.0), rng);
  const auto fine = gaussian_field(h, w, grid.km(1.2), rng);
  const double angle = rng.uniform(0, 2 * kPi);
  const double ax = std::cos(angle), ay = std::sin(angle);
  const double norm = 1.0 / std::max<double>(std::max(h, w), 1) * 3.4;  // ramp ~unit std
  std::vector<float> score(n);
  for (int64_t r = 0; r < h; ++r) {
    for (int64_t c = 0; c < w; ++c) {
      const size_t i = static_cast<size_t>(r * w + c);
      const double ramp = ((c - 0.5 * w) * ax + (r - 0.5 * h) * ay) * norm;
      score[i] = static_cast<float>(1.5 * ramp + 0.8 * coarse.data[i] + 0.4 * medium.data[i] +
                                    0.2 * fine.data[i]);
    }
  }
  std::vector<float> sorted = score;
  const size_t k = std::min(n - 1, static_cast<size_t>((1.0 - fraction) * static_cast<double>(n)));
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(k), sorted.end());
  const float threshold = sorted[k];
  for (size_t i = 0; i < n; ++i)
    land.data[i] = score[i] > threshold ? 1 : 0;
  return land;
}

// The AI4Arctic distance_map band: 0 on land, zones 1..10 by distance to the coast.
io::FloatRaster distance_zone_map(const io::LabelRaster& land, const SceneGrid& grid) {
  io::FloatRaster zones(grid.h, grid.w, 10.0f);
  const bool has_land =
      std::any_of(land.data.begin(), land.data.end(), [](uint8_t v) { return v; });
  if (!has_land) return zones;
  const auto distance = distance_to_mask(land);
  for (size_t i = 0; i < grid.n; ++i)
    zones.data[i] = land.data[i] ? 0.0f : distance_zone(distance.data[i] * grid.px_km);
  return zones;
}

// Chart polygons with their egg codes and seeds, about one per chart_polygon_size_km squared.
std::vector<ChartPolygon> draw_chart_polygons(const SynthSpec& spec, const SeasonTable& table,
                                              const SceneGrid& grid) {
  const SynthPhysics& phys = spec.physics;
  const bool melt = spec.season == io::Season::kMelt;
  Rng rng(spec.seed, "chart");
  const int count = std::clamp(
      static_cast<int>(
          std::lround(grid.area_km2() / (spec.chart_polygon_size_km * spec.chart_polygon_size_km))),
      3, 400);
  std::vector<ChartPolygon> polygons;
  for (int p = 0; p < count; ++p) {
    ChartPolygon poly = draw_polygon(table, grid.px_km, rng);
    poly.x = rng.uniform(0, static_cast<double>(grid.w));
    poly.y = rng.uniform(0, static_cast<double>(grid.h));
    poly.pond_fraction = melt ? rng.uniform(phys.pond_fraction_min, phys.pond_fraction_max) : 0.0;
    polygons.push_back(poly);
  }
  return polygons;
}

// Polygon index per pixel, as charted and as it truly is.
struct PolygonMaps {
  io::Raster<uint16_t> chart, truth;
};

// Chart boundaries: warped Voronoi; truth: the same plus fine-scale wiggles and a drift offset
// (the chart is drawn from other data at another time, generalised).
PolygonMaps assign_chart_and_truth_polygons(const std::vector<ChartPolygon>& polygons,
                                            const SynthSpec& spec, const SceneGrid& grid) {
  const int64_t h = grid.h, w = grid.w;
  Rng warp_rng(spec.seed, "warp");
  const double size_px = grid.km(spec.chart_polygon_size_km);
  const auto warp_x = gaussian_field(h, w, size_px / 3.0, warp_rng);
  const auto warp_y = gaussian_field(h, w, size_px / 3.0, warp_rng);
  const auto fine_x = gaussian_field(h, w, grid.km(1.5), warp_rng);
  const auto fine_y = gaussian_field(h, w, grid.km(1.5), warp_rng);
  const double drift = warp_rng.uniform(0.0, grid.km(spec.chart_displacement_km));
  const double drift_angle = warp_rng.uniform(0, 2 * kPi);
  PolygonMaps maps;
  maps.chart = assign_polygons(polygons, h, w, warp_x, warp_y, 0.25 * size_px, nullptr, nullptr,
                               0.0, 0.0, 0.0);
  maps.truth =
      assign_polygons(polygons, h, w, warp_x, warp_y, 0.25 * size_px, &fine_x, &fine_y,
                      grid.km(0.6), drift * std::cos(drift_angle), drift * std::sin(drift_angle));
  return maps;
}

// Per polygon, the floe score above which a pixel is ice, so that the share of ice pixels is the
// polygon's true concentration.
void set_ice_thresholds(std::vector<ChartPolygon>& polygons,
                        const io::Raster<uint16_t>& truth_index, const io::LabelRaster& land,
                        const FloeCells& floes) {
  const std::vector<float>& floe_score = floes.score;
  std::vector<std::vector<float>> per_polygon(polygons.size());
  for (size_t i = 0; i < floe_score.size(); ++i)
    if (!land.data[i]) per_polygon[truth_index.data[i]].push_back(floe_score[i]);
  for (size_t p = 0; p < polygons.size(); ++p) {
    auto& scores = per_polygon[p];
    auto& poly = polygons[p];
    if (scores.empty()) continue;
    if (poly.true_concentration >= 1.0) {
      poly.ice_threshold = -std::numeric_limits<float>::max();
      continue;
    }
    const size_t k = std::min(scores.size() - 1,
                              static_cast<size_t>((1.0 - poly.true_concentration) * scores.size()));
    std::nth_element(scores.begin(), scores.begin() + static_cast<std::ptrdiff_t>(k), scores.end());
    poly.ice_threshold = scores[k];
    if (poly.true_concentration <= 0.0) poly.ice_threshold = std::numeric_limits<float>::max();
  }
}

// The true surface per pixel.
struct SurfaceTruth {
  io::LabelRaster sod;                // 0 water, 1..5 ice type (SOD), 255 land
  io::LabelRaster floe;               // FLOE class; 255 on land and for ice without a floe form
  std::vector<float> floe_offset_db;  // floe-to-floe backscatter offset (0 on water)
  io::LabelRaster lead;               // 1 open lead, 2 refrozen lead, 0 none
};

// Ice or water, ice type and floe class per pixel: a floe is ice when its score clears its
// polygon's threshold, and takes the type of a partial concentration drawn by its cell hash.
SurfaceTruth classify_surface(const std::vector<ChartPolygon>& polygons,
                              const io::Raster<uint16_t>& truth_index, const io::LabelRaster& land,
                              const FloeCells& floes, const SceneGrid& grid,
                              const SynthPhysics& phys) {
  SurfaceTruth surface;
  surface.sod = io::LabelRaster(grid.h, grid.w, 0);
  surface.floe = io::LabelRaster(grid.h, grid.w, 0);
  surface.floe_offset_db.assign(grid.n, 0.0f);
  for (size_t i = 0; i < grid.n; ++i) {
    if (land.data[i]) {
      surface.sod.data[i] = surface.floe.data[i] = io::kLabelFill;
      continue;
    }
    const ChartPolygon& poly = polygons[truth_index.data[i]];
    if (floes.score[i] < poly.ice_threshold) continue;  // water between floes
    const uint64_t cell = floes.cell[i];
    double pick = unit_from_hash(mix64(cell ^ 0x1ULL)) * poly.ct_tenths;
    const Partial* chosen = &poly.partials.front();
    if (!poly.water) {
      for (const auto& partial : poly.partials) {
        chosen = &partial;
        if (pick < partial.tenths) break;
        pick -= partial.tenths;
      }
    }
    surface.sod.data[i] = chosen->sod;
    const double spacing_km = std::ldexp(kBaseFloeCellPx, floes.level[i]) * grid.px_km;
    surface.floe.data[i] =
        chosen->floe == kNoForm ? io::kLabelFill : floe_class_for_km(0.8 * spacing_km);
    // Roughly normal floe-to-floe offset (sum of three uniforms, unit variance).
    const double s = unit_from_hash(mix64(cell ^ 0x2ULL)) + unit_from_hash(mix64(cell ^ 0x3ULL)) +
                     unit_from_hash(mix64(cell ^ 0x4ULL)) - 1.5;
    surface.floe_offset_db[i] = static_cast<float>(2.0 * s * phys.floe_offset_db);
  }
  return surface;
}

// Leads (in compact ice only: true concentration >= 0.6) become open water or new ice.
void cut_leads(const SynthSpec& spec, const SeasonTable& table, const SceneGrid& grid,
               const std::vector<ChartPolygon>& polygons, const io::Raster<uint16_t>& truth_index,
               const io::LabelRaster& land, SurfaceTruth& surface) {
  io::LabelRaster& lead = surface.lead;
  lead = io::LabelRaster(grid.h, grid.w, 0);
  Rng rng(spec.seed, "leads");
  const double expected = spec.leads_per_1000km2 * grid.area_km2() / 1000.0 * table.leads_factor;
  int count = static_cast<int>(std::floor(expected));
  if (rng.uniform() < expected - count) ++count;
  draw_leads(lead, count, grid.px_km, table.lead_refrozen_probability, rng);
  for (size_t i = 0; i < grid.n; ++i) {
    if (!lead.data[i] || land.data[i] || polygons[truth_index.data[i]].true_concentration < 0.6) {
      lead.data[i] = 0;
      continue;
    }
    surface.sod.data[i] = lead.data[i] == 2 ? 1 : 0;
    surface.floe.data[i] = lead.data[i] == 2 ? io::kLabelFill : 0;
    surface.floe_offset_db[i] = 0;
  }
}

// Spatially correlated fields (unit variance) that modulate the backscatter.
struct TextureFields {
  io::FloatRaster ice;     // ice texture, three scales
  io::FloatRaster hv_ice;  // the part of the HV ice texture not shared with HH
  io::FloatRaster water;
  io::FloatRaster land;
  io::FloatRaster deformation;  // where ridges are
  io::FloatRaster ridge_lines;
  io::FloatRaster wind;
  io::FloatRaster ponds;  // melt only
};

TextureFields draw_texture_fields(const SceneGrid& grid, bool melt, uint64_t seed) {
  const int64_t h = grid.h, w = grid.w;
  Rng field_rng(seed, "fields");
  TextureFields fields;
  fields.ice = gaussian_field(h, w, grid.km(0.25), field_rng);
  {
    const auto mid = gaussian_field(h, w, grid.km(1.0), field_rng);
    const auto large = gaussian_field(h, w, grid.km(4.0), field_rng);
    for (size_t i = 0; i < grid.n; ++i)
      fields.ice.data[i] = 0.45f * fields.ice.data[i] + 0.7f * mid.data[i] + 0.55f * large.data[i];
  }
  fields.hv_ice = gaussian_field(h, w, grid.km(1.0), field_rng);
  fields.water = gaussian_field(h, w, grid.km(1.5), field_rng);
  fields.land = gaussian_field(h, w, grid.km(0.6), field_rng);
  fields.deformation = gaussian_field(h, w, grid.km(6.0), field_rng);
  fields.ridge_lines = gaussian_field(h, w, grid.km(0.4), field_rng);
  fields.wind = gaussian_field(h, w, grid.km(25.0), field_rng);
  if (melt) {
    fields.ponds = gaussian_field(h, w, grid.km(0.2), field_rng);
    const auto pond_large = gaussian_field(h, w, grid.km(1.0), field_rng);
    for (size_t i = 0; i < grid.n; ++i)
      fields.ponds.data[i] = 0.8f * fields.ponds.data[i] + 0.6f * pond_large.data[i];
  }
  return fields;
}

// Per-scene conditions: the wind speed and an offset of all ice backscatter.
struct SceneWeather {
  double wind_ms = 0;
  double ice_offset_db = 0;
};

SceneWeather draw_scene_weather(const SynthSpec& spec) {
  const SynthPhysics& phys = spec.physics;
  Rng rng(spec.seed, "wind");
  SceneWeather weather;
  weather.wind_ms = spec.wind_speed_ms;
  const double drawn = std::clamp(rng.normal(phys.wind_mean_ms, phys.wind_stddev_ms), 1.5, 20.0);
  if (weather.wind_ms < 0) weather.wind_ms = drawn;
  weather.ice_offset_db = rng.normal(0.0, phys.scene_ice_offset_db);
  return weather;
}

// Per polygon, the pond field level above which the ice is covered by ponds.
std::vector<float> pond_thresholds(const std::vector<ChartPolygon>& polygons) {
  std::vector<float> thresholds(polygons.size(), 0.0f);
  for (size_t p = 0; p < polygons.size(); ++p)
    thresholds[p] = static_cast<float>(inverse_normal_cdf(1.0 - polygons[p].pond_fraction));
  return thresholds;
}

struct SigmaDb {
  double hh = 0, hv = 0;
};

// Open water, wind-roughened (wind in m/s, incidence theta in degrees).
SigmaDb open_water_db(const SynthPhysics& phys, double theta, double wind) {
  const double u = std::max(wind, 0.5) / 7.0;
  const double slope = phys.water_hh_slope_at_7ms + phys.water_slope_per_octave * std::log2(u);
  SigmaDb sigma;
  sigma.hh = phys.water_hh_db_at_7ms + phys.water_wind_exponent_db * std::log10(u) +
             slope * (theta - phys.reference_incidence_deg);
  sigma.hv = phys.water_hv_per_ms * std::max(wind, 0.5) + phys.water_hv_offset_db;
  return sigma;
}

SigmaDb land_db(const SynthPhysics& phys, bool melt, double dtheta, float texture) {
  const Signature& s = phys.land;
  const double change = melt ? phys.land_melt_change_db : 0.0;
  return {s.hh_db + s.hh_slope * dtheta + s.texture_db * texture + change,
          s.hv_db + s.hv_slope * dtheta + s.texture_db * texture + change};
}

// Ice of type `surface` (SOD 1..5) with its texture, ridges and floe / scene offset.
SigmaDb ice_db(const SynthPhysics& phys, uint8_t surface, bool melt, double dtheta,
               const TextureFields& fields, size_t i, double offset) {
  const Signature& s = phys.dry_ice[surface];
  const double ridge = s.ridging * smoothstep(-0.3f, 1.2f, fields.deformation.data[i]) *
                       std::exp(-fields.ridge_lines.data[i] * fields.ridge_lines.data[i] / 0.09);
  const double tex = s.texture_db * fields.ice.data[i];
  const double tex_hv = s.texture_db * (0.7 * fields.ice.data[i] + 0.7 * fields.hv_ice.data[i]);
  SigmaDb sigma;
  sigma.hh = s.hh_db + s.hh_slope * dtheta + tex + offset + phys.ridge_gain_hh_db * ridge;
  sigma.hv = s.hv_db + s.hv_slope * dtheta + tex_hv + offset + phys.ridge_gain_hv_db * ridge;
  if (melt) {
    sigma.hh += phys.melt_hh_change_db[surface];
    sigma.hv += phys.melt_hv_change_db[surface];
  }
  return sigma;
}

// Linear sigma0 before speckle; wind_ms is the local wind over water when asked for.
struct Backscatter {
  io::FloatRaster hh_sigma0, hv_sigma0;
  io::FloatRaster wind_ms;
};

// Noise-free backscatter (linear) of every pixel from its true surface: land, wind-roughened
// water, or ice with texture and ridges, and in melt a sub-pixel mixture with pond water.
Backscatter noise_free_backscatter(const SynthSpec& spec, const SceneGrid& grid,
                                   const SwathGeometry& swath, const io::LabelRaster& land,
                                   const std::vector<ChartPolygon>& polygons,
                                   const io::Raster<uint16_t>& truth_index,
                                   const SurfaceTruth& truth, const TextureFields& fields,
                                   const SceneWeather& weather, bool keep_wind) {
  const SynthPhysics& phys = spec.physics;
  const bool melt = spec.season == io::Season::kMelt;
  const int64_t h = grid.h, w = grid.w;
  const std::vector<float> pond_threshold = melt ? pond_thresholds(polygons) : std::vector<float>{};
  Backscatter out;
  out.hh_sigma0 = io::FloatRaster(h, w);
  out.hv_sigma0 = io::FloatRaster(h, w);
  if (keep_wind) out.wind_ms = io::FloatRaster(h, w, 0.0f);
  for (int64_t r = 0; r < h; ++r) {
    for (int64_t c = 0; c < w; ++c) {
      const size_t i = static_cast<size_t>(r * w + c);
      const double theta = swath.incidence_deg[static_cast<size_t>(c)];
      const double dtheta = theta - phys.reference_incidence_deg;
      const uint8_t surface = truth.sod.data[i];
      const ChartPolygon& poly = polygons[truth_index.data[i]];
      SigmaDb sigma;
      if (land.data[i]) {
        sigma = land_db(phys, melt, dtheta, fields.land.data[i]);
      } else if (surface == 0) {
        double wind = weather.wind_ms * (1.0 + phys.wind_spatial_fraction * fields.wind.data[i]);
        wind *= truth.lead.data[i] ? phys.lead_wind_fraction
                                   : 1.0 - phys.ice_shelter * poly.true_concentration;
        sigma = open_water_db(phys, theta, wind);
        sigma.hh += phys.water_texture_db * fields.water.data[i];
        sigma.hv += 0.5 * phys.water_texture_db * fields.water.data[i];
        if (keep_wind) out.wind_ms.data[i] = static_cast<float>(wind);
      } else {
        sigma = ice_db(phys, surface, melt, dtheta, fields, i,
                       truth.floe_offset_db[i] + weather.ice_offset_db);
      }
      float hh = db_to_linear(sigma.hh), hv = db_to_linear(sigma.hv);
      if (melt && surface >= 1 && surface <= 5 && !land.data[i]) {
        // Melt ponds: sub-pixel mixture of ice and (sheltered, wind-roughened) pond water.
        const float t = pond_threshold[truth_index.data[i]];
        const float cover = smoothstep(t - 0.4f, t + 0.4f, fields.ponds.data[i]);
        if (cover > 0) {
          const double wind =
              0.5 * weather.wind_ms * (1.0 + phys.wind_spatial_fraction * fields.wind.data[i]);
          const SigmaDb pond = open_water_db(phys, theta, wind);
          hh = (1 - cover) * hh + cover * db_to_linear(pond.hh);
          hv = (1 - cover) * hv + cover * db_to_linear(pond.hv);
        }
      }
      out.hh_sigma0.data[i] = hh;
      out.hv_sigma0.data[i] = hv;
    }
  }
  return out;
}

// Residual thermal noise after denoising, per column (sub-swath banding).
void add_residual_noise(const SwathGeometry& swath, Backscatter& backscatter) {
  const int64_t h = backscatter.hh_sigma0.height, w = backscatter.hh_sigma0.width;
  for (int64_t r = 0; r < h; ++r) {
    for (int64_t c = 0; c < w; ++c) {
      const size_t i = static_cast<size_t>(r * w + c);
      backscatter.hh_sigma0.data[i] += db_to_linear(swath.noise_hh_db[static_cast<size_t>(c)]);
      backscatter.hv_sigma0.data[i] += db_to_linear(swath.noise_hv_db[static_cast<size_t>(c)]);
    }
  }
}

// Speckle (gamma, mean 1, shape = looks) on linear sigma0, then dB.
io::FloatRaster speckled_db(const io::FloatRaster& sigma0, double looks, Rng& rng) {
  const double inv_looks = 1.0 / looks;
  io::FloatRaster db(sigma0.height, sigma0.width);
  for (size_t i = 0; i < sigma0.data.size(); ++i) {
    const double intensity = sigma0.data[i] * rng.gamma(looks) * inv_looks;
    db.data[i] = static_cast<float>(10.0 * std::log10(std::max(intensity, 1e-7)));
  }
  return db;
}

io::FloatRaster incidence_band(const SwathGeometry& swath, const SceneGrid& grid) {
  io::FloatRaster band(grid.h, grid.w);
  for (int64_t r = 0; r < grid.h; ++r)
    for (int64_t c = 0; c < grid.w; ++c)
      band.at(r, c) = static_cast<float>(swath.incidence_deg[static_cast<size_t>(c)]);
  return band;
}

// SIC, SOD and FLOE labels of one kind (chart or pixel truth).
struct LabelSet {
  io::LabelRaster sic, sod, floe;
};

// The charts: every pixel takes its chart polygon's egg-code labels (land masked).
LabelSet chart_labels(const std::vector<ChartPolygon>& polygons,
                      const io::Raster<uint16_t>& chart_index, const io::LabelRaster& land) {
  const int64_t h = land.height, w = land.width;
  LabelSet chart{io::LabelRaster(h, w), io::LabelRaster(h, w), io::LabelRaster(h, w)};
  for (size_t i = 0; i < land.data.size(); ++i) {
    if (land.data[i]) {
      chart.sic.data[i] = chart.sod.data[i] = chart.floe.data[i] = io::kLabelFill;
      continue;
    }
    const ChartPolygon& poly = polygons[chart_index.data[i]];
    chart.sic.data[i] = poly.chart_sic;
    chart.sod.data[i] = poly.chart_sod;
    chart.floe.data[i] = poly.chart_floe;
  }
  return chart;
}

// Pixel truth: 10/10 on ice, 0 on water (land masked).
LabelSet pixel_labels(SurfaceTruth&& surface, const io::LabelRaster& land) {
  io::LabelRaster sic(land.height, land.width);
  for (size_t i = 0; i < land.data.size(); ++i)
    sic.data[i] = land.data[i] ? io::kLabelFill : surface.sod.data[i] == 0 ? 0 : 10;
  return {std::move(sic), std::move(surface.sod), std::move(surface.floe)};
}

// The label mode's set as SIC/SOD/FLOE, the other beside it with a _pixel or _chart suffix.
void attach_labels(LabelMode mode, LabelSet&& chart, LabelSet&& pixel, io::Scene& scene) {
  const bool chart_mode = mode == LabelMode::kChart;
  const std::string other = chart_mode ? "_pixel" : "_chart";
  LabelSet& primary = chart_mode ? chart : pixel;
  LabelSet& secondary = chart_mode ? pixel : chart;
  scene.labels["SIC"] = std::move(primary.sic);
  scene.labels["SOD"] = std::move(primary.sod);
  scene.labels["FLOE"] = std::move(primary.floe);
  scene.labels["SIC" + other] = std::move(secondary.sic);
  scene.labels["SOD" + other] = std::move(secondary.sod);
  scene.labels["FLOE" + other] = std::move(secondary.floe);
}

void record_synth_attributes(const SynthSpec& spec, double scene_wind_ms, size_t polygon_count,
                             bool near_range_left, io::Scene& scene) {
  scene.attributes["synth_seed"] = std::to_string(spec.seed);
  scene.attributes["synth_looks"] = std::to_string(spec.looks);
  scene.attributes["synth_label_mode"] = to_string(spec.label_mode);
  scene.attributes["synth_wind_speed_ms"] = std::to_string(scene_wind_ms);
  scene.attributes["synth_chart_polygons"] = std::to_string(polygon_count);
  scene.attributes["flip"] = near_range_left ? "0" : "1";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
std::string to_string(LabelMode mode) {
  return mode == LabelMode::kPixel ? "pixel" : "chart";
}

LabelMode parse_label_mode(std::string_view text) {
  const std::string s = to_lower(text);
  if (s == "chart") return LabelMode::kChart;
  if (s == "pixel") return LabelMode::kPixel;
  throw UserError("label mode '" + std::string(text) + "' is not known; use chart or pixel");
}

void validate(const SynthSpec& spec) {
  const auto bad = [](const std::string& what) { throw UserError("synth: " + what); };
  if (spec.height < 16 || spec.width < 16 || spec.height > 20000 || spec.width > 20000) {
    bad("size " + std::to_string(spec.height) + "x" + std::to_string(spec.width) +
        " is out of range; use 16..20000 pixels per side");
  }
  if (!(spec.pixel_spacing_m >= 1.0 && spec.pixel_spacing_m <= 10000.0)) {
    bad("pixel spacing " + std::to_string(spec.pixel_spacing_m) +
        " m is out of range; use 1..10000");
  }
  if (!(spec.looks >= 0.5 && spec.looks <= 1000.0)) {
    bad("looks " + std::to_string(spec.looks) + " is out of range; use 0.5..1000");
  }
  if (spec.season == io::Season::kUnknown) bad("season is unknown; use freeze-up, winter or melt");
  if (!(spec.incidence_near_deg > 0 && spec.incidence_far_deg > spec.incidence_near_deg &&
        spec.incidence_far_deg < 80)) {
    bad("incidence range must satisfy 0 < near < far < 80 degrees");
  }
  if (!(spec.chart_polygon_size_km > 0)) bad("chart polygon size must be positive");
  if (!(spec.land_fraction_min >= 0 && spec.land_fraction_max <= 0.9 &&
        spec.land_fraction_min <= spec.land_fraction_max)) {
    bad("land fraction range must satisfy 0 <= min <= max <= 0.9");
  }
  if (!(spec.wind_speed_ms < 0 || spec.wind_speed_ms <= 40)) bad("wind speed must be <= 40 m/s");
}

SynthSpec batch_member(const SynthSpec& spec, int index) {
  SynthSpec member = spec;
  member.seed = spec.seed + static_cast<uint64_t>(index);
  return member;
}

std::string scene_file_name(const io::Scene& scene, std::string_view extension,
                            std::string_view prefix) {
  std::string ext(extension);
  if (!ext.empty() && ext.front() != '.') ext = "." + ext;
  return std::string(prefix) + scene.id + "_prep" + ext;
}

const std::string& polar_stereographic_north_wkt() {
  static const std::string kWkt =
      "PROJCS[\"WGS 84 / NSIDC Sea Ice Polar Stereographic North\",GEOGCS[\"WGS 84\","
      "DATUM[\"WGS_1984\",SPHEROID[\"WGS 84\",6378137,298.257223563,AUTHORITY[\"EPSG\",\"7030\"]],"
      "AUTHORITY[\"EPSG\",\"6326\"]],PRIMEM[\"Greenwich\",0,AUTHORITY[\"EPSG\",\"8901\"]],"
      "UNIT[\"degree\",0.0174532925199433,AUTHORITY[\"EPSG\",\"9122\"]],"
      "AUTHORITY[\"EPSG\",\"4326\"]],PROJECTION[\"Polar_Stereographic\"],"
      "PARAMETER[\"latitude_of_origin\",70],PARAMETER[\"central_meridian\",-45],"
      "PARAMETER[\"false_easting\",0],PARAMETER[\"false_northing\",0],"
      "UNIT[\"metre\",1,AUTHORITY[\"EPSG\",\"9001\"]],AXIS[\"Easting\",SOUTH],"
      "AXIS[\"Northing\",SOUTH],AUTHORITY[\"EPSG\",\"3413\"]]";
  return kWkt;
}

io::Scene generate_scene(const SynthSpec& spec, SynthTruth* truth) {
  validate(spec);
  const SeasonTable& table = season_table(spec.season);
  const bool melt = spec.season == io::Season::kMelt;
  const SceneGrid grid = scene_grid(spec);

  io::Scene scene;
  scene.height = grid.h;
  scene.width = grid.w;
  scene.pixel_spacing_m = spec.pixel_spacing_m;
  scene.season = spec.season;
  scene.ice_service = "synthetic";
  {
    Rng rng(spec.seed, "time");
    draw_acquisition_time(table, rng, scene);
    place_on_polar_grid(spec, rng, scene);
  }
  const SwathGeometry swath = swath_geometry(spec, grid);
  const io::LabelRaster land = draw_land(spec, grid);

  // Chart polygons and the pixel truth inside them: floes, leads.
  std::vector<ChartPolygon> polygons = draw_chart_polygons(spec, table, grid);
  const PolygonMaps polygon_maps = assign_chart_and_truth_polygons(polygons, spec, grid);
  const FloeCells floes =
      floe_cascade(polygons, polygon_maps.truth, land, derive_seed(spec.seed, "floes"));
  set_ice_thresholds(polygons, polygon_maps.truth, land, floes);
  SurfaceTruth surface =
      classify_surface(polygons, polygon_maps.truth, land, floes, grid, spec.physics);
  cut_leads(spec, table, grid, polygons, polygon_maps.truth, land, surface);

  // Backscatter, residual noise, speckle.
  const TextureFields fields = draw_texture_fields(grid, melt, spec.seed);
  const SceneWeather weather = draw_scene_weather(spec);
  Backscatter backscatter =
      noise_free_backscatter(spec, grid, swath, land, polygons, polygon_maps.truth, surface, fields,
                             weather, truth != nullptr);
  add_residual_noise(swath, backscatter);
  Rng rng_hh(spec.seed, "speckle_hh"), rng_hv(spec.seed, "speckle_hv");
  scene.bands.push_back({"hh_db", "dB", speckled_db(backscatter.hh_sigma0, spec.looks, rng_hh)});
  scene.bands.push_back({"hv_db", "dB", speckled_db(backscatter.hv_sigma0, spec.looks, rng_hv)});
  scene.bands.push_back({"incidence_deg", "deg", incidence_band(swath, grid)});
  scene.bands.push_back({"distance_map", "zone", distance_zone_map(land, grid)});

  attach_labels(spec.label_mode, chart_labels(polygons, polygon_maps.chart, land),
                pixel_labels(std::move(surface), land), scene);
  scene.valid = io::Raster<uint8_t>(grid.h, grid.w, 1);
  record_synth_attributes(spec, weather.wind_ms, polygons.size(), swath.near_range_left, scene);
  const auto sic = scene.labels.find("SIC");
  scene.aux = make_aux_grids(land, sic == scene.labels.end() ? io::LabelRaster{} : sic->second,
                             spec.pixel_spacing_m, weather.wind_ms, spec.seed);

  if (truth != nullptr) {
    truth->hh_sigma0 = std::move(backscatter.hh_sigma0);
    truth->hv_sigma0 = std::move(backscatter.hv_sigma0);
    truth->wind_speed_ms = std::move(backscatter.wind_ms);
    truth->scene_wind_ms = weather.wind_ms;
  }
  scene.check_consistent();
  return scene;
}

// ---------------------------------------------------------------------------------------------
LabelAgreement measure_label_agreement(const io::Scene& scene) {
  const auto find = [&](const std::string& name) -> const io::LabelRaster* {
    const auto it = scene.labels.find(name);
    return it == scene.labels.end() ? nullptr : &it->second;
  };
  const io::LabelRaster* sod_chart = find("SOD_chart");
  const io::LabelRaster* sod_pixel = find("SOD");
  const io::LabelRaster* sic_chart = find("SIC_chart");
  const io::LabelRaster* sic_pixel = find("SIC");
  if (find("SOD_pixel") != nullptr) {
    sod_chart = find("SOD");
    sod_pixel = find("SOD_pixel");
    sic_chart = find("SIC");
    sic_pixel = find("SIC_pixel");
  }
  const bool has_truth = find("SOD_pixel") != nullptr || find("SOD_chart") != nullptr;
  require(has_truth && sod_chart && sod_pixel && sic_chart && sic_pixel,
          "scene '" + scene.id +
              "' has no pixel-truth labels (SOD_pixel/SIC_pixel or SOD_chart/SIC_chart); only "
              "synthetic scenes carry both");
  const int64_t h = scene.height, w = scene.width;
  const size_t n = static_cast<size_t>(h * w);
  LabelAgreement result;
  int64_t known = 0, sod_diff = 0, masked = 0, ice_water_diff = 0, sic_count = 0;
  double sic_error = 0;
  std::vector<float> ice(n, 0.0f), sea(n, 0.0f);
  for (size_t i = 0; i < n; ++i) {
    if (sic_pixel->data[i] == io::kLabelFill) continue;
    sea[i] = 1.0f;
    ice[i] = sic_pixel->data[i] == 10 ? 1.0f : 0.0f;
  }
  const double px_km = scene.pixel_spacing_m / 1000.0;
  const int radius = std::max(1, static_cast<int>(std::lround(2.5 / px_km)));
  const auto ice_mean = local_mean(ice, h, w, radius);
  const auto sea_mean = local_mean(sea, h, w, radius);
  for (size_t i = 0; i < n; ++i) {
    if (sic_pixel->data[i] == io::kLabelFill) continue;
    ++result.pixels;
    if (sod_chart->data[i] == io::kLabelFill) {
      ++masked;
    } else {
      ++known;
      if (sod_chart->data[i] != sod_pixel->data[i]) ++sod_diff;
    }
    if (sic_chart->data[i] != io::kLabelFill) {
      const bool chart_water = sic_chart->data[i] == 0;
      const bool pixel_ice = sic_pixel->data[i] == 10;
      if (chart_water == pixel_ice) ++ice_water_diff;
      const double local = sea_mean[i] > 0 ? 10.0 * ice_mean[i] / sea_mean[i] : 0.0;
      sic_error += std::abs(local - sic_chart->data[i]);
      ++sic_count;
    }
  }
  if (result.pixels > 0) {
    result.sod_chart_masked = static_cast<double>(masked) / result.pixels;
    result.sod_disagreement = known > 0 ? static_cast<double>(sod_diff) / known : 0.0;
  }
  if (sic_count > 0) {
    result.ice_water_disagreement = static_cast<double>(ice_water_diff) / sic_count;
    result.sic_mean_abs_error = sic_error / sic_count;
  }
  return result;
}

}  // namespace sarseg::synth
