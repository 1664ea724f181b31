// Per-band input normalisation (z-score), saved with every checkpoint.
//
//   auto norm = data::compute_normalization(scenes, {"hh_db", "hv_db", "incidence_deg"},
//                                           NormalizationMethod::kPooled);
//   float z = (value - norm.mean[b]) / norm.std[b];
//
// Fill and NaN pixels (scene.valid == 0, or a non-finite value) never enter the statistics; after
// normalising they are set to 0 (the mean), see data/scene_input.h.
#pragma once

#include <string>
#include <vector>

#include "sarseg/io/scene.h"

namespace sarseg::data {

struct Normalization {
  std::vector<std::string> bands;  // scene band names, in model input-channel order
  std::vector<double> mean;
  std::vector<double> std;
  std::string source;  // "training statistics", "ai4arctic global", ...
  // Units of each band in the training scenes ("dB", "deg", "zscore" for AI4Arctic netCDF values
  // read as stored, ...); empty when not recorded (checkpoints before units were saved). Inference
  // reads scenes in these units and refuses a scene whose bands come in others.
  std::vector<std::string> units;
};

// True when the recorded units ask for netCDF values converted to physical units (dB, degrees):
// some band has a unit recorded and it is not "zscore".
bool wants_physical_units(const Normalization& normalization);

enum class NormalizationMethod {
  kPooled,        // mean/std over every valid pixel of every training scene
  kSceneAverage,  // average of per-scene means and stds (the paper's compute_mean_std.py)
  kAi4Arctic,     // the AI4Arctic published global statistics (global_meanstd.npy)
  kNone,          // mean 0, std 1
};

// "training", "training-scene-average", "ai4arctic", "none" (UserError naming `where` otherwise).
NormalizationMethod parse_normalization_method(const std::string& text, const std::string& where);
std::vector<std::string> normalization_method_names();

// Statistics for `bands` over the valid, finite pixels of `scenes` (kPooled or kSceneAverage).
// UserError when a scene lacks a band, or a band has no valid pixel or zero spread.
Normalization compute_normalization(const std::vector<const io::Scene*>& scenes,
                                    const std::vector<std::string>& bands,
                                    NormalizationMethod method);

// AI4Arctic published raw-data statistics for hh_db, hv_db, incidence_deg and distance_map (also
// under their netCDF names). UserError naming a band without a published value.
Normalization ai4arctic_normalization(const std::vector<std::string>& bands);

// Any method: kPooled/kSceneAverage compute from `scenes`, the others take only the band units
// from them.
Normalization make_normalization(NormalizationMethod method,
                                 const std::vector<const io::Scene*>& scenes,
                                 const std::vector<std::string>& bands);

// JSON text {"bands": [...], "mean": [...], "std": [...], "source": "..."} and back (UserError
// naming `where` when malformed).
std::string normalization_to_json(const Normalization& normalization);
Normalization normalization_from_json(const std::string& text, const std::string& where);

}  // namespace sarseg::data
