// Ice charts: SIGRID-3 egg codes -> AI4Arctic SIC / SOD / FLOE classes, and rasterising chart
// polygons (any OGR vector format) onto a scene's grid.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "sarseg/io/scene.h"

namespace sarseg::io {

inline constexpr int kEggEmpty = -9;  // SIGRID-3 "not filled" (also used for null / blank)

// The egg-code fields of one chart polygon as integers (kEggEmpty when empty).
struct EggCode {
  std::string poly_type = "I";  // I ice, W water, L land, N no data, S ice shelf
  int ct = kEggEmpty;
  int ca = kEggEmpty, sa = kEggEmpty, fa = kEggEmpty;
  int cb = kEggEmpty, sb = kEggEmpty, fb = kEggEmpty;
  int cc = kEggEmpty, sc = kEggEmpty, fc = kEggEmpty;
};

struct ChartClasses {
  uint8_t sic = kLabelFill;
  uint8_t sod = kLabelFill;
  uint8_t floe = kLabelFill;
};

// Parses one SIGRID-3 field ("92", "08", "-9", "" ...) to an integer; empty and non-numeric
// text give kEggEmpty.
int parse_egg_field(std::string_view text);

// Class lookups of the AI4Arctic conversion (255 = not a class).
uint8_t sic_class_of_code(int concentration_code);  // 0,1,2,55->0; 10..90->1..9; 91,92->10
uint8_t sod_class_of_code(
    int stage_code);  // 0,80->0; 81,82->1; 83-85->2; 87-89->3; 86,91,93->4; 95-97->5
uint8_t floe_class_of_code(int form_code);  // 0->0; 2->1; 3->2; 4->3; 5->4; 6,7->5; 9,10->6

// The AI4Arctic rules (docs/formats.md): water polygons 0; land, no-data and ice-shelf polygons
// 255; SIC from CT; CA empty with CT > 0 takes CT; partial concentrations whose stage (form) maps
// to the same class are summed and the dominant class is kept when it holds >= 65 % of CT, else
// 255; any fast-ice form (8) masks FLOE; where SIC is 0, SOD and FLOE are 0.
ChartClasses egg_code_to_classes(const EggCode& code);
inline constexpr double kDominantShare = 0.65;

struct ChartRasterizeOptions {
  std::string layer;  // "" = the only (or first polygon) layer
};

// Rasterises the chart onto `like`'s grid (its geotransform and CRS; polygons are reprojected
// to the scene CRS). Returns SIC, SOD and FLOE; pixels outside every polygon are 255.
// UserError for charts without egg-code fields, empty layers, or a scene without a grid.
std::map<std::string, LabelRaster> rasterize_chart(const std::filesystem::path& chart_path,
                                                   const Scene& like,
                                                   const ChartRasterizeOptions& options = {});

}  // namespace sarseg::io
