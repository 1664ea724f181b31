#include "sarseg/infer/inference.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <mutex>
#include <numeric>
#include <optional>
#include <stdexcept>

#include "sarseg/eval/scoring.h"
#include "sarseg/eval/uncertainty.h"
#include "sarseg/io/downsample.h"
#include "sarseg/models/int8.h"
#include "sarseg/models/layers.h"
#include "sarseg/util/error.h"
#include "sarseg/util/log.h"
#include "sarseg/util/strings.h"
#include "sarseg/util/torch_compat.h"
#include "sarseg/util/torch_runtime.h"

namespace sarseg::infer {

namespace {

constexpr double kPi = 3.14159265358979323846;

enum class Blend { kCosine, kLinear, kCrop };

Blend parse_blend(const std::string& text) {
  if (text == "cosine") return Blend::kCosine;
  if (text == "linear") return Blend::kLinear;
  if (text == "crop") return Blend::kCrop;
  throw UserError("--blend '" + text + "' is not known; use cosine, linear or crop");
}

// Weight of a tile's value at distance `d` (pixel centre) from its edge that a neighbour overlaps
// by `overlap` pixels. 0 over the outer quarter, ramp over the middle half, 1 beyond; for two
// neighbours d and overlap - d, so the two weights sum to one.
double ramp(double d, double overlap, Blend blend) {
  if (overlap <= 0) return 1.0;
  if (blend == Blend::kCrop) return d >= overlap / 2 ? 1.0 : 0.0;
  const double u = (d - overlap / 4) / (overlap / 2);
  if (u <= 0) return 0.0;
  if (u >= 1) return 1.0;
  return blend == Blend::kLinear ? u : 0.5 - 0.5 * std::cos(kPi * u);
}

// Per-tile weight profiles along one axis.
std::vector<torch::Tensor> axis_weights(const std::vector<int64_t>& origins, int64_t tile,
                                        Blend blend) {
  std::vector<torch::Tensor> weights;
  const size_t n = origins.size();
  for (size_t k = 0; k < n; ++k) {
    const double left = k > 0 ? static_cast<double>(origins[k - 1] + tile - origins[k]) : 0.0;
    const double right = k + 1 < n ? static_cast<double>(origins[k] + tile - origins[k + 1]) : 0.0;
    auto w = torch::empty({tile}, torch::kFloat);
    auto* p = w.data_ptr<float>();
    for (int64_t i = 0; i < tile; ++i) {
      const double d_left = static_cast<double>(i) + 0.5;
      const double d_right = static_cast<double>(tile - i) - 0.5;
      p[i] = static_cast<float>(ramp(d_left, left, blend) * ramp(d_right, right, blend));
    }
    weights.push_back(w);
  }
  return weights;
}

int64_t round_up(int64_t value, int64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

// Restores the model's training flag on scope exit.
class EvalModeScope {
 public:
  explicit EvalModeScope(torch::nn::Module& module)
      : module_(module), was_training_(module.is_training()) {
    if (was_training_) module_.eval();
  }
  ~EvalModeScope() {
    if (was_training_) module_.train(true);
  }

 private:
  torch::nn::Module& module_;
  bool was_training_;
};

void fold_pair(torch::nn::Conv2dImpl& conv, torch::nn::BatchNorm2dImpl& bn) {
  torch::NoGradGuard no_grad;
  const auto eps = bn.options.eps();
  const auto folded = models::fold_batchnorm_parameters(conv, bn);
  conv.weight.copy_(folded.weight);
  if (conv.bias.defined()) {
    conv.bias.copy_(folded.bias);
  } else {
    // A bias-free conv registers an undefined "bias" that cannot be re-registered; its forward
    // reads the member, which is all inference needs.
    conv.bias = folded.bias;
  }
  // The BatchNorm stays in the forward pass (torch's C++ modules cannot be unlinked from their
  // parents' forward) but becomes an identity: (x - 0) / sqrt((1 - eps) + eps) * 1 + 0.
  bn.running_mean.zero_();
  bn.running_var.fill_(1.0 - eps);
  if (bn.options.affine()) {
    bn.weight.fill_(1.0);
    bn.bias.zero_();
  }
}

struct Window {
  int64_t y = 0, x = 0, size = 0;
};

// Where int8 activation ranges are measured: square crops of 512 px (the tile's or the padded
// scene's short side if smaller, a multiple of the size multiple: crops should look like tiles) on
// a 3 x 3 grid over the scene, the most valid first, as many as cover about 1/8 of the scene (at
// least two where the grid has them, at most nine). Crops that are less than half valid are used
// only when no other is left. 512 rather than 256: the ASPP's dilated branches see a 32 x 32 map
// instead of 16 x 16, closer to what they see in a tile; with 256-px crops their ranges clipped up
// to 2.6 % of a tile's activations.
std::vector<Window> calibration_windows(const io::Raster<uint8_t>& valid, int64_t padded_h,
                                        int64_t padded_w, int64_t tile, int64_t multiple) {
  const int64_t size =
      std::max(multiple, std::min({int64_t{512}, tile, padded_h, padded_w}) / multiple * multiple);
  struct Candidate {
    Window window;
    double valid_share;
  };
  std::vector<Candidate> candidates;
  for (int gy = 0; gy < 3; ++gy)
    for (int gx = 0; gx < 3; ++gx) {
      Window w;
      w.size = size;
      w.y = std::clamp<int64_t>((2 * gy + 1) * padded_h / 6 - size / 2, 0, padded_h - size);
      w.x = std::clamp<int64_t>((2 * gx + 1) * padded_w / 6 - size / 2, 0, padded_w - size);
      int64_t count = 0;
      for (int64_t y = w.y; y < std::min(w.y + size, valid.height); ++y)
        for (int64_t x = w.x; x < std::min(w.x + size, valid.width); ++x)
          count += valid.at(y, x);
      const bool duplicate =
          std::any_of(candidates.begin(), candidates.end(),
                      [&](const Candidate& c) { return c.window.y == w.y && c.window.x == w.x; });
      if (!duplicate) candidates.push_back({w, static_cast<double>(count) / (size * size)});
    }
  std::stable_sort(
      candidates.begin(), candidates.end(),
      [](const Candidate& a, const Candidate& b) { return a.valid_share > b.valid_share; });
  const int64_t crop_pixels = size * size;
  const int64_t budget =
      std::clamp<int64_t>((padded_h * padded_w + 8 * crop_pixels - 1) / (8 * crop_pixels), 2, 9);
  std::vector<Window> windows;
  for (const auto& c : candidates) {
    if (static_cast<int64_t>(windows.size()) >= budget) break;
    if (c.valid_share < 0.5 && !windows.empty()) break;
    windows.push_back(c.window);
  }
  return windows;
}

// values.argmax(0) as uint8 for a float [C, H, W] view (C <= 255), first maximum on ties. LibTorch
// 1.13's argmax over the outermost dimension of a strided view takes about a second per tile row
// of a 5000-pixel-wide scene; this loop takes milliseconds.
torch::Tensor argmax_over_channels(const torch::Tensor& values) {
  const int64_t channels = values.size(0), height = values.size(1), width = values.size(2);
  auto result = torch::empty({height, width}, torch::kUInt8);
  const auto in = values.accessor<float, 3>();
  auto* out = result.data_ptr<uint8_t>();
  at::parallel_for(0, height, 16, [&](int64_t begin, int64_t end) {
    for (int64_t y = begin; y < end; ++y) {
      uint8_t* row = out + y * width;
      for (int64_t x = 0; x < width; ++x) {
        float best = in[0][y][x];
        uint8_t index = 0;
        for (int64_t c = 1; c < channels; ++c) {
          const float v = in[c][y][x];
          if (v > best) {
            best = v;
            index = static_cast<uint8_t>(c);
          }
        }
        row[x] = index;
      }
    }
  });
  return result;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Copies device outputs to the CPU as fp32 (synchronising with the device).
std::vector<torch::Tensor> to_cpu_float(const std::vector<torch::Tensor>& outputs) {
  std::vector<torch::Tensor> copies;
  for (const auto& t : outputs)
    copies.push_back(t.to(torch::kCPU, torch::kFloat));
  return copies;
}

bool all_digits(const std::string& text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

int64_t head_class_count(const models::HeadSpec& head, const std::string& label) {
  return eval::class_map_classes(label, head.regression, head.outputs);
}

AxisPlan plan_axis(int64_t length, int64_t tile, int64_t overlap, int64_t multiple) {
  const int64_t m = std::max<int64_t>(1, multiple);
  tile = std::max(m, tile / m * m);
  if (tile >= length) return {length, length};
  const int64_t stride = std::max(m, (tile - overlap) / m * m);
  const int64_t actual_overlap = tile - stride;
  const int64_t count = (length - actual_overlap + stride - 1) / stride;  // tiles needed
  // The smallest tile (multiple of m) with which `count` tiles still cover the axis.
  const int64_t needed = (length + (count - 1) * actual_overlap + count - 1) / count;
  const int64_t shrunk = std::min(tile, std::max(actual_overlap + m, round_up(needed, m)));
  return {shrunk, shrunk - actual_overlap};
}

std::vector<int64_t> tile_origins(int64_t length, int64_t tile, int64_t stride) {
  if (tile >= length) return {0};
  std::vector<int64_t> origins;
  for (int64_t o = 0; o + tile < length; o += stride)
    origins.push_back(o);
  origins.push_back(length - tile);
  return origins;
}

namespace {

// Tiles over the scene padded to the model's size multiple, and their blending weights.
struct TilePlan {
  int64_t padded_h = 0, padded_w = 0;
  int64_t tile_h = 0, tile_w = 0;
  std::vector<int64_t> rows, cols;  // tile origins
  std::vector<torch::Tensor> row_weights, col_weights;
};

TilePlan plan_tiles(int64_t height, int64_t width, int64_t multiple,
                    const InferenceOptions& options) {
  TilePlan plan;
  const int64_t m = std::max<int64_t>(1, multiple);
  plan.padded_h = round_up(height, m);
  plan.padded_w = round_up(width, m);
  AxisPlan along_h{plan.padded_h, plan.padded_h}, along_w{plan.padded_w, plan.padded_w};
  if (options.tile > 0) {  // else one pass
    along_h = plan_axis(plan.padded_h, options.tile, options.overlap, m);
    along_w = plan_axis(plan.padded_w, options.tile, options.overlap, m);
  }
  plan.tile_h = along_h.tile;
  plan.tile_w = along_w.tile;
  plan.rows = tile_origins(plan.padded_h, plan.tile_h, along_h.stride);
  plan.cols = tile_origins(plan.padded_w, plan.tile_w, along_w.stride);
  const Blend blend = parse_blend(options.blend);
  plan.row_weights = axis_weights(plan.rows, plan.tile_h, blend);
  plan.col_weights = axis_weights(plan.cols, plan.tile_w, blend);
  return plan;
}

// Empty outputs (255 everywhere) of every head.
std::vector<HeadPrediction> empty_heads(const TiledModel& model,
                                        const std::vector<std::string>& head_labels, int64_t height,
                                        int64_t width, bool probabilities, bool uncertainty,
                                        int64_t members) {
  std::vector<HeadPrediction> heads;
  for (size_t h = 0; h < model.heads.size(); ++h) {
    HeadPrediction out;
    out.label = head_labels[h];
    out.regression = model.heads[h].regression;
    out.classes = io::LabelRaster(height, width, io::kLabelFill);
    out.class_count = head_class_count(model.heads[h], out.label);
    if (probabilities && !out.regression)
      out.probabilities.assign(static_cast<size_t>(model.heads[h].outputs),
                               io::LabelRaster(height, width, io::kLabelFill));
    if (uncertainty && !out.regression) {
      const float nan = std::numeric_limits<float>::quiet_NaN();
      out.entropy = io::FloatRaster(height, width, nan);
      out.mutual_information = io::FloatRaster(height, width, nan);
    }
    out.members = members;
    heads.push_back(std::move(out));
  }
  return heads;
}

// Weighted sums of the tiles of one tile row: rows [row_start, row_start + tile_h) of the padded
// scene, (classes + 1) x tile_h x padded width floats (with uncertainty, one more per
// classification head: the members' mutual information, after every head's values). Rows no
// later tile row reaches are turned into class maps (and probabilities, entropy) and dropped.
class RowAccumulator {
 public:
  RowAccumulator(const TiledModel& model, const TilePlan& plan, ScenePrediction& result,
                 bool uncertainty)
      : model_(model), result_(result), tile_h_(plan.tile_h) {
    int64_t channels = 0;
    for (const auto& head : model.heads) {
      head_offset_.push_back(channels);
      channels += head.regression ? 1 : head.outputs;
    }
    for (const auto& head : model.heads)
      information_offset_.push_back(uncertainty && !head.regression ? channels++ : -1);
    accumulated_ = torch::zeros({channels, plan.tile_h, plan.padded_w}, torch::kFloat);
    weight_sum_ = torch::zeros({plan.tile_h, plan.padded_w}, torch::kFloat);
  }

  // Adds one tile's values [C, tile_h, tile_w] at column x with weights [tile_h, tile_w].
  void add(const torch::Tensor& values, int64_t x, const torch::Tensor& weights) {
    accumulated_.narrow(2, x, weights.size(1)).add_(values * weights);
    weight_sum_.narrow(1, x, weights.size(1)).add_(weights);
  }

  // Finishes the rows above `y` (no later tile row reaches them) and moves the window down.
  void advance_to(int64_t y) {
    if (y <= row_start_) return;
    const int64_t shift = y - row_start_;
    finalise(shift);
    const int64_t keep = tile_h_ - shift;
    if (keep > 0) {
      accumulated_.narrow(1, 0, keep).copy_(accumulated_.narrow(1, shift, keep).clone());
      weight_sum_.narrow(0, 0, keep).copy_(weight_sum_.narrow(0, shift, keep).clone());
    }
    accumulated_.narrow(1, std::max<int64_t>(keep, 0), std::min(shift, tile_h_)).zero_();
    weight_sum_.narrow(0, std::max<int64_t>(keep, 0), std::min(shift, tile_h_)).zero_();
    row_start_ = y;
  }

  void finish() { finalise(tile_h_); }

 private:
  // Writes rows [row_start, row_start + count) into the outputs.
  void finalise(int64_t count) {
    const int64_t height = result_.valid.height, width = result_.valid.width;
    count = std::min(count, height - row_start_);
    if (count <= 0) return;
    auto weights = weight_sum_.narrow(0, 0, count).narrow(1, 0, width);
    if (weights.min().item<float>() <= 0.0f)
      throw std::logic_error("tile blending left a pixel without weight");
    const size_t first = static_cast<size_t>(row_start_ * width);
    const size_t n = static_cast<size_t>(count * width);
    const uint8_t* valid = result_.valid.data.data() + first;
    auto store = [&](const torch::Tensor& values, io::LabelRaster& raster) {
      auto bytes = values.contiguous();
      uint8_t* dst = raster.data.data() + first;
      std::memcpy(dst, bytes.data_ptr<uint8_t>(), n);
      for (size_t i = 0; i < n; ++i)
        if (!valid[i]) dst[i] = io::kLabelFill;
    };
    auto store_float = [&](const float* values, io::FloatRaster& raster) {
      float* dst = raster.data.data() + first;
      for (size_t i = 0; i < n; ++i)
        dst[i] = valid[i] ? values[i] : std::numeric_limits<float>::quiet_NaN();
    };
    for (size_t h = 0; h < model_.heads.size(); ++h) {
      const auto& spec = model_.heads[h];
      auto values = accumulated_.narrow(0, head_offset_[h], spec.regression ? 1 : spec.outputs)
                        .narrow(1, 0, count)
                        .narrow(2, 0, width);
      auto& out = result_.heads[h];
      if (spec.regression) {
        const auto top = static_cast<double>(head_class_count(spec, out.label) - 1);
        store((values[0] / weights).round().clamp(0, top).to(torch::kUInt8), out.classes);
        continue;
      }
      store(argmax_over_channels(values), out.classes);  // weights > 0: argmax unchanged
      for (int64_t c = 0; c < static_cast<int64_t>(out.probabilities.size()); ++c)
        store((values[c] / weights * 254.0f).round().clamp(0, 254).to(torch::kUInt8),
              out.probabilities[static_cast<size_t>(c)]);
      if (information_offset_[h] >= 0) {
        const auto mean = (values / weights).contiguous();
        std::vector<float> entropy(n);
        eval::predictive_entropy(mean.data_ptr<float>(), spec.outputs, static_cast<int64_t>(n),
                                 entropy.data());
        store_float(entropy.data(), out.entropy);
        const auto information =
            (accumulated_[information_offset_[h]].narrow(0, 0, count).narrow(1, 0, width) / weights)
                .contiguous();
        store_float(information.data_ptr<float>(), out.mutual_information);
      }
    }
  }

  const TiledModel& model_;
  ScenePrediction& result_;
  int64_t tile_h_;
  std::vector<int64_t> head_offset_;         // first channel of each head in the stacked outputs
  std::vector<int64_t> information_offset_;  // mutual information channel of each head, or -1
  torch::Tensor accumulated_, weight_sum_;
  int64_t row_start_ = 0;
};

// Normalised crops of the scene where int8 activation ranges are measured.
std::vector<torch::Tensor> calibration_crops(const data::SceneNormalizer& input,
                                             const TilePlan& plan, int64_t in_channels,
                                             int64_t multiple) {
  std::vector<torch::Tensor> crops;
  for (const auto& window : calibration_windows(input.valid(), plan.padded_h, plan.padded_w,
                                                std::min(plan.tile_h, plan.tile_w), multiple)) {
    auto crop = torch::empty({1, in_channels, window.size, window.size}, torch::kFloat);
    input.window(crop.data_ptr<float>(), window.y, window.x, window.size, window.size);
    crops.push_back(crop);
  }
  return crops;
}

// Softmax probabilities (raw values for regression heads) of every head, stacked: [B, C, h, w].
torch::Tensor stacked_head_values(const std::vector<torch::Tensor>& outputs,
                                  const std::vector<models::HeadSpec>& heads,
                                  const std::vector<double>& temperatures) {
  if (outputs.size() != heads.size())
    throw std::logic_error("model returned " + std::to_string(outputs.size()) +
                           " heads, expected " + std::to_string(heads.size()));
  std::vector<torch::Tensor> values;
  for (size_t h = 0; h < outputs.size(); ++h) {
    auto v = outputs[h].to(torch::kFloat);  // bf16 autocast gives bf16
    if (!heads[h].regression && h < temperatures.size() && temperatures[h] != 1.0)
      v = v / temperatures[h];
    values.push_back(heads[h].regression ? v : torch::softmax(v, 1));
  }
  return values.size() == 1 ? values[0] : torch::cat(values, 1);
}

}  // namespace

namespace {

bool same_normalization(const data::Normalization& a, const data::Normalization& b) {
  return a.bands == b.bands && a.mean == b.mean && a.std == b.std && a.speckle == b.speckle &&
         a.downsample == b.downsample;
}

bool same_heads(const std::vector<models::HeadSpec>& a, const std::vector<models::HeadSpec>& b) {
  if (a.size() != b.size()) return false;
  for (size_t h = 0; h < a.size(); ++h)
    if (a[h].regression != b[h].regression || a[h].outputs != b[h].outputs) return false;
  return true;
}

// Averages the members' values of one batch of tiles ([B, C, h, w] each, in member order); with
// `uncertainty`, appends one mutual information channel per classification head.
class MemberAverage {
 public:
  MemberAverage(const std::vector<models::HeadSpec>& heads, bool uncertainty)
      : heads_(heads), uncertainty_(uncertainty) {}

  void add(const torch::Tensor& values) {
    const int64_t batch = values.size(0), pixels = values.size(2) * values.size(3);
    sum_ = sum_.defined() ? sum_ + values : values;
    ++members_;
    if (!uncertainty_) return;
    if (ensembles_.empty()) {
      for (int64_t b = 0; b < batch; ++b)
        for (const auto& head : heads_)
          if (!head.regression) ensembles_.emplace_back(head.outputs, pixels);
    }
    const auto contiguous = values.contiguous();
    size_t k = 0;
    for (int64_t b = 0; b < batch; ++b) {
      int64_t offset = 0;
      for (const auto& head : heads_) {
        const int64_t channels = head.regression ? 1 : head.outputs;
        if (!head.regression)
          ensembles_[k++].add_member(contiguous[b].narrow(0, offset, channels).data_ptr<float>());
        offset += channels;
      }
    }
  }

  // [B, C (+ heads with mutual information), h, w].
  torch::Tensor result() const {
    if (members_ == 1 && !uncertainty_) return sum_;
    const auto mean = sum_ / static_cast<float>(members_);
    if (!uncertainty_) return mean;
    int64_t informed = 0;
    for (const auto& head : heads_)
      informed += head.regression ? 0 : 1;
    const int64_t channels = mean.size(1);
    auto values = torch::empty({mean.size(0), channels + informed, mean.size(2), mean.size(3)},
                               torch::kFloat);
    values.narrow(1, 0, channels).copy_(mean);
    size_t k = 0;
    for (int64_t b = 0; b < mean.size(0); ++b) {
      int64_t offset = 0, information = channels;
      for (const auto& head : heads_) {
        const int64_t head_channels = head.regression ? 1 : head.outputs;
        if (!head.regression)
          ensembles_[k++].finish(values[b].narrow(0, offset, head_channels).data_ptr<float>(),
                                 values[b][information++].data_ptr<float>());
        offset += head_channels;
      }
    }
    return values;
  }

 private:
  const std::vector<models::HeadSpec>& heads_;
  bool uncertainty_;
  int64_t members_ = 0;
  torch::Tensor sum_;
  std::vector<eval::EnsembleAccumulator> ensembles_;  // batch-major, per classification head
};

}  // namespace

ScenePrediction predict_tiled(const TiledModel& model, const io::Scene& scene,
                              const data::Normalization& normalization,
                              const std::vector<std::string>& head_labels,
                              const InferenceOptions& options, bool probabilities) {
  return predict_tiled_ensemble({{&model, &normalization}}, scene, head_labels, options,
                                probabilities, false);
}

namespace {

// predict_tiled_ensemble on the scene's own grid (the members' downsampling factor not applied).
ScenePrediction predict_on_grid(const std::vector<EnsembleMember>& members, const io::Scene& scene,
                                const std::vector<std::string>& head_labels,
                                const InferenceOptions& options, bool probabilities,
                                bool uncertainty) {
  validate(options);
  const auto start = std::chrono::steady_clock::now();
  const int64_t height = scene.height, width = scene.width;
  require(height > 0 && width > 0, "scene '" + scene.id + "' (" + scene.source_path +
                                       ") is empty; give a scene with pixels");
  if (members.empty()) throw std::invalid_argument("predict_tiled_ensemble: no members");
  const TiledModel& model = *members.front().model;
  if (head_labels.size() != model.heads.size())
    throw std::invalid_argument("predict_tiled: " + std::to_string(head_labels.size()) +
                                " head labels for " + std::to_string(model.heads.size()) +
                                " heads");
  int64_t multiple = 1;
  // One normaliser per distinct normalisation; member_input[m] indexes it.
  std::vector<std::unique_ptr<data::SceneNormalizer>> inputs;
  std::vector<const data::Normalization*> input_normalizations;
  std::vector<size_t> member_input;
  for (size_t m = 0; m < members.size(); ++m) {
    const TiledModel& member = *members[m].model;
    const data::Normalization& normalization = *members[m].normalization;
    require(same_heads(member.heads, model.heads),
            "ensemble member " + std::to_string(m + 1) +
                " predicts other heads or classes than the first; give checkpoints of one "
                "model and task (e.g. the seeds of one experiment arm)");
    require(static_cast<int64_t>(normalization.bands.size()) == member.in_channels,
            "the model takes " + std::to_string(member.in_channels) + " input bands but its " +
                "normalisation lists " + std::to_string(normalization.bands.size()) + " (" +
                join(normalization.bands, ", ") + "); the checkpoint is inconsistent");
    multiple = std::lcm(multiple, std::max<int64_t>(1, member.size_multiple));
    size_t index = 0;
    while (index < inputs.size() &&
           !same_normalization(*input_normalizations[index], normalization))
      ++index;
    if (index == inputs.size()) {
      inputs.push_back(std::make_unique<data::SceneNormalizer>(scene, normalization));
      input_normalizations.push_back(&normalization);
    }
    member_input.push_back(index);
  }
  const TilePlan plan = plan_tiles(height, width, multiple, options);
  ScenePrediction result;
  result.valid = inputs.front()->valid();
  for (size_t i = 1; i < inputs.size(); ++i)
    for (size_t k = 0; k < result.valid.data.size(); ++k)
      result.valid.data[k] = result.valid.data[k] && inputs[i]->valid().data[k];
  result.tile_height = plan.tile_h;
  result.tile_width = plan.tile_w;
  result.heads = empty_heads(model, head_labels, height, width, probabilities, uncertainty,
                             static_cast<int64_t>(members.size()));
  RowAccumulator accumulator(model, plan, result, uncertainty);

  std::optional<torch::InferenceMode> inference_guard;
  std::optional<torch::NoGradGuard> no_grad_guard;
  if (options.inference_mode) {
    inference_guard.emplace();
  } else {
    no_grad_guard.emplace();
  }
  const torch::Device device(resolve_device_name(options.device));
  const auto arithmetic = resolve_arithmetic(options);
  compat::AutocastGuard autocast(arithmetic.precision == "bf16", device.type());

  for (size_t m = 0; m < members.size(); ++m) {
    const TiledModel& member = *members[m].model;
    if (!member.calibrate) continue;
    const auto crops =
        calibration_crops(*inputs[member_input[m]], plan, member.in_channels, member.size_multiple);
    const auto calibration_start = std::chrono::steady_clock::now();
    member.calibrate(crops);
    result.model_seconds += seconds_since(calibration_start);
  }

  const size_t batch = static_cast<size_t>(std::max<int64_t>(1, options.batch));
  for (size_t r = 0; r < plan.rows.size(); ++r) {
    const int64_t y = plan.rows[r];
    accumulator.advance_to(y);
    for (size_t c0 = 0; c0 < plan.cols.size(); c0 += batch) {
      const size_t count = std::min(plan.cols.size() - c0, batch);
      std::vector<torch::Tensor> tiles(inputs.size());  // normalised lazily, once per input
      MemberAverage average(model.heads, uncertainty);
      for (size_t m = 0; m < members.size(); ++m) {
        const TiledModel& member = *members[m].model;
        auto& input = tiles[member_input[m]];
        if (!input.defined()) {
          const int64_t tile_floats = member.in_channels * plan.tile_h * plan.tile_w;
          input = torch::empty(
              {static_cast<int64_t>(count), member.in_channels, plan.tile_h, plan.tile_w},
              torch::kFloat);
          for (size_t b = 0; b < count; ++b)
            inputs[member_input[m]]->window(
                input.data_ptr<float>() + static_cast<int64_t>(b) * tile_floats, y,
                plan.cols[c0 + b], plan.tile_h, plan.tile_w);
          if (arithmetic.channels_last) input = input.contiguous(torch::MemoryFormat::ChannelsLast);
        }
        const auto forward_start = std::chrono::steady_clock::now();
        auto outputs = member.forward(device.is_cpu() ? input : input.to(device));
        if (!device.is_cpu()) outputs = to_cpu_float(outputs);  // waits for the device
        result.model_seconds += seconds_since(forward_start);
        average.add(stacked_head_values(outputs, member.heads, member.temperatures));
      }
      const auto stacked = average.result();
      for (size_t b = 0; b < count; ++b) {
        accumulator.add(stacked[static_cast<int64_t>(b)], plan.cols[c0 + b],
                        torch::outer(plan.row_weights[r], plan.col_weights[c0 + b]));
        ++result.tiles;
      }
    }
  }
  accumulator.finish();
  result.seconds = seconds_since(start);
  return result;
}

// 1 where the scene's mask is set and every input band of every member is finite (what
// SceneNormalizer::valid gives, without normalising); the bands are known to be present.
io::Raster<uint8_t> native_input_valid(const io::Scene& scene,
                                       const std::vector<EnsembleMember>& members) {
  io::Raster<uint8_t> valid(scene.height, scene.width, 1);
  for (int64_t r = 0; r < scene.height; ++r)
    for (int64_t c = 0; c < scene.width; ++c)
      valid.at(r, c) = scene.is_valid(r, c) ? 1 : 0;
  for (const auto& member : members)
    for (const auto& name : member.normalization->bands) {
      const auto& pixels = scene.band(name).pixels.data;
      for (size_t k = 0; k < pixels.size(); ++k)
        if (!std::isfinite(pixels[k])) valid.data[k] = 0;
    }
  return valid;
}

}  // namespace

ScenePrediction predict_tiled_ensemble(const std::vector<EnsembleMember>& members,
                                       const io::Scene& scene,
                                       const std::vector<std::string>& head_labels,
                                       const InferenceOptions& options, bool probabilities,
                                       bool uncertainty) {
  if (members.empty()) throw std::invalid_argument("predict_tiled_ensemble: no members");
  const int64_t factor = members.front().normalization->downsample;
  for (size_t m = 1; m < members.size(); ++m)
    require(members[m].normalization->downsample == factor,
            "ensemble member " + std::to_string(m + 1) + " was trained on a grid downsampled x" +
                std::to_string(members[m].normalization->downsample) + ", member 1 on x" +
                std::to_string(factor) + "; give checkpoints trained at one data.downsample");
  if (factor == 1)
    return predict_on_grid(members, scene, head_labels, options, probabilities, uncertainty);
  // data.downsample: predicted on the scene at the model's grid (a block with any valid pixel is
  // valid, so that every valid native pixel gets a prediction), then brought back to the native
  // grid: probabilities bilinearly, class maps as their argmax (io/downsample.h). The coarse
  // prediction always keeps its probabilities (1 / factor^2 of the native planes).
  const auto start = std::chrono::steady_clock::now();
  const io::Scene coarse_scene = io::downsample_scene(scene, factor, 0.0);
  const ScenePrediction coarse = predict_on_grid(members, coarse_scene, head_labels, options,
                                                 /*probabilities=*/true, uncertainty);
  ScenePrediction result;
  result.valid = native_input_valid(scene, members);
  for (const auto& head : coarse.heads)
    result.heads.push_back(
        io::upsample_prediction(head, coarse.valid, factor, result.valid, probabilities));
  result.tiles = coarse.tiles;
  result.tile_height = coarse.tile_height;
  result.tile_width = coarse.tile_width;
  result.model_seconds = coarse.model_seconds;
  result.seconds = seconds_since(start);
  return result;
}

models::SegmentationModel copy_model(const models::SegmentationModel& model) {
  // Constructing a model draws its random initialisation from torch's default generator; keep
  // the caller's random stream (training resumes exactly) by restoring the generator state.
  auto generator = at::detail::getDefaultCPUGenerator();
  torch::Tensor saved_state;
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    saved_state = generator.get_state();
  }
  models::SegmentationModel copy(model->spec());
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(saved_state);
  }
  torch::NoGradGuard no_grad;
  auto source_parameters = model->named_parameters(true);
  for (auto& item : copy->named_parameters(true))
    item.value().copy_(source_parameters[item.key()]);
  auto source_buffers = model->named_buffers(true);
  for (auto& item : copy->named_buffers(true))
    item.value().copy_(source_buffers[item.key()]);
  copy->train(model->is_training());
  return copy;
}

int fold_batchnorm(torch::nn::Module& root) {
  int folded = 0;
  for (const auto& item : root.named_modules()) {
    const auto children = item.value()->named_children();
    // Sequential-like containers ("0", "1", ...): a BatchNorm right after a convolution.
    bool numbered = children.size() > 1;
    for (const auto& child : children)
      numbered = numbered && all_digits(child.key());
    if (numbered) {
      for (size_t i = 0; i + 1 < children.size(); ++i) {
        auto* conv = children[i].value()->as<torch::nn::Conv2d>();
        auto* bn = children[i + 1].value()->as<torch::nn::BatchNorm2d>();
        if (conv && bn) {
          fold_pair(*conv, *bn);
          ++folded;
        }
      }
      continue;
    }
    // torchvision's named pairs: conv1/bn1, conv2/bn2, ...
    for (const auto& child : children) {
      if (child.key().rfind("conv", 0) != 0) continue;
      auto* conv = child.value()->as<torch::nn::Conv2d>();
      const auto* partner = children.find("bn" + child.key().substr(4));
      if (conv == nullptr || partner == nullptr) continue;
      if (auto* bn = (*partner)->as<torch::nn::BatchNorm2d>()) {
        fold_pair(*conv, *bn);
        ++folded;
      }
    }
  }
  return folded;
}

namespace {

// Dropout layers with p > 0 in `module`, switched to training mode (active) for its lifetime.
class DropoutActiveScope {
 public:
  explicit DropoutActiveScope(torch::nn::Module& module) {
    for (const auto& child : module.modules(/*include_self=*/false)) {
      if (models::dropout_rate(*child) <= 0) continue;
      switched_.push_back({child, child->is_training()});
      child->train(true);
    }
  }
  ~DropoutActiveScope() {
    for (auto& [module, was_training] : switched_)
      module->train(was_training);
  }
  size_t count() const { return switched_.size(); }

 private:
  std::vector<std::pair<std::shared_ptr<torch::nn::Module>, bool>> switched_;
};

// Seeds torch's default generator for repeatable Monte Carlo dropout and restores the caller's
// random stream afterwards.
class SeededGeneratorScope {
 public:
  explicit SeededGeneratorScope(uint64_t seed) {
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    saved_ = generator.get_state();
    generator.set_current_seed(seed);
  }
  ~SeededGeneratorScope() {
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(saved_);
  }

 private:
  torch::Tensor saved_;
};

constexpr uint64_t kMonteCarloSeed = 20240917;

}  // namespace

ScenePredictor::ScenePredictor(models::SegmentationModel model, data::Normalization normalization,
                               std::vector<std::string> head_labels, InferenceOptions options,
                               std::vector<double> temperatures)
    : model_(std::move(model)),
      normalization_(std::move(normalization)),
      head_labels_(std::move(head_labels)),
      options_(std::move(options)),
      temperatures_(std::move(temperatures)) {
  validate(options_);
  if (head_labels_.size() != model_->spec().heads.size())
    throw std::invalid_argument("ScenePredictor: " + std::to_string(head_labels_.size()) +
                                " head labels for " + std::to_string(model_->spec().heads.size()) +
                                " heads");
  require(options_.mc_dropout == 0 || dropout_layers() > 0,
          "--mc-dropout " + std::to_string(options_.mc_dropout) + ": the model (" +
              model_->spec().encoder + " + " + model_->spec().decoder +
              ") has no dropout layer to keep active; use a deeplabv3 model (model.dropout > 0) "
              "or an ensemble of checkpoints (--checkpoint repeated or an experiment arm "
              "folder)");
  const auto arithmetic = resolve_arithmetic(options_);
  sarseg::log::info("inference: {}", arithmetic.description);
  if (arithmetic.precision == "int8") {
    int8_ = std::make_shared<models::Int8Model>(model_);
    sarseg::log::debug("inference: int8, {} quantized convolutions",
                       int8_->quantized_convolutions());
    return;
  }
  const torch::Device device(resolve_device_name(options_.device));
  // bf16 with folded BatchNorm on the CPU: the paper's architectures run as one folded graph
  // (no BatchNorm passes left, weights in bf16 once; models/int8.h folded_bf16). That graph has
  // no dropout layers, so Monte Carlo dropout keeps the module graph.
  if (arithmetic.precision == "bf16" && arithmetic.fold_batchnorm && device.is_cpu() &&
      options_.mc_dropout == 0 && models::int8_unsupported_reason(model_->spec()).empty()) {
    folded_bf16_ = std::make_shared<models::Int8Model>(models::Int8Model::folded_bf16(model_));
    folded_ = static_cast<int>(folded_bf16_->quantized_convolutions());
    sarseg::log::debug("inference: bf16 folded graph, {} convolutions", folded_);
    return;
  }
  const bool move = model_->parameters().front().device() != device;
  if (arithmetic.fold_batchnorm || arithmetic.channels_last || move) {
    model_ = copy_model(model_);
    model_->to(device);
    model_->eval();
    if (arithmetic.fold_batchnorm) {
      folded_ = fold_batchnorm(*model_);
      sarseg::log::debug("inference: folded {} BatchNorm layers into convolutions", folded_);
    }
    if (arithmetic.channels_last) models::convert_to_channels_last(*model_);
  }
}

void ScenePredictor::check_scene(const io::Scene& scene) const {
  data::check_input_bands(scene, normalization_);
}

int ScenePredictor::dropout_layers() const {
  int count = 0;
  for (const auto& child : model_->modules(/*include_self=*/false)) {
    count += models::dropout_rate(*child) > 0 ? 1 : 0;
  }
  return count;
}

TiledModel ScenePredictor::tiled_model() const {
  TiledModel tiled;
  if (int8_) {
    tiled.forward = [int8 = int8_](const torch::Tensor& x) { return int8->forward_heads(x); };
    tiled.calibrate = [int8 = int8_](const std::vector<torch::Tensor>& crops) {
      int8->calibrate(crops);
    };
  } else if (folded_bf16_) {
    tiled.forward = [graph = folded_bf16_](const torch::Tensor& x) {
      return graph->forward_heads_bf16(x);
    };
  } else {
    tiled.forward = [impl = model_.ptr()](const torch::Tensor& x) {
      return impl->forward_heads(x);
    };
  }
  tiled.in_channels = model_->spec().in_channels;
  tiled.size_multiple = model_->size_multiple();
  tiled.heads = model_->spec().heads;
  if (options_.calibrated) tiled.temperatures = temperatures_;
  return tiled;
}

ScenePrediction ScenePredictor::predict(const io::Scene& scene, bool probabilities,
                                        bool uncertainty) const {
  EvalModeScope eval_mode(*model_.ptr());
  const TiledModel tiled = tiled_model();
  if (options_.mc_dropout == 0) {
    return predict_tiled_ensemble({{&tiled, &normalization_}}, scene, head_labels_, options_,
                                  probabilities, uncertainty);
  }
  DropoutActiveScope dropout(*model_.ptr());
  SeededGeneratorScope seeded(kMonteCarloSeed);
  const std::vector<EnsembleMember> passes(static_cast<size_t>(options_.mc_dropout),
                                           EnsembleMember{&tiled, &normalization_});
  return predict_tiled_ensemble(passes, scene, head_labels_, options_, probabilities, uncertainty);
}

EnsemblePredictor::EnsemblePredictor(std::vector<ScenePredictor> members)
    : members_(std::move(members)) {
  require(!members_.empty(), "an ensemble needs at least one checkpoint");
  const auto& first = members_.front();
  for (size_t m = 1; m < members_.size(); ++m) {
    const auto& member = members_[m];
    require(member.head_labels() == first.head_labels() &&
                same_heads(member.model()->spec().heads, first.model()->spec().heads),
            "ensemble member " + std::to_string(m + 1) + " predicts " +
                join(member.head_labels(), ", ") + " with other classes than member 1 (" +
                join(first.head_labels(), ", ") +
                "); give checkpoints of one model and task, e.g. the seeds of one experiment arm");
    require(member.options().mc_dropout == 0,
            "--mc-dropout applies to one checkpoint; with " + std::to_string(members_.size()) +
                " checkpoints the ensemble already measures their disagreement: drop "
                "--mc-dropout or give one checkpoint");
  }
  require(members_.size() == 1 || first.options().mc_dropout == 0,
          "--mc-dropout applies to one checkpoint; with " + std::to_string(members_.size()) +
              " checkpoints the ensemble already measures their disagreement: drop "
              "--mc-dropout or give one checkpoint");
}

int64_t EnsemblePredictor::passes() const {
  if (members_.size() == 1 && members_.front().options().mc_dropout > 0)
    return members_.front().options().mc_dropout;
  return static_cast<int64_t>(members_.size());
}

void EnsemblePredictor::check_scene(const io::Scene& scene) const {
  for (const auto& member : members_)
    member.check_scene(scene);
}

ScenePrediction EnsemblePredictor::predict(const io::Scene& scene, bool probabilities,
                                           bool uncertainty) const {
  if (members_.size() == 1) return members_.front().predict(scene, probabilities, uncertainty);
  std::vector<std::unique_ptr<EvalModeScope>> eval_modes;
  std::vector<TiledModel> tiled;
  tiled.reserve(members_.size());
  for (const auto& member : members_) {
    eval_modes.push_back(std::make_unique<EvalModeScope>(*member.model().ptr()));
    tiled.push_back(member.tiled_model());
  }
  std::vector<EnsembleMember> ensemble;
  for (size_t m = 0; m < members_.size(); ++m)
    ensemble.push_back({&tiled[m], &members_[m].normalization()});
  return predict_tiled_ensemble(ensemble, scene, head_labels(), members_.front().options(),
                                probabilities, uncertainty);
}

}  // namespace sarseg::infer
