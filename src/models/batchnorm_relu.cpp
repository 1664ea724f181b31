// relu(batch_norm(x)) and batch_norm(x) in training mode, fused for bf16 channels-last maps on the
// CPU.
//
// LibTorch 1.13 runs it as BatchNorm (statistics, then normalisation) and an in-place ReLU: five
// passes over the map forward, and eight backward (the ReLU's mask, then BatchNorm's two). Here
// the forward is two passes (statistics; normalise + ReLU into the output) and the backward two
// (the per-channel sums; the input gradient), with the ReLU's mask recomputed from x. The kernels
// are plain loops over channels-last rows that the compiler vectorises, cloned for AVX-512 and
// AVX2 and picked at run time.
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "sarseg/models/layers.h"
#include "sarseg/util/cpu_kernels.h"

namespace sarseg::models {
namespace {

using util::bf16_to_float;
using util::float_to_bf16;

// Whether the activation clamp(., floor, ceiling) passes the gradient at the pre-activation value
// `pre`. torch masks with its bf16 output, so the clamp is rounded here too: ReLU6 reaches its 6
// from 5.984375 on.
inline bool activation_passes(float pre, float floor, float ceiling) {
  const float y = bf16_to_float(float_to_bf16(std::min(std::max(pre, floor), ceiling)));
  return (y > floor) & (y < ceiling);
}

// Rows of one chunk: per-chunk partial sums are kept in fp32, their total in double.
constexpr int64_t kChunkRows = 256;

// Sums of (x - pivot) and (x - pivot)^2 per channel over `rows` channels-last rows; the pivot (the
// first row) keeps the variance free of cancellation when the mean is large.
SARSEG_CPU_CLONES void chunk_moments(const uint16_t* __restrict x, int64_t rows, int64_t channels,
                                     const float* __restrict pivot, float* __restrict sum,
                                     float* __restrict sum_sq) {
  for (int64_t c = 0; c < channels; ++c)
    sum[c] = sum_sq[c] = 0.f;
  for (int64_t r = 0; r < rows; ++r) {
    const uint16_t* row = x + r * channels;
    for (int64_t c = 0; c < channels; ++c) {
      const float d = bf16_to_float(row[c]) - pivot[c];
      sum[c] += d;
      sum_sq[c] += d * d;
    }
  }
}

// clamp(bn(x), floor, ceiling): [0, inf] for the ReLU, [0, 6] for ReLU6, [-inf, inf] without an
// activation; one loop serves all.
SARSEG_CPU_CLONES void chunk_normalise_relu(const uint16_t* __restrict x, int64_t rows,
                                            int64_t channels, const float* __restrict scale,
                                            const float* __restrict shift, float floor,
                                            float ceiling, uint16_t* __restrict y) {
  for (int64_t r = 0; r < rows; ++r) {
    const uint16_t* in = x + r * channels;
    uint16_t* out = y + r * channels;
    for (int64_t c = 0; c < channels; ++c)
      out[c] = float_to_bf16(
          std::min(std::max(bf16_to_float(in[c]) * scale[c] + shift[c], floor), ceiling));
  }
}

// y = max(x * scale + shift + residual, floor): BatchNorm, the residual connection's sum and the
// ReLU of a ResNet block's end in one pass.
SARSEG_CPU_CLONES void chunk_normalise_add_relu(const uint16_t* __restrict x,
                                                const uint16_t* __restrict residual, int64_t rows,
                                                int64_t channels, const float* __restrict scale,
                                                const float* __restrict shift, float floor,
                                                float ceiling, uint16_t* __restrict y) {
  for (int64_t i = 0; i < rows * channels; i += channels) {
    for (int64_t c = 0; c < channels; ++c) {
      const float sum =
          bf16_to_float(x[i + c]) * scale[c] + shift[c] + bf16_to_float(residual[i + c]);
      y[i + c] = float_to_bf16(std::min(std::max(sum, floor), ceiling));
    }
  }
}

// Sums of g and g * (x - mean) per channel, g being the output gradient where the ReLU passed
// (everywhere when `floor` is -infinity).
SARSEG_CPU_CLONES void chunk_gradient_sums(const uint16_t* __restrict grad,
                                           const uint16_t* __restrict x, int64_t rows,
                                           int64_t channels, const float* __restrict scale,
                                           const float* __restrict shift, float floor,
                                           float ceiling, const float* __restrict mean,
                                           float* __restrict sum_g, float* __restrict sum_gx) {
  for (int64_t c = 0; c < channels; ++c)
    sum_g[c] = sum_gx[c] = 0.f;
  for (int64_t r = 0; r < rows; ++r) {
    const uint16_t* g_row = grad + r * channels;
    const uint16_t* x_row = x + r * channels;
    for (int64_t c = 0; c < channels; ++c) {
      const float v = bf16_to_float(x_row[c]);
      const uint16_t loaded = g_row[c];
      const float g = bf16_to_float(
          activation_passes(v * scale[c] + shift[c], floor, ceiling) ? loaded : uint16_t{0});
      sum_g[c] += g;
      sum_gx[c] += g * (v - mean[c]);
    }
  }
}

// chunk_gradient_sums for the end of a residual block: the ReLU's mask recomputed with the
// residual, and the masked gradient (the residual's own gradient) written to `masked`.
SARSEG_CPU_CLONES void chunk_gradient_sums_with_residual(
    const uint16_t* __restrict grad, const uint16_t* __restrict x,
    const uint16_t* __restrict residual, int64_t rows, int64_t channels,
    const float* __restrict scale, const float* __restrict shift, float floor, float ceiling,
    const float* __restrict mean, float* __restrict sum_g, float* __restrict sum_gx,
    uint16_t* __restrict masked) {
  for (int64_t c = 0; c < channels; ++c)
    sum_g[c] = sum_gx[c] = 0.f;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t offset = r * channels;
    for (int64_t c = 0; c < channels; ++c) {
      const float v = bf16_to_float(x[offset + c]);
      const float sum = v * scale[c] + shift[c] + bf16_to_float(residual[offset + c]);
      // A select on loaded bits, not a conditional load: the loop stays vectorised.
      const uint16_t loaded = grad[offset + c];
      const uint16_t g_bits = activation_passes(sum, floor, ceiling) ? loaded : uint16_t{0};
      const float g = bf16_to_float(g_bits);
      masked[offset + c] = g_bits;
      sum_g[c] += g;
      sum_gx[c] += g * (v - mean[c]);
    }
  }
}

// dx = gamma * invstd * (g - mean(g) - (x - mean) * invstd^2 * mean(g * (x - mean))), written as
// dx = scale * (g - b - (x - mean) * k) with the per-channel b, k.
SARSEG_CPU_CLONES void chunk_input_gradient(const uint16_t* __restrict grad,
                                            const uint16_t* __restrict x, int64_t rows,
                                            int64_t channels, const float* __restrict scale,
                                            const float* __restrict shift, float floor,
                                            float ceiling, const float* __restrict mean,
                                            const float* __restrict b, const float* __restrict k,
                                            uint16_t* __restrict dx) {
  for (int64_t r = 0; r < rows; ++r) {
    const uint16_t* g_row = grad + r * channels;
    const uint16_t* x_row = x + r * channels;
    uint16_t* out = dx + r * channels;
    for (int64_t c = 0; c < channels; ++c) {
      const float v = bf16_to_float(x_row[c]);
      const uint16_t loaded = g_row[c];
      const float g = bf16_to_float(
          activation_passes(v * scale[c] + shift[c], floor, ceiling) ? loaded : uint16_t{0});
      out[c] = float_to_bf16(scale[c] * (g - b[c] - (v - mean[c]) * k[c]));
    }
  }
}

const uint16_t* bits_of(const torch::Tensor& t) {
  return reinterpret_cast<const uint16_t*>(t.data_ptr<at::BFloat16>());
}
uint16_t* mutable_bits_of(torch::Tensor& t) {
  return reinterpret_cast<uint16_t*>(t.data_ptr<at::BFloat16>());
}

int64_t chunk_count(int64_t rows) {
  return (rows + kChunkRows - 1) / kChunkRows;
}

// Runs `chunk(first_row, row_count, partial_a, partial_b)` over every chunk in parallel and
// returns the two per-channel totals, added up in double.
template <typename ChunkSums>
std::pair<std::vector<double>, std::vector<double>> parallel_channel_sums(int64_t rows,
                                                                          int64_t channels,
                                                                          const ChunkSums& chunk) {
  const int64_t chunks = chunk_count(rows);
  std::vector<float> partial_a(chunks * channels), partial_b(chunks * channels);
  at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t first = i * kChunkRows;
      chunk(first, std::min(kChunkRows, rows - first), partial_a.data() + i * channels,
            partial_b.data() + i * channels);
    }
  });
  std::vector<double> total_a(channels, 0.0), total_b(channels, 0.0);
  for (int64_t i = 0; i < chunks; ++i) {
    for (int64_t c = 0; c < channels; ++c) {
      total_a[c] += partial_a[i * channels + c];
      total_b[c] += partial_b[i * channels + c];
    }
  }
  return {total_a, total_b};
}

template <typename Chunk>
void parallel_rows(int64_t rows, const Chunk& chunk) {
  at::parallel_for(0, chunk_count(rows), 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t first = i * kChunkRows;
      chunk(first, std::min(kChunkRows, rows - first));
    }
  });
}

// The per-channel scale (gamma * invstd) and shift (beta - mean * scale) of the normalisation.
std::pair<torch::Tensor, torch::Tensor> scale_and_shift(const torch::Tensor& weight,
                                                        const torch::Tensor& bias,
                                                        const torch::Tensor& mean,
                                                        const torch::Tensor& invstd) {
  const auto scale = (weight.to(torch::kFloat) * invstd).contiguous();
  const auto shift = (bias.to(torch::kFloat) - mean * scale).contiguous();
  return {scale, shift};
}

struct BatchNormReluFunction : torch::autograd::Function<BatchNormReluFunction> {
  // x: bf16 channels-last; mean, invstd: fp32 batch statistics (no gradient of their own: the
  // backward below accounts for them); residual: x's shape and layout, added before the ReLU, or
  // empty.
  static torch::Tensor forward(torch::autograd::AutogradContext* context, torch::Tensor x,
                               torch::Tensor weight, torch::Tensor bias, torch::Tensor mean,
                               torch::Tensor invstd, torch::Tensor residual, double floor_value,
                               double ceiling_value) {
    const auto floor = static_cast<float>(floor_value);
    const auto ceiling = static_cast<float>(ceiling_value);
    const int64_t channels = x.size(1);
    const int64_t rows = x.numel() / channels;
    const auto [scale, shift] = scale_and_shift(weight, bias, mean, invstd);
    auto y = torch::empty_like(x, x.options(), torch::MemoryFormat::ChannelsLast);
    const uint16_t* in = bits_of(x);
    uint16_t* out = mutable_bits_of(y);
    const float* scale_data = scale.data_ptr<float>();
    const float* shift_data = shift.data_ptr<float>();
    const uint16_t* skip = residual.numel() > 0 ? bits_of(residual) : nullptr;
    parallel_rows(rows, [&](int64_t first, int64_t count) {
      const int64_t offset = first * channels;
      if (skip != nullptr) {
        chunk_normalise_add_relu(in + offset, skip + offset, count, channels, scale_data,
                                 shift_data, floor, ceiling, out + offset);
      } else {
        chunk_normalise_relu(in + offset, count, channels, scale_data, shift_data, floor, ceiling,
                             out + offset);
      }
    });
    context->save_for_backward({x, weight, bias, mean, invstd, residual});
    context->saved_data["floor"] = floor_value;
    context->saved_data["ceiling"] = ceiling_value;
    return y;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* context,
                                               torch::autograd::tensor_list gradients) {
    const auto saved = context->get_saved_variables();
    const auto& x = saved[0];
    const auto& weight = saved[1];
    const auto& mean = saved[3];
    const auto& invstd = saved[4];
    const auto& residual = saved[5];
    const auto grad =
        gradients[0].to(torch::kBFloat16).contiguous(torch::MemoryFormat::ChannelsLast);
    const int64_t channels = x.size(1);
    const int64_t rows = x.numel() / channels;
    const auto [scale, shift] = scale_and_shift(weight, saved[2], mean, invstd);
    const uint16_t* g = bits_of(grad);
    const uint16_t* in = bits_of(x);
    const float* scale_data = scale.data_ptr<float>();
    const float* shift_data = shift.data_ptr<float>();
    const float* mean_data = mean.data_ptr<float>();
    const auto floor = static_cast<float>(context->saved_data["floor"].toDouble());
    const auto ceiling = static_cast<float>(context->saved_data["ceiling"].toDouble());

    // With a residual, the masked gradient is the residual's gradient and the input gradient's
    // pass reads it with no mask of its own.
    torch::Tensor masked;
    if (residual.numel() > 0)
      masked = torch::empty_like(x, x.options(), torch::MemoryFormat::ChannelsLast);
    const uint16_t* skip = masked.defined() ? bits_of(residual) : nullptr;
    uint16_t* masked_out = masked.defined() ? mutable_bits_of(masked) : nullptr;
    const auto [sum_g, sum_gx] = parallel_channel_sums(
        rows, channels, [&](int64_t first, int64_t count, float* a, float* b) {
          const int64_t offset = first * channels;
          if (skip != nullptr) {
            chunk_gradient_sums_with_residual(g + offset, in + offset, skip + offset, count,
                                              channels, scale_data, shift_data, floor, ceiling,
                                              mean_data, a, b, masked_out + offset);
          } else {
            chunk_gradient_sums(g + offset, in + offset, count, channels, scale_data, shift_data,
                                floor, ceiling, mean_data, a, b);
          }
        });
    auto grad_bias = torch::empty({channels}, torch::kFloat);
    auto grad_weight = torch::empty({channels}, torch::kFloat);
    std::vector<float> b(channels), k(channels);
    const float* invstd_data = invstd.data_ptr<float>();
    float* grad_bias_data = grad_bias.data_ptr<float>();
    float* grad_weight_data = grad_weight.data_ptr<float>();
    for (int64_t c = 0; c < channels; ++c) {
      const double s = invstd_data[c];
      grad_bias_data[c] = static_cast<float>(sum_g[c]);
      grad_weight_data[c] = static_cast<float>(sum_gx[c] * s);
      b[c] = static_cast<float>(sum_g[c] / rows);
      k[c] = static_cast<float>(sum_gx[c] * s * s / rows);
    }

    torch::Tensor grad_x;
    if (context->needs_input_grad(0)) {
      grad_x = torch::empty_like(x, x.options(), torch::MemoryFormat::ChannelsLast);
      uint16_t* out = mutable_bits_of(grad_x);
      const uint16_t* passed_grad = masked_out != nullptr ? masked_out : g;
      const float infinity = std::numeric_limits<float>::infinity();
      const float pass_floor = masked_out != nullptr ? -infinity : floor;
      const float pass_ceiling = masked_out != nullptr ? infinity : ceiling;
      parallel_rows(rows, [&](int64_t first, int64_t count) {
        chunk_input_gradient(passed_grad + first * channels, in + first * channels, count, channels,
                             scale_data, shift_data, pass_floor, pass_ceiling, mean_data, b.data(),
                             k.data(), out + first * channels);
      });
    }
    return {grad_x,
            grad_weight.to(weight.scalar_type()),
            grad_bias.to(saved[2].scalar_type()),
            torch::Tensor(),
            torch::Tensor(),
            masked,
            torch::Tensor(),
            torch::Tensor()};
  }
};

bool fusable(const torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x) {
  const auto& options = bn.options;
  return bn.is_training() && options.affine() && options.track_running_stats() && x.dim() == 4 &&
         x.device().is_cpu() && x.scalar_type() == torch::kBFloat16 &&
         x.is_contiguous(torch::MemoryFormat::ChannelsLast) && x.size(1) == bn.weight.size(0) &&
         x.numel() / std::max<int64_t>(1, x.size(1)) > 1;
}

// Batch mean and biased variance per channel, in fp32.
std::pair<torch::Tensor, torch::Tensor> batch_moments(const torch::Tensor& x) {
  const int64_t channels = x.size(1);
  const int64_t rows = x.numel() / channels;
  const uint16_t* in = bits_of(x);
  std::vector<float> pivot(channels);
  for (int64_t c = 0; c < channels; ++c)
    pivot[c] = bf16_to_float(in[c]);
  const auto [sum, sum_sq] =
      parallel_channel_sums(rows, channels, [&](int64_t first, int64_t count, float* a, float* b) {
        chunk_moments(in + first * channels, count, channels, pivot.data(), a, b);
      });
  auto mean = torch::empty({channels}, torch::kFloat);
  auto variance = torch::empty({channels}, torch::kFloat);
  float* mean_data = mean.data_ptr<float>();
  float* variance_data = variance.data_ptr<float>();
  for (int64_t c = 0; c < channels; ++c) {
    const double shifted_mean = sum[c] / rows;
    mean_data[c] = static_cast<float>(pivot[c] + shifted_mean);
    variance_data[c] =
        static_cast<float>(std::max(0.0, sum_sq[c] / rows - shifted_mean * shifted_mean));
  }
  return {mean, variance};
}

// torch's running-statistics update: an exponential average with the module's momentum (or the
// cumulative average when it has none), the variance unbiased.
void update_running_statistics(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& mean,
                               const torch::Tensor& variance, int64_t rows) {
  torch::NoGradGuard no_grad;
  bn.num_batches_tracked.add_(1);
  const double factor = bn.options.momentum().has_value()
                            ? *bn.options.momentum()
                            : 1.0 / bn.num_batches_tracked.item<double>();
  const double unbias = static_cast<double>(rows) / static_cast<double>(rows - 1);
  bn.running_mean.mul_(1.0 - factor).add_(mean.to(bn.running_mean.scalar_type()), factor);
  bn.running_var.mul_(1.0 - factor)
      .add_(variance.to(bn.running_var.scalar_type()), factor * unbias);
}

// The activation after BatchNorm as a clamp.
struct Clamp {
  double floor, ceiling;
};
constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr Clamp kNoActivation{-kInfinity, kInfinity}, kRelu{0.0, kInfinity}, kRelu6{0.0, 6.0};

torch::Tensor fused_batchnorm(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x, Clamp clamp,
                              const torch::Tensor& residual = torch::Tensor()) {
  const int64_t rows = x.numel() / x.size(1);
  const auto [mean, variance] = batch_moments(x);
  update_running_statistics(bn, mean, variance, rows);
  const auto invstd = (variance + bn.options.eps()).rsqrt_();
  // A custom function takes no undefined tensor: no residual goes in as an empty one.
  const auto skip = residual.defined() ? residual : torch::empty({0}, x.options());
  return BatchNormReluFunction::apply(x, bn.weight, bn.bias, mean, invstd, skip, clamp.floor,
                                      clamp.ceiling);
}

}  // namespace

torch::Tensor batchnorm_relu(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x) {
  if (!fusable(bn, x)) return bn.forward(x).relu_();
  return fused_batchnorm(bn, x, kRelu);
}

torch::Tensor batchnorm_relu6(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x) {
  if (!fusable(bn, x)) return Relu6Impl().forward(bn.forward(x));
  return fused_batchnorm(bn, x, kRelu6);
}

torch::Tensor batchnorm(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x) {
  if (!fusable(bn, x)) return bn.forward(x);
  return fused_batchnorm(bn, x, kNoActivation);
}

torch::Tensor batchnorm_add_relu(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x,
                                 const torch::Tensor& residual) {
  const bool residual_fits = residual.scalar_type() == x.scalar_type() &&
                             residual.sizes() == x.sizes() &&
                             residual.is_contiguous(torch::MemoryFormat::ChannelsLast);
  if (!fusable(bn, x) || !residual_fits) {
    // torchvision's order: in-place sum and ReLU.
    auto y = bn.forward(x);
    y += residual;
    return y.relu_();
  }
  return fused_batchnorm(bn, x, kRelu, residual);
}

torch::Tensor forward_fusing_batchnorm(torch::nn::SequentialImpl& sequence, torch::Tensor x,
                                       size_t first) {
  for (auto it = sequence.begin() + static_cast<std::ptrdiff_t>(first); it != sequence.end();) {
    auto* module = it->ptr().get();
    auto* bn = module->as<torch::nn::BatchNorm2dImpl>();
    const auto next = it + 1;
    auto* activation = bn && next != sequence.end() ? next->ptr().get() : nullptr;
    if (activation && activation->as<torch::nn::ReLUImpl>()) {
      x = batchnorm_relu(*bn, x);
      it = next + 1;
    } else if (activation && activation->as<Relu6Impl>()) {
      x = batchnorm_relu6(*bn, x);
      it = next + 1;
    } else {
      auto* conv = module->as<torch::nn::Conv2dImpl>();
      auto* nested = module->as<torch::nn::SequentialImpl>();
      x = bn       ? batchnorm(*bn, x)
          : conv   ? conv_forward(*conv, x)
          : nested ? forward_fusing_batchnorm(*nested, x)
                   : it->forward(x);
      ++it;
    }
  }
  return x;
}

}  // namespace sarseg::models
