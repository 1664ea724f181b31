#include "sarseg/infer/inference.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <stdexcept>

#include "sarseg/eval/scoring.h"
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

ScenePrediction predict_tiled(const TiledModel& model, const io::Scene& scene,
                              const data::Normalization& normalization,
                              const std::vector<std::string>& head_labels,
                              const InferenceOptions& options, bool probabilities) {
  validate(options);
  const auto start = std::chrono::steady_clock::now();
  const Blend blend = parse_blend(options.blend);
  const int64_t height = scene.height, width = scene.width;
  require(height > 0 && width > 0, "scene '" + scene.id + "' (" + scene.source_path +
                                       ") is empty; give a scene with pixels");
  if (head_labels.size() != model.heads.size())
    throw std::invalid_argument("predict_tiled: " + std::to_string(head_labels.size()) +
                                " head labels for " + std::to_string(model.heads.size()) +
                                " heads");

  require(static_cast<int64_t>(normalization.bands.size()) == model.in_channels,
          "the model takes " + std::to_string(model.in_channels) + " input bands but its " +
              "normalisation lists " + std::to_string(normalization.bands.size()) + " (" +
              join(normalization.bands, ", ") + "); the checkpoint is inconsistent");
  const data::SceneNormalizer input(scene, normalization);
  ScenePrediction result;
  result.valid = input.valid();

  // Tiling geometry on the padded scene.
  const int64_t m = std::max<int64_t>(1, model.size_multiple);
  const int64_t padded_h = round_up(height, m), padded_w = round_up(width, m);
  AxisPlan plan_h{padded_h, padded_h}, plan_w{padded_w, padded_w};  // one pass
  if (options.tile > 0) {
    plan_h = plan_axis(padded_h, options.tile, options.overlap, m);
    plan_w = plan_axis(padded_w, options.tile, options.overlap, m);
  }
  const int64_t tile_h = plan_h.tile, tile_w = plan_w.tile;
  const auto rows = tile_origins(padded_h, tile_h, plan_h.stride);
  const auto cols = tile_origins(padded_w, tile_w, plan_w.stride);
  const auto row_weights = axis_weights(rows, tile_h, blend);
  const auto col_weights = axis_weights(cols, tile_w, blend);
  result.tile_height = tile_h;
  result.tile_width = tile_w;

  // Output channels of every head, stacked.
  std::vector<int64_t> head_offset;
  int64_t channels = 0;
  for (const auto& head : model.heads) {
    head_offset.push_back(channels);
    channels += head.regression ? 1 : head.outputs;
  }
  for (size_t h = 0; h < model.heads.size(); ++h) {
    HeadPrediction out;
    out.label = head_labels[h];
    out.regression = model.heads[h].regression;
    out.classes = io::LabelRaster(height, width, io::kLabelFill);
    if (probabilities && !out.regression)
      out.probabilities.assign(static_cast<size_t>(model.heads[h].outputs),
                               io::LabelRaster(height, width, io::kLabelFill));
    result.heads.push_back(std::move(out));
  }

  // Accumulators for one tile row: rows [row_start, row_start + tile_h) of the padded scene.
  auto accumulated = torch::zeros({channels, tile_h, padded_w}, torch::kFloat);
  auto weight_sum = torch::zeros({tile_h, padded_w}, torch::kFloat);
  int64_t row_start = 0;

  // Writes finished rows [row_start, row_start + count) into the outputs.
  auto finalise = [&](int64_t count) {
    count = std::min(count, height - row_start);
    if (count <= 0) return;
    auto weights = weight_sum.narrow(0, 0, count).narrow(1, 0, width);
    if (weights.min().item<float>() <= 0.0f)
      throw std::logic_error("tile blending left a pixel without weight");
    const size_t first = static_cast<size_t>(row_start * width);
    const size_t n = static_cast<size_t>(count * width);
    const uint8_t* valid = result.valid.data.data() + first;
    auto store = [&](const torch::Tensor& values, io::LabelRaster& raster) {
      auto bytes = values.contiguous();
      uint8_t* dst = raster.data.data() + first;
      std::memcpy(dst, bytes.data_ptr<uint8_t>(), n);
      for (size_t i = 0; i < n; ++i)
        if (!valid[i]) dst[i] = io::kLabelFill;
    };
    for (size_t h = 0; h < model.heads.size(); ++h) {
      const auto& spec = model.heads[h];
      auto values = accumulated.narrow(0, head_offset[h], spec.regression ? 1 : spec.outputs)
                        .narrow(1, 0, count)
                        .narrow(2, 0, width);
      auto& out = result.heads[h];
      if (spec.regression) {
        const auto top = static_cast<double>(head_class_count(spec, out.label) - 1);
        store((values[0] / weights).round().clamp(0, top).to(torch::kUInt8), out.classes);
        continue;
      }
      store(argmax_over_channels(values), out.classes);  // weights > 0: argmax unchanged
      for (int64_t c = 0; c < static_cast<int64_t>(out.probabilities.size()); ++c)
        store((values[c] / weights * 254.0f).round().clamp(0, 254).to(torch::kUInt8),
              out.probabilities[static_cast<size_t>(c)]);
    }
  };

  const int64_t in_channels = model.in_channels;
  // Normalised input of the padded-scene window at (y, x), h x w, channel-major, into `dst`.
  auto load_window = [&](float* dst, int64_t y, int64_t x, int64_t h, int64_t w) {
    input.window(dst, y, x, h, w);
  };

  std::optional<torch::InferenceMode> inference_guard;
  std::optional<torch::NoGradGuard> no_grad_guard;
  if (options.inference_mode) {
    inference_guard.emplace();
  } else {
    no_grad_guard.emplace();
  }
  const torch::Device device(resolve_device_name(options.device));
  const bool bf16 = resolved_precision(options) == "bf16";
  compat::AutocastGuard autocast(bf16, device.type());

  if (model.calibrate) {
    std::vector<torch::Tensor> crops;
    for (const auto& window :
         calibration_windows(result.valid, padded_h, padded_w, std::min(tile_h, tile_w), m)) {
      auto crop = torch::empty({1, in_channels, window.size, window.size}, torch::kFloat);
      load_window(crop.data_ptr<float>(), window.y, window.x, window.size, window.size);
      crops.push_back(crop);
    }
    const auto calibration_start = std::chrono::steady_clock::now();
    model.calibrate(crops);
    result.model_seconds += seconds_since(calibration_start);
  }

  const int64_t batch = std::max<int64_t>(1, options.batch);
  for (size_t r = 0; r < rows.size(); ++r) {
    const int64_t y = rows[r];
    if (y > row_start) {
      // Rows above y are complete: no later tile row reaches them.
      const int64_t shift = y - row_start;
      finalise(shift);
      const int64_t keep = tile_h - shift;
      if (keep > 0) {
        accumulated.narrow(1, 0, keep).copy_(accumulated.narrow(1, shift, keep).clone());
        weight_sum.narrow(0, 0, keep).copy_(weight_sum.narrow(0, shift, keep).clone());
      }
      accumulated.narrow(1, std::max<int64_t>(keep, 0), std::min(shift, tile_h)).zero_();
      weight_sum.narrow(0, std::max<int64_t>(keep, 0), std::min(shift, tile_h)).zero_();
      row_start = y;
    }
    for (size_t c0 = 0; c0 < cols.size(); c0 += static_cast<size_t>(batch)) {
      const size_t count = std::min(cols.size() - c0, static_cast<size_t>(batch));
      auto input =
          torch::empty({static_cast<int64_t>(count), in_channels, tile_h, tile_w}, torch::kFloat);
      for (size_t b = 0; b < count; ++b) {
        load_window(
            input.data_ptr<float>() + static_cast<int64_t>(b) * in_channels * tile_h * tile_w, y,
            cols[c0 + b], tile_h, tile_w);
      }
      if (options.channels_last) input = input.contiguous(torch::MemoryFormat::ChannelsLast);
      const auto forward_start = std::chrono::steady_clock::now();
      auto outputs = model.forward(device.is_cpu() ? input : input.to(device));
      if (!device.is_cpu()) outputs = to_cpu_float(outputs);  // waits for the device
      result.model_seconds += seconds_since(forward_start);
      if (outputs.size() != model.heads.size())
        throw std::logic_error("model returned " + std::to_string(outputs.size()) +
                               " heads, expected " + std::to_string(model.heads.size()));
      std::vector<torch::Tensor> values;
      for (size_t h = 0; h < outputs.size(); ++h) {
        auto v = outputs[h].to(torch::kFloat);  // bf16 autocast gives bf16
        values.push_back(model.heads[h].regression ? v : torch::softmax(v, 1));
      }
      auto stacked = values.size() == 1 ? values[0] : torch::cat(values, 1);  // [B, C, th, tw]
      for (size_t b = 0; b < count; ++b) {
        const int64_t x = cols[c0 + b];
        auto w = torch::outer(row_weights[r], col_weights[c0 + b]);
        accumulated.narrow(2, x, tile_w).add_(stacked[static_cast<int64_t>(b)] * w);
        weight_sum.narrow(1, x, tile_w).add_(w);
        ++result.tiles;
      }
    }
  }
  finalise(tile_h);
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

ScenePredictor::ScenePredictor(models::SegmentationModel model, data::Normalization normalization,
                               std::vector<std::string> head_labels, InferenceOptions options)
    : model_(std::move(model)),
      normalization_(std::move(normalization)),
      head_labels_(std::move(head_labels)),
      options_(std::move(options)) {
  validate(options_);
  if (head_labels_.size() != model_->spec().heads.size())
    throw std::invalid_argument("ScenePredictor: " + std::to_string(head_labels_.size()) +
                                " head labels for " + std::to_string(model_->spec().heads.size()) +
                                " heads");
  if (resolved_precision(options_) == "int8") {
    int8_ = std::make_shared<models::Int8Model>(model_);
    sarseg::log::debug("inference: int8, {} quantized convolutions",
                       int8_->quantized_convolutions());
    return;
  }
  const torch::Device device(resolve_device_name(options_.device));
  const bool move = model_->parameters().front().device() != device;
  if (options_.fold_batchnorm || options_.channels_last || move) {
    model_ = copy_model(model_);
    model_->to(device);
    model_->eval();
    if (options_.fold_batchnorm) {
      folded_ = fold_batchnorm(*model_);
      sarseg::log::debug("inference: folded {} BatchNorm layers into convolutions", folded_);
    }
    if (options_.channels_last) models::convert_to_channels_last(*model_);
  }
}

void ScenePredictor::check_scene(const io::Scene& scene) const {
  data::check_input_bands(scene, normalization_);
}

ScenePrediction ScenePredictor::predict(const io::Scene& scene, bool probabilities) const {
  EvalModeScope eval_mode(*model_.ptr());
  TiledModel tiled;
  if (int8_) {
    tiled.forward = [int8 = int8_](const torch::Tensor& x) { return int8->forward_heads(x); };
    tiled.calibrate = [int8 = int8_](const std::vector<torch::Tensor>& crops) {
      int8->calibrate(crops);
    };
  } else {
    tiled.forward = [impl = model_.ptr()](const torch::Tensor& x) {
      return impl->forward_heads(x);
    };
  }
  tiled.in_channels = model_->spec().in_channels;
  tiled.size_multiple = model_->size_multiple();
  tiled.heads = model_->spec().heads;
  return predict_tiled(tiled, scene, normalization_, head_labels_, options_, probabilities);
}

}  // namespace sarseg::infer
