#include "sarseg/models/int8.h"

#include <ATen/core/dispatch/Dispatcher.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>

#include "sarseg/models/layers.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"

namespace sarseg::models {
namespace {

namespace nn = torch::nn;

// 8-bit activations (quint8 0..255) and 7-bit weights (qint8 -63..63), see the header.
constexpr int64_t kActivationMax = 255;
constexpr double kWeightMax = 63.0;

// LibTorch's quantized operators are reached through the dispatcher, boxed: their packed-weight
// type lives in headers that differ between LibTorch versions, the boxed calls do not.
c10::IValue call_operator(const std::string& name, const std::string& overload,
                          std::vector<c10::IValue> stack) {
  const auto op = c10::Dispatcher::singleton().findSchemaOrThrow(name.c_str(), overload.c_str());
  op.callBoxed(&stack);
  return stack.at(0);
}

std::optional<at::QEngine> pick_engine() {
  const auto& engines = at::globalContext().supportedQEngines();
  for (auto wanted : {at::QEngine::ONEDNN, at::QEngine::FBGEMM})
    if (std::find(engines.begin(), engines.end(), wanted) != engines.end()) return wanted;
  return std::nullopt;
}

// Running minimum and maximum of a tensor's values, and the quint8 (0..255) parameters that cover
// them (zero always representable: padding and ReLU produce it).
struct Range {
  double low = std::numeric_limits<double>::infinity();
  double high = -std::numeric_limits<double>::infinity();

  void observe(const torch::Tensor& x) {
    const auto extrema = torch::aminmax(x);
    low = std::min(low, std::get<0>(extrema).item<double>());
    high = std::max(high, std::get<1>(extrema).item<double>());
  }
  double scale() const {
    const double span = std::max(high, 0.0) - std::min(low, 0.0);
    return std::max(span, 1e-6) / static_cast<double>(kActivationMax);
  }
  int64_t zero_point() const {
    const auto zp = static_cast<int64_t>(std::lround(-std::min(low, 0.0) / scale()));
    return std::clamp<int64_t>(zp, 0, kActivationMax);
  }
};

// A convolution with its BatchNorm folded in and, optionally, a ReLU after it.
struct ConvUnit {
  torch::Tensor weight, bias;  // fp32, folded
  std::vector<int64_t> stride, padding, dilation;
  bool relu = false;
  Range output;
  c10::IValue packed;                    // int8 weights + fp32 bias, prepacked for the engine
  torch::Tensor weight_bf16, bias_bf16;  // the bf16 graph's copies: cast once, channels-last

  torch::Tensor run_fp32(const torch::Tensor& x) {
    auto y = dilation[0] > 1 && stride[0] == 1 && weight.size(-1) == 3
                 ? dilated_conv3x3(x, weight, bias, dilation[0])
                 : torch::conv2d(x, weight, bias, stride, padding, dilation);
    if (relu) y = y.relu_();
    return y;
  }
};

}  // namespace

struct Int8Model::Impl {
  struct Block {
    std::vector<ConvUnit> convs;  // main path; the last has no ReLU
    std::optional<ConvUnit> downsample;
    Range output;  // after the residual add and ReLU
  };
  struct Head {
    torch::Tensor weight, bias;
  };

  at::QEngine engine = at::QEngine::NoQEngine;
  Range input;
  ConvUnit stem;
  std::vector<Block> blocks;
  std::vector<ConvUnit> aspp;  // 1x1, one per rate, then the pooled branch's 1x1
  int64_t aspp_pool = 2;
  Range aspp_concat;
  ConvUnit project, block;
  std::vector<Head> heads;
  bool calibrated = false;
  bool quantized = true;  // false: built by folded_bf16 (no int8 weights)

  std::vector<ConvUnit*> units() {
    std::vector<ConvUnit*> all{&stem};
    for (auto& b : blocks) {
      for (auto& c : b.convs)
        all.push_back(&c);
      if (b.downsample) all.push_back(&*b.downsample);
    }
    for (auto& c : aspp)
      all.push_back(&c);
    all.push_back(&project);
    all.push_back(&block);
    return all;
  }

  // The graph, once, for both executions: `Ops` is the fp32 observer or the int8 runner.
  template <class Ops>
  std::vector<torch::Tensor> run(Ops& ops, const torch::Tensor& x) {
    auto y = ops.conv(stem, ops.enter(x, input));
    y = ops.max_pool(y);
    for (auto& b : blocks) {
      auto identity = b.downsample ? ops.conv(*b.downsample, y) : y;
      auto out = y;
      for (auto& c : b.convs)
        out = ops.conv(c, out);
      y = ops.add_relu(out, identity, b.output);
    }
    std::vector<torch::Tensor> branches;
    for (size_t i = 0; i + 1 < aspp.size(); ++i)
      branches.push_back(ops.conv(aspp[i], y));
    auto pooled = ops.conv(aspp.back(), ops.avg_pool(y, aspp_pool));
    branches.push_back(ops.upsample(pooled, {y.size(-2), y.size(-1)}));
    auto z = ops.conv(block, ops.conv(project, ops.concat(branches, aspp_concat)));
    z = ops.leave(z);
    std::vector<torch::Tensor> outputs;
    for (const auto& head : heads) {
      outputs.push_back(torch::upsample_bilinear2d(torch::conv2d(z, head.weight, head.bias),
                                                   {x.size(-2), x.size(-1)}, false));
    }
    return outputs;
  }
};

namespace {

// Pooling and upsampling: the same ATen calls take fp32 and quantized tensors.
struct ResamplingOps {
  torch::Tensor max_pool(const torch::Tensor& x) {
    return torch::max_pool2d(x, {3, 3}, {2, 2}, {1, 1}, {1, 1});
  }
  torch::Tensor avg_pool(const torch::Tensor& x, int64_t pool) {
    return torch::avg_pool2d(x, {pool, pool}, {pool, pool});
  }
  torch::Tensor upsample(const torch::Tensor& x, std::vector<int64_t> size) {
    return torch::upsample_bilinear2d(x, size, false);
  }
};

// fp32 execution of the folded graph, optionally recording every activation range.
struct Fp32Ops : ResamplingOps {
  bool observe = false;
  torch::Tensor enter(const torch::Tensor& x, Range& range) {
    if (observe) range.observe(x);
    return x;
  }
  torch::Tensor conv(ConvUnit& unit, const torch::Tensor& x) {
    auto y = unit.run_fp32(x);
    if (observe) unit.output.observe(y);
    return y;
  }
  torch::Tensor add_relu(torch::Tensor a, const torch::Tensor& b, Range& range) {
    auto y = a.add_(b).relu_();
    if (observe) range.observe(y);
    return y;
  }
  torch::Tensor concat(const std::vector<torch::Tensor>& parts, Range& range) {
    auto y = torch::cat(parts, 1);
    if (observe) range.observe(y);
    return y;
  }
  torch::Tensor leave(const torch::Tensor& x) { return x; }
};

// int8 execution: quint8 activations in channels-last layout (what oneDNN's int8 kernels take).
struct Int8Ops : ResamplingOps {
  torch::Tensor enter(const torch::Tensor& x, Range& range) {
    return torch::quantize_per_tensor(x.contiguous(torch::MemoryFormat::ChannelsLast),
                                      range.scale(), range.zero_point(), torch::kQUInt8);
  }
  torch::Tensor conv(ConvUnit& unit, const torch::Tensor& x) {
    return call_operator("quantized::conv2d" + std::string(unit.relu ? "_relu" : ""), "new",
                         {x, unit.packed, unit.output.scale(), unit.output.zero_point()})
        .toTensor();
  }
  torch::Tensor add_relu(const torch::Tensor& a, const torch::Tensor& b, Range& range) {
    return call_operator("quantized::add_relu", "", {a, b, range.scale(), range.zero_point()})
        .toTensor();
  }
  torch::Tensor concat(const std::vector<torch::Tensor>& parts, Range& range) {
    return call_operator("quantized::cat", "",
                         {parts, int64_t{1}, range.scale(), range.zero_point()})
        .toTensor();
  }
  torch::Tensor leave(const torch::Tensor& x) { return x.dequantize().contiguous(); }
};

// 3x3 / stride 2 / padding 1 max pooling of a non-negative map (the stem's output, after its ReLU)
// as elementwise maxima of strided views, rows then columns. Exact: a window always holds a real
// value >= 0, so the padding never wins. LibTorch 1.13 has only max_pool2d_with_indices on the
// CPU, 11 % of a bf16 tile's time; this is a few elementwise passes. Even sizes only.
torch::Tensor max_pool_3x3_s2_non_negative(const torch::Tensor& x) {
  const int64_t h = x.size(2), w = x.size(3);
  if (h % 2 != 0 || w % 2 != 0 || h < 4 || w < 4)
    return torch::max_pool2d(x, {3, 3}, {2, 2}, {1, 1}, {1, 1});
  // Output row i covers rows 2i-1, 2i and 2i+1.
  const auto even_rows = x.slice(2, 0, h, 2), odd_rows = x.slice(2, 1, h, 2);
  auto rows = torch::maximum(even_rows, odd_rows);
  auto later_rows = rows.narrow(2, 1, h / 2 - 1);
  torch::maximum_out(later_rows, later_rows, odd_rows.narrow(2, 0, h / 2 - 1));
  const auto even_columns = rows.slice(3, 0, w, 2), odd_columns = rows.slice(3, 1, w, 2);
  auto out = torch::maximum(even_columns, odd_columns);
  auto later_columns = out.narrow(3, 1, w / 2 - 1);
  torch::maximum_out(later_columns, later_columns, odd_columns.narrow(3, 0, w / 2 - 1));
  return out;
}

// bf16 execution of the folded graph (no BatchNorm left to run): bf16 channels-last activations
// and weights cast once, ReLU and residual add in place; the heads' 1x1 convolutions and the
// upsampling of their logits in fp32 (what the probabilities are made of).
struct Bf16Ops : ResamplingOps {
  torch::Tensor enter(const torch::Tensor& x, Range&) {
    return x.to(torch::kBFloat16).contiguous(torch::MemoryFormat::ChannelsLast);
  }
  torch::Tensor conv(ConvUnit& unit, const torch::Tensor& x) {
    auto y = unit.dilation[0] > 1 && unit.stride[0] == 1 && unit.weight.size(-1) == 3
                 ? dilated_conv3x3(x, unit.weight_bf16, unit.bias_bf16, unit.dilation[0])
                 : torch::conv2d(x, unit.weight_bf16, unit.bias_bf16, unit.stride, unit.padding,
                                 unit.dilation);
    if (unit.relu) y = y.relu_();
    return y;
  }
  torch::Tensor max_pool(const torch::Tensor& x) { return max_pool_3x3_s2_non_negative(x); }
  torch::Tensor add_relu(torch::Tensor a, const torch::Tensor& b, Range&) {
    return a.add_(b).relu_();
  }
  torch::Tensor concat(const std::vector<torch::Tensor>& parts, Range&) {
    return torch::cat(parts, 1);
  }
  torch::Tensor leave(const torch::Tensor& x) { return x.to(torch::kFloat).contiguous(); }
};

const nn::Module& submodule(const SegmentationModel& model, const std::string& name) {
  const auto modules = model->named_modules();
  const auto* found = modules.find(name);
  if (found == nullptr) throw std::logic_error("int8: the model has no module '" + name + "'");
  return **found;
}

bool has_module(const SegmentationModel& model, const std::string& name) {
  return model->named_modules().find(name) != nullptr;
}

// The convolution `conv` (a Conv2d) with the BatchNorm2d `bn` folded in.
ConvUnit make_unit(const SegmentationModel& model, const std::string& conv, const std::string& bn,
                   bool relu) {
  const auto* c = submodule(model, conv).as<nn::Conv2d>();
  const auto* b = submodule(model, bn).as<nn::BatchNorm2d>();
  if (c == nullptr || b == nullptr)
    throw std::logic_error("int8: '" + conv + "' / '" + bn +
                           "' are not a Conv2d and a BatchNorm2d");
  ConvUnit unit;
  const auto folded = fold_batchnorm_parameters(*c, *b);
  unit.weight = folded.weight.to(torch::kFloat).contiguous();
  unit.bias = folded.bias.to(torch::kFloat).contiguous();
  const auto& options = c->options;
  unit.stride = {options.stride()->at(0), options.stride()->at(1)};
  unit.dilation = {options.dilation()->at(0), options.dilation()->at(1)};
  // Every convolution of these models pads to keep the size ("same" for stride 1).
  unit.padding = {unit.dilation[0] * (options.kernel_size()->at(0) - 1) / 2,
                  unit.dilation[1] * (options.kernel_size()->at(1) - 1) / 2};
  unit.relu = relu;
  return unit;
}

void prepack(ConvUnit& unit) {
  const int64_t out = unit.weight.size(0);
  auto scales =
      (unit.weight.abs().amax({1, 2, 3}) / kWeightMax).clamp_min(1e-12).to(torch::kDouble);
  auto weight = torch::quantize_per_channel(unit.weight, scales, torch::zeros({out}, torch::kLong),
                                            0, torch::kQInt8);
  unit.packed =
      call_operator("quantized::conv2d_prepack", "",
                    {weight, unit.bias, unit.stride, unit.padding, unit.dilation, int64_t{1}});
}

}  // namespace

std::string int8_unsupported_reason(const ModelSpec& spec) {
  const bool resnet = spec.encoder.rfind("resnet", 0) == 0;
  if (resnet && find_decoder(spec.decoder).int8_supported) return "";
  std::vector<std::string> decoders;
  for (const auto& info : decoder_registry())
    if (info.int8_supported) decoders.push_back(info.name);
  return "int8 inference covers ResNet encoders with the " + join(decoders, " or ") +
         " decoder (the paper's model); this model is " + model_label(spec) +
         ": use --precision fp32 or bf16";
}

bool int8_engine_available() {
  return pick_engine().has_value();
}

Int8Model::Int8Model(const SegmentationModel& model) : Int8Model(model, true) {}

Int8Model Int8Model::folded_bf16(const SegmentationModel& model) {
  return Int8Model(model, false);
}

Int8Model::Int8Model(const SegmentationModel& model, bool quantize)
    : impl_(std::make_unique<Impl>()) {
  const auto& spec = model->spec();
  const auto reason = int8_unsupported_reason(spec);
  require(reason.empty(), reason);
  if (quantize) {
    const auto engine = pick_engine();
    require(engine.has_value(),
            "int8 inference needs a quantized CPU engine (oneDNN or FBGEMM), which this LibTorch "
            "lacks; use --precision fp32");
    impl_->engine = *engine;
    at::globalContext().setQEngine(impl_->engine);
  }
  torch::NoGradGuard no_grad;

  auto& m = *impl_;
  m.stem = make_unit(model, "encoder.conv1", "encoder.bn1", true);
  for (int layer = 1; has_module(model, "encoder.layer" + std::to_string(layer)); ++layer) {
    for (int index = 0;; ++index) {
      const auto prefix = "encoder.layer" + std::to_string(layer) + "." + std::to_string(index);
      if (!has_module(model, prefix)) break;
      Impl::Block block;
      const int convs = has_module(model, prefix + ".conv3") ? 3 : 2;
      for (int k = 1; k <= convs; ++k) {
        block.convs.push_back(make_unit(model, prefix + ".conv" + std::to_string(k),
                                        prefix + ".bn" + std::to_string(k), k < convs));
      }
      if (has_module(model, prefix + ".downsample"))
        block.downsample =
            make_unit(model, prefix + ".downsample.0", prefix + ".downsample.1", false);
      m.blocks.push_back(std::move(block));
    }
  }
  const size_t rates = spec.aspp_rates.size();
  for (size_t i = 0; i <= rates; ++i) {
    const auto prefix = "decoder.aspp.convs." + std::to_string(i);
    m.aspp.push_back(make_unit(model, prefix + ".0", prefix + ".1", true));
  }
  const auto pooled = "decoder.aspp.convs." + std::to_string(rates + 1);
  m.aspp.push_back(make_unit(model, pooled + ".1", pooled + ".2", true));
  m.aspp_pool = spec.aspp_pool;
  m.project = make_unit(model, "decoder.aspp.project.0", "decoder.aspp.project.1", true);
  m.block = make_unit(model, "decoder.block.0", "decoder.block.1", true);
  for (size_t h = 0; h < spec.heads.size(); ++h) {
    const auto* conv = submodule(model, "decoder.heads." + std::to_string(h)).as<nn::Conv2d>();
    m.heads.push_back({conv->weight.detach().to(torch::kFloat).clone(),
                       conv->bias.detach().to(torch::kFloat).clone()});
  }
  for (auto* unit : m.units()) {
    if (quantize) {
      prepack(*unit);
    } else {
      unit->weight_bf16 =
          unit->weight.to(torch::kBFloat16).contiguous(torch::MemoryFormat::ChannelsLast);
      unit->bias_bf16 = unit->bias.to(torch::kBFloat16);
    }
  }
  m.quantized = quantize;
}

Int8Model::~Int8Model() = default;
Int8Model::Int8Model(Int8Model&&) noexcept = default;
Int8Model& Int8Model::operator=(Int8Model&&) noexcept = default;

void Int8Model::calibrate(const std::vector<torch::Tensor>& crops) {
  require(!crops.empty(), "int8: calibration needs at least one crop");
  torch::NoGradGuard no_grad;
  auto& m = *impl_;
  m.input = {};
  m.aspp_concat = {};
  for (auto* unit : m.units())
    unit->output = {};
  for (auto& b : m.blocks)
    b.output = {};
  Fp32Ops ops;
  ops.observe = true;
  for (const auto& crop : crops)
    m.run(ops, crop.to(torch::kFloat));
  m.calibrated = true;
}

bool Int8Model::calibrated() const {
  return impl_->calibrated;
}

std::vector<torch::Tensor> Int8Model::forward_heads(const torch::Tensor& x) const {
  if (!impl_->quantized) throw std::logic_error("Int8Model::forward_heads on a folded_bf16 graph");
  if (!impl_->calibrated) throw std::logic_error("Int8Model::forward_heads before calibrate()");
  if (at::globalContext().qEngine() != impl_->engine) at::globalContext().setQEngine(impl_->engine);
  Int8Ops ops;
  return impl_->run(ops, x.to(torch::kFloat));
}

std::vector<torch::Tensor> Int8Model::forward_heads_bf16(const torch::Tensor& x) const {
  if (impl_->quantized) throw std::logic_error("Int8Model::forward_heads_bf16 without folded_bf16");
  // The graph chooses each operation's precision itself (the heads stay fp32).
  c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
  Bf16Ops ops;
  return impl_->run(ops, x);
}

std::vector<torch::Tensor> Int8Model::forward_heads_fp32(const torch::Tensor& x) const {
  Fp32Ops ops;
  return impl_->run(ops, x.to(torch::kFloat));
}

int64_t Int8Model::quantized_convolutions() const {
  return static_cast<int64_t>(impl_->units().size());
}

}  // namespace sarseg::models
