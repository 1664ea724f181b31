// The AI4Arctic ready-to-train conventions shared by the netCDF reader/writer, normalisation and
// reports: published global statistics, variable <-> band names, fill values.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sarseg::io {

struct MeanStd {
  double mean = 0.0;
  double std = 1.0;
};

// Published global mean/std of the raw variables, keyed by netCDF variable name
// (nersc_sar_primary, sar_incidenceangle, btemp_18_7h, t2m, ...). Loaded once from
// data/ai4arctic_global_meanstd.json ($SARSEG_DATA_DIR, else the source tree's data/ folder),
// falling back to a copy compiled into the binary, so it works from any directory.
const std::map<std::string, MeanStd>& ai4arctic_global_stats();
// Where ai4arctic_global_stats() came from: a file path or "built-in copy of ...".
const std::string& ai4arctic_stats_source();

// One SAR-grid float variable of the schema and its Scene band.
struct Ai4ArcticBand {
  std::string_view variable;        // nersc_sar_primary
  std::string_view band;            // hh_db
  std::string_view physical_units;  // dB
};
// nersc_sar_primary/hh_db, nersc_sar_secondary/hv_db, sar_incidenceangle/incidence_deg,
// distance_map/distance_map, in file order.
const std::vector<Ai4ArcticBand>& ai4arctic_bands();
// The entry for a Scene band name or a variable name; nullopt when it is not in the schema.
std::optional<Ai4ArcticBand> ai4arctic_band(std::string_view band_or_variable);
// Global statistics of a Scene band (hh_db, hv_db, incidence_deg, distance_map) or variable;
// nullopt when the band has none.
std::optional<MeanStd> ai4arctic_band_stats(std::string_view band_or_variable);

inline constexpr float kAi4ArcticSarFill = 0.0f;  // SAR fill value in ready-to-train files
inline constexpr const char* kChartNames[] = {"SIC", "SOD", "FLOE"};

}  // namespace sarseg::io
