// Whole-scene inference in bounded memory: overlapping tiles, blended back together.
//
//   infer::ScenePredictor predictor(model, normalization, {"SOD"}, infer::InferenceOptions{});
//   infer::ScenePrediction out = predictor.predict(scene);   // out.heads[0].classes: uint8 map
//
// How it works. The scene is padded (virtually, with 0 = the normalised mean, as invalid pixels
// are) to a multiple of the model's size multiple. Tiles of `tile` x `tile` pixels start at
// multiples of the size multiple (so every tile sees the same stride/pooling grid as a one-pass
// run) and overlap by at least `overlap` pixels. Each tile's softmax probabilities (raw values for
// regression heads) are weighted and summed; the weight falls to 0 at the side a neighbour covers:
// 0 over the outer quarter of the overlap, a ramp (cosine or linear) over its middle half, 1 after
// that, or with `crop` a hard cut in the middle of the overlap. Weights of neighbouring tiles sum
// to one, and a tile's value is used only from a quarter of the overlap inwards (half with `crop`),
// so a model whose receptive field reaches no further than that gives exactly the one-pass result.
// Tile rows are processed top to bottom and rows no later tile touches are finalised at once, so
// the accumulator holds one tile row: (classes + 1) x tile x width floats.
//
// A model trained at data.downsample = f (data::Normalization::downsample) predicts the scene
// downsampled by f (io::downsample_scene), tiled as above on the small grid; its probabilities
// are brought back to the native grid bilinearly and the class maps are their argmax
// (io::upsample_prediction), so that scores and outputs are on the native grid.
//
// `tile` = 0 is the paper's one-pass mode: the whole (padded) scene in one forward pass; its
// memory grows with the scene.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sarseg/data/normalization.h"
#include "sarseg/infer/options.h"
#include "sarseg/io/prediction_output.h"
#include "sarseg/io/scene.h"
#include "sarseg/models/model.h"

namespace sarseg::models {
class Int8Model;
}

namespace sarseg::infer {

// Classes of a head's class map (eval::class_map_classes); regression values are rounded and
// clamped to 0..count-1.
int64_t head_class_count(const models::HeadSpec& head, const std::string& label);

// What the tiler needs from a model: a forward pass giving one [N, C, H, W] tensor per head.
struct TiledModel {
  std::function<std::vector<torch::Tensor>(const torch::Tensor&)> forward;
  int64_t in_channels = 3;
  int64_t size_multiple = 32;
  std::vector<models::HeadSpec> heads;
  // Set for int8 models: called once per scene, before its tiles, with normalised crops of the
  // scene (see calibration in inference.cpp) to measure activation ranges.
  std::function<void(const std::vector<torch::Tensor>&)> calibrate;
  // Per head: logits are divided by it before the softmax (temperature scaling); empty = 1.
  std::vector<double> temperatures;
};

// One member of an ensemble: a model and the normalisation of its input.
struct EnsembleMember {
  const TiledModel* model = nullptr;
  const data::Normalization* normalization = nullptr;
};

// A head's class map (and probabilities when asked for); see io::LabelPrediction.
using HeadPrediction = io::LabelPrediction;

struct ScenePrediction {
  std::vector<HeadPrediction> heads;
  io::Raster<uint8_t> valid;  // 1 where the input is valid (scene.valid and every band finite)
  int64_t tiles = 0;
  int64_t tile_height = 0, tile_width = 0;
  double seconds = 0;
  double model_seconds = 0;  // of `seconds`, inside the model's forward (and int8 calibration)
};

// Tile side and stride along one axis of padded length `length`: the fewest tiles of at most
// `tile` pixels that overlap by at least `overlap`, then shrunk (to a multiple of `multiple`) so
// that they cover the axis with as little extra work as possible (5024 px in tiles of 1024 with
// overlap 128: six tiles of 960 instead of six of 1024).
struct AxisPlan {
  int64_t tile = 0;
  int64_t stride = 0;
};
AxisPlan plan_axis(int64_t length, int64_t tile, int64_t overlap, int64_t multiple);

// Tile origins along one axis of padded length `length` (tile, stride and length multiples of
// the size multiple): 0, stride, 2 stride, ..., and length - tile last.
std::vector<int64_t> tile_origins(int64_t length, int64_t tile, int64_t stride);

// Runs `model` over `scene` tile by tile. `normalization.bands` names the input bands in channel
// order (UserError naming the scene and its bands when one is missing or the count differs from
// the model's input channels). `head_labels` (one per head) name the outputs.
ScenePrediction predict_tiled(const TiledModel& model, const io::Scene& scene,
                              const data::Normalization& normalization,
                              const std::vector<std::string>& head_labels,
                              const InferenceOptions& options, bool probabilities = false);

// predict_tiled over several members (checkpoints, or Monte Carlo dropout passes of one) that
// predict the same heads: each tile's softmax probabilities are averaged over the members before
// blending, so memory is that of one member plus (classes + 1) floats per pixel of a tile, not a
// probability stack per member. With `uncertainty`, classification heads also get the predictive
// entropy of the blended probabilities and the members' mutual information (computed per tile,
// then blended; eval/uncertainty.h). Regression heads average their values. UserError when the
// members' heads differ.
ScenePrediction predict_tiled_ensemble(const std::vector<EnsembleMember>& members,
                                       const io::Scene& scene,
                                       const std::vector<std::string>& head_labels,
                                       const InferenceOptions& options, bool probabilities,
                                       bool uncertainty);

// A copy of `model` (same spec, parameters and buffers), leaving the original untouched.
models::SegmentationModel copy_model(const models::SegmentationModel& model);
// Folds every BatchNorm2d that directly follows a Conv2d (consecutive children of a Sequential, or
// siblings convK / bnK) into that convolution, in place, and turns the BatchNorm into an identity
// (mean 0, variance 1 - eps, weight 1, bias 0). Returns the number folded. Eval mode only.
int fold_batchnorm(torch::nn::Module& module);

// A segmentation model made ready for inference with `options` (a prepared copy when folding or
// changing the memory layout; an models::Int8Model for precision int8), driving predict_tiled.
class ScenePredictor {
 public:
  // `temperatures` (per head; empty = 1) are used with options.calibrated. UserError for
  // options.mc_dropout on a model without dropout layers.
  ScenePredictor(models::SegmentationModel model, data::Normalization normalization,
                 std::vector<std::string> head_labels, InferenceOptions options = {},
                 std::vector<double> temperatures = {});

  // With options.mc_dropout > 0: that many passes per tile with dropout active (seeded, so a run
  // is repeatable; torch's generator is restored afterwards), averaged as an ensemble.
  ScenePrediction predict(const io::Scene& scene, bool probabilities = false,
                          bool uncertainty = false) const;
  // UserError when the scene lacks an input band.
  void check_scene(const io::Scene& scene) const;

  const InferenceOptions& options() const { return options_; }
  const std::vector<std::string>& head_labels() const { return head_labels_; }
  const models::SegmentationModel& model() const { return model_; }
  int folded_batchnorms() const { return folded_; }
  const data::Normalization& normalization() const { return normalization_; }
  // Dropout layers with p > 0 (what Monte Carlo dropout switches on).
  int dropout_layers() const;
  // The forward pass the tiler drives (the int8 model for precision int8).
  TiledModel tiled_model() const;

 private:
  models::SegmentationModel model_;
  data::Normalization normalization_;
  std::vector<std::string> head_labels_;
  InferenceOptions options_;
  int folded_ = 0;
  std::shared_ptr<models::Int8Model> int8_;
  std::shared_ptr<models::Int8Model> folded_bf16_;  // bf16 + folded BatchNorm on the CPU
  std::vector<double> temperatures_;
};

// Several checkpoints that predict the same heads (an experiment arm's seeds), averaged tile by
// tile (predict_tiled_ensemble). One member with options.mc_dropout runs Monte Carlo dropout.
class EnsemblePredictor {
 public:
  // UserError when empty, when the members' heads or labels differ, or for Monte Carlo dropout
  // with more than one member.
  explicit EnsemblePredictor(std::vector<ScenePredictor> members);

  ScenePrediction predict(const io::Scene& scene, bool probabilities, bool uncertainty) const;
  void check_scene(const io::Scene& scene) const;
  size_t size() const { return members_.size(); }
  // Members, or Monte Carlo dropout passes, averaged per pixel.
  int64_t passes() const;
  const std::vector<std::string>& head_labels() const { return members_.front().head_labels(); }
  const ScenePredictor& member(size_t index) const { return members_.at(index); }

 private:
  std::vector<ScenePredictor> members_;
};

}  // namespace sarseg::infer
