// Per-band input normalisation (z-score), saved with every checkpoint.
//
//   auto norm = data::compute_normalization(scenes, {"hh_db", "hv_db", "incidence_deg"},
//                                           NormalizationMethod::kPooled);
//   float z = (value - norm.mean[b]) / norm.std[b];
//
// Fill and NaN pixels (scene.valid == 0, or a non-finite value) never enter the statistics; after
// normalising they are set to 0 (the mean). SceneNormalizer is the one place that normalises:
// training's prepared scenes, tiled inference and data::scene_to_input all read through it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sarseg/io/scene.h"
#include "sarseg/io/speckle.h"

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
  // The speckle filter of the model's input (data.speckle_filter): SceneNormalizer filters the
  // dB bands of every scene it reads with it before normalising, so that inference sees what
  // training saw; the statistics above are those of the filtered bands. Recorded in the JSON
  // only when a filter is set.
  io::SpeckleFilterSpec speckle{};  // {} so that brace-initialised records need not name it
  // The grid the model works on (data.downsample): inference downsamples every scene by this
  // factor (io::downsample_scene) and brings the prediction back to the native grid. Recorded in
  // the JSON only when not 1; records without it mean 1.
  int64_t downsample = 1;
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

// Sums over the valid, finite pixels of one band of one scene: what the statistics are made of
// (the scene store keeps them, so that statistics need no pass over the pixels).
struct BandSums {
  long double sum = 0, sum_sq = 0;
  int64_t count = 0;
};
BandSums band_sums(const io::Scene& scene, const std::string& band);
// Statistics from per-scene sums (sums[scene][band], bands in `bands` order), exactly as
// compute_normalization gives them from the scenes.
Normalization normalization_from_sums(const std::vector<std::vector<BandSums>>& sums,
                                      const std::vector<std::string>& bands,
                                      NormalizationMethod method);

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

// The same from per-scene sums (a scene store) and the training scenes' band units.
Normalization make_normalization(NormalizationMethod method,
                                 const std::vector<std::vector<BandSums>>& sums,
                                 const std::vector<std::string>& bands,
                                 const std::vector<std::string>& units);

// UserError naming the scene when it lacks a band of normalization.bands, or a band has another
// size than the scene or other units than the recorded ones.
void check_input_bands(const io::Scene& scene, const Normalization& normalization);

// Normalised windows of one scene: the input of a model, for training and inference alike.
//
//   data::SceneNormalizer input(scene, normalization);
//   input.window(tile.data(), y, x, 512, 512);   // channels x 512 x 512, channel-major
class SceneNormalizer {
 public:
  // Takes the bands named by normalization.bands (in that order) from `scene`. UserError as
  // check_input_bands, or when the normalisation lacks a mean or a positive std for a band.
  // With normalization.speckle set, the dB input bands are filtered (a copy, once, here).
  SceneNormalizer(const io::Scene& scene, const Normalization& normalization);
  SceneNormalizer(const SceneNormalizer&) = delete;  // bands_ may point into filtered_
  SceneNormalizer& operator=(const SceneNormalizer&) = delete;
  SceneNormalizer(SceneNormalizer&&) = default;

  int64_t channels() const { return static_cast<int64_t>(bands_.size()); }
  // 1 where the scene's mask is set and every input band is finite.
  const io::Raster<uint8_t>& valid() const { return valid_; }
  // (value - mean) / std of the h x w window at (y, x), channel-major into `dst` (channels * h * w
  // floats). Invalid pixels and pixels beyond the scene (a window may overhang it) are 0.
  void window(float* dst, int64_t y, int64_t x, int64_t h, int64_t w) const;
  // One row: (value - mean) * inv_std where valid (valid == null: where the value is finite),
  // else 0. The one formula of both this class and the scene store's windows.
  static void normalise_row(float* dst, const float* src, const uint8_t* valid, int64_t n,
                            float mean, float inv_std);

 private:
  struct InputBand {
    const float* pixels = nullptr;
    float mean = 0;
    float inv_std = 1;
  };
  std::vector<InputBand> bands_;
  std::vector<io::FloatRaster> filtered_;  // speckle-filtered copies of the dB input bands
  io::Raster<uint8_t> valid_;
};

// JSON text {"bands": [...], "mean": [...], "std": [...], "source": "..."} and back (UserError
// naming `where` when malformed).
std::string normalization_to_json(const Normalization& normalization);
Normalization normalization_from_json(const std::string& text, const std::string& where);

}  // namespace sarseg::data
