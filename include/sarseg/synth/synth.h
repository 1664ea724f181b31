// Synthetic Sentinel-1 EW-like sea-ice scenes with ice-chart and pixel-truth labels.
//
// generate_scene(spec) returns an io::Scene with
//   bands   hh_db, hv_db (dB), incidence_deg (deg), distance_map (AI4Arctic zones 0-10)
//   labels  SIC (0-10), SOD (0-5), FLOE (0-6) by the AI4Arctic rules, fill 255, either from the
//           chart polygons (label_mode chart, like real training data) or from pixel truth
//           (label_mode pixel); the other set is added as SIC_pixel/SOD_pixel/FLOE_pixel or
//           SIC_chart/SOD_chart/FLOE_chart, so label noise can be measured.
//   valid   1 everywhere (SAR exists over land too; land is masked in the labels, distance 0)
//   geo     EPSG:3413 polar stereographic grid with the chosen pixel spacing
// Every default and physical constant lives in SynthSpec / SynthPhysics below; docs/synth.md
// explains each value and where it comes from.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "sarseg/io/scene.h"

namespace sarseg::synth {

enum class LabelMode { kChart, kPixel };
std::string to_string(LabelMode mode);
// "chart" or "pixel"; UserError otherwise.
LabelMode parse_label_mode(std::string_view text);

// Backscatter of one surface at the reference incidence angle and its incidence-angle slope.
struct Signature {
  double hh_db = 0;       // HH sigma0 (dB) at reference_incidence_deg
  double hh_slope = 0;    // dB per degree of incidence
  double hv_db = 0;       // HV sigma0 (dB) at reference_incidence_deg
  double hv_slope = 0;    // dB per degree of incidence
  double texture_db = 0;  // standard deviation of the spatially correlated texture (dB)
  double ridging = 0;     // 0..1 propensity to carry ridges / deformation
};

// Physical constants of the backscatter and geometry model (see docs/synth.md for sources).
struct SynthPhysics {
  double reference_incidence_deg = 35.0;
  // EW swath: 5 sub-swaths (EW1..EW5) of equal ground-range width spanning ~400 km.
  double swath_width_km = 400.0;

  // Dry snow (freeze-up, winter), indexed by SOD class 1..5 (index 0 unused).
  std::array<Signature, 6> dry_ice{{
      {},
      {-21.0, -0.25, -30.0, -0.05, 1.0, 0.0},  // 1 new ice / nilas
      {-14.5, -0.22, -22.5, -0.10, 1.5, 0.4},  // 2 young ice (grey, grey-white)
      {-16.5, -0.23, -23.5, -0.10, 1.5, 0.6},  // 3 thin first-year ice
      {-15.5, -0.24, -22.5, -0.10, 1.5, 0.8},  // 4 thick first-year ice
      {-9.5, -0.12, -17.0, -0.07, 1.5, 0.8},   // 5 old (multi-year) ice
  }};
  // Wet snow (melt): change in dB added to the dry values, HH and HV, per SOD class.
  std::array<double, 6> melt_hh_change_db{{0, 0.0, -2.0, -2.0, -2.5, -6.0}};
  std::array<double, 6> melt_hv_change_db{{0, -1.0, -4.0, -4.5, -5.0, -7.0}};
  // Ridges and deformed ice: dB added at full ridge intensity.
  double ridge_gain_hh_db = 4.0;
  double ridge_gain_hv_db = 4.0;
  // Floe-to-floe variability (thickness, snow, roughness): standard deviation in dB.
  double floe_offset_db = 1.0;
  // Scene-to-scene change of all ice backscatter (snow, temperature, ice history): std in dB.
  double scene_ice_offset_db = 1.0;

  // Open water, wind-roughened: HH(theta, U) = water_hh_db_at_7ms_35deg
  //   + water_wind_exponent_db * log10(U / 7) + slope(U) * (theta - 35),
  //   slope(U) = water_hh_slope_at_7ms + water_slope_per_octave * log2(U / 7).
  double water_hh_db_at_7ms = -14.5;
  double water_wind_exponent_db = 16.0;
  double water_hh_slope_at_7ms = -0.52;
  double water_slope_per_octave = 0.10;
  // Cross-pol water (Vachon & Wolfe 2011): HV = water_hv_per_ms * U + water_hv_offset_db.
  double water_hv_per_ms = 0.58;
  double water_hv_offset_db = -35.65;
  double water_texture_db = 0.7;
  // Scene wind speed (m/s): mean and standard deviation of the per-scene draw, spatial variation.
  double wind_mean_ms = 7.0;
  double wind_stddev_ms = 2.5;
  double wind_spatial_fraction = 0.15;
  // Wind reaching water inside ice: U * (1 - shelter * concentration); leads: U * lead_wind.
  double ice_shelter = 0.5;
  double lead_wind_fraction = 0.3;

  // Land (snow-covered terrain, glaciers): HH/HV at reference incidence, texture; melt change.
  Signature land{-9.0, -0.10, -17.0, -0.05, 3.0, 0.0};
  double land_melt_change_db = -4.0;

  // Residual thermal noise after NERSC-style denoising (dB), sub-swath banding.
  double hv_noise_floor_db = -31.5;
  double hh_noise_floor_db = -35.0;
  // Per-sub-swath floor offsets (EW1..EW5; EW1 is the noisiest), plus a per-scene jitter.
  std::array<double, 5> sub_swath_offset_db{{1.0, 0.0, -0.3, -0.5, -0.2}};
  double sub_swath_jitter_db = 0.3;  // standard deviation, per scene and sub-swath
  double scalloping_db = 1.5;        // floor rise at sub-swath edges (parabolic)

  // Melt ponds: fraction of the ice surface per chart polygon (uniform range).
  double pond_fraction_min = 0.10;
  double pond_fraction_max = 0.35;
};

// Every user-facing default of the simulator.
struct SynthSpec {
  io::Season season = io::Season::kWinter;
  int height = 1000;
  int width = 1000;
  double pixel_spacing_m = 80.0;
  // Equivalent number of looks of the speckle (gamma shape on intensity).
  double looks = 16.0;
  uint64_t seed = 1;
  LabelMode label_mode = LabelMode::kChart;

  // The scene's width spans the whole EW swath (incidence near..far) whatever its size
  // (false: true ground-range geometry, a random part of the swath for narrow scenes).
  bool full_swath = true;
  double incidence_near_deg = 19.0;
  double incidence_far_deg = 47.0;

  // Chart polygons: typical polygon size (km) and boundary mismatch between chart and truth.
  double chart_polygon_size_km = 25.0;
  double chart_displacement_km = 1.0;
  // Land: probability that a scene has land, range of the land fraction when it has.
  double land_probability = 0.6;
  double land_fraction_min = 0.03;
  double land_fraction_max = 0.20;
  // Leads per 1000 km^2 of ice (winter; half in other seasons).
  double leads_per_1000km2 = 1.5;
  // Wind speed (m/s); negative = drawn per scene from physics.wind_mean_ms / wind_stddev_ms.
  double wind_speed_ms = -1.0;

  SynthPhysics physics;
};

// Throws UserError naming the offending field when a spec is unusable.
void validate(const SynthSpec& spec);

// Noise-free quantities a test or a study may want beside the scene (optional output).
struct SynthTruth {
  io::FloatRaster hh_sigma0;  // linear sigma0 before speckle, residual noise included
  io::FloatRaster hv_sigma0;
  io::FloatRaster wind_speed_ms;  // local wind over water (0 elsewhere)
  double scene_wind_ms = 0;
};

// One scene, deterministic from spec.seed.
io::Scene generate_scene(const SynthSpec& spec, SynthTruth* truth = nullptr);

// Scene `index` of a batch: the same as a single scene with seed spec.seed + index.
SynthSpec batch_member(const SynthSpec& spec, int index);

// File name for a generated scene: "<id>_prep.nc" / "<id>_prep.tif" (id like
// 20190915T101500_synth).
std::string scene_file_name(const io::Scene& scene, std::string_view extension,
                            std::string_view prefix = "");

// How far the chart labels are from pixel truth (over pixels where both are known, land excluded).
struct LabelAgreement {
  int64_t pixels = 0;                 // non-land pixels
  double sod_chart_masked = 0;        // fraction of pixels whose chart SOD is 255
  double sod_disagreement = 0;        // chart SOD != pixel SOD, where chart SOD is known
  double ice_water_disagreement = 0;  // chart SIC says water (0) xor pixel truth is ice
  double sic_mean_abs_error = 0;      // |chart SIC - local truth concentration| in tenths, 5 km
};
// Needs the chart and the pixel labels (both label modes keep both).
LabelAgreement measure_label_agreement(const io::Scene& scene);

// WKT of EPSG:3413 (NSIDC Sea Ice Polar Stereographic North, WGS 84).
const std::string& polar_stereographic_north_wkt();

}  // namespace sarseg::synth
