// Cross-entropy with ignored pixels and class weights, fused for fp32 NCHW logits on the CPU.
//
// Forward: per pixel the log-sum-exp over the classes (kept for the backward, 4 bytes a pixel)
// and the weighted -log softmax at the target, summed in double. Backward: the gradient
// w[t] * (softmax - onehot(t)) / sum(w) written once, 0 at ignored pixels. The exponential is a
// polynomial the compiler vectorises (glibc's expf is not vectorised without -ffast-math).
#include "cross_entropy_cpu.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "sarseg/util/cpu_kernels.h"

namespace sarseg::train::detail {
namespace {

// Pixels of one block: its per-pixel temporaries stay in L1.
constexpr int64_t kBlock = 256;

// exp(x) for x <= 0 (logits minus their maximum), within 2 ulp: x = k ln 2 + r with |r| <= ln2/2,
// exp(r) from a degree-6 minimax polynomial, 2^k put into the exponent bits. Below -87 the result
// would be subnormal; it is flushed to exp(-87) ~ 1.6e-38, which no softmax sum can notice.
inline float exp_nonpositive(float x) {
  x = std::max(x, -87.f);
  // Adding 1.5 * 2^23 rounds to an integer held in the low mantissa bits (no floor call, which
  // would keep the loop scalar).
  constexpr float kRounder = 12582912.f;
  const float shifted = x * 1.44269504f + kRounder;
  const float k = shifted - kRounder;
  int32_t k_bits;
  std::memcpy(&k_bits, &shifted, sizeof k_bits);
  const float r = (x - k * 0.693359375f) + k * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.f;
  const int32_t exponent_bits = (k_bits - 0x4B400000 + 127) << 23;
  float scale;
  std::memcpy(&scale, &exponent_bits, sizeof scale);
  return e * scale;
}

// Per pixel of a block: the maximum logit and the sum of exp(logit - maximum). `x` points at class
// 0 of the block's first pixel; classes are `plane` floats apart.
SARSEG_CPU_CLONES void block_max_and_sum(const float* x, int64_t plane, int64_t classes,
                                         int64_t pixels, float* maximum, float* sum) {
  for (int64_t p = 0; p < pixels; ++p)
    maximum[p] = x[p];
  for (int64_t c = 1; c < classes; ++c) {
    const float* row = x + c * plane;
    for (int64_t p = 0; p < pixels; ++p)
      maximum[p] = std::max(maximum[p], row[p]);
  }
  for (int64_t p = 0; p < pixels; ++p)
    sum[p] = 0.f;
  for (int64_t c = 0; c < classes; ++c) {
    const float* row = x + c * plane;
    for (int64_t p = 0; p < pixels; ++p)
      sum[p] += exp_nonpositive(row[p] - maximum[p]);
  }
}

// grad = coefficient * (exp(x - lse) - [class == target]) for every class of a block's pixels.
SARSEG_CPU_CLONES void block_gradient(const float* x, int64_t plane, int64_t classes,
                                      int64_t pixels, const float* lse, const int32_t* target,
                                      const float* coefficient, float* grad) {
  for (int64_t c = 0; c < classes; ++c) {
    const float* row = x + c * plane;
    float* out = grad + c * plane;
    for (int64_t p = 0; p < pixels; ++p) {
      const float onehot = target[p] == c ? 1.f : 0.f;
      out[p] = coefficient[p] * (exp_nonpositive(row[p] - lse[p]) - onehot);
    }
  }
}

struct Geometry {
  int64_t images, classes, plane;  // plane: pixels of one class map
  int64_t blocks_per_image() const { return (plane + kBlock - 1) / kBlock; }
};

Geometry geometry_of(const torch::Tensor& logits) {
  return {logits.size(0), logits.size(1), logits.size(2) * logits.size(3)};
}

// Runs block(image, first_pixel, pixel_count, block_index) over every block, in parallel.
template <typename Block>
void for_each_block(const Geometry& g, const Block& block) {
  const int64_t per_image = g.blocks_per_image();
  at::parallel_for(0, g.images * per_image, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t image = i / per_image, first = (i % per_image) * kBlock;
      block(image, first, std::min(kBlock, g.plane - first), i);
    }
  });
}

void throw_out_of_bounds(int64_t value, int64_t classes) {
  TORCH_CHECK(false, "masked_cross_entropy: target ", value, " is out of bounds for ", classes,
              " classes (targets are 0..", classes - 1, ", or the ignore value)");
}

struct FusedCrossEntropyFunction : torch::autograd::Function<FusedCrossEntropyFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* context, torch::Tensor logits,
                               torch::Tensor target, torch::Tensor weights, int64_t ignore) {
    const Geometry g = geometry_of(logits);
    auto lse = torch::empty({g.images, g.plane}, logits.options());
    const float* x = logits.data_ptr<float>();
    const int64_t* t = target.data_ptr<int64_t>();
    const float* w = weights.data_ptr<float>();
    float* lse_out = lse.data_ptr<float>();
    const int64_t block_count = g.images * g.blocks_per_image();
    std::vector<double> loss_parts(block_count), weight_parts(block_count);
    for_each_block(g, [&](int64_t image, int64_t first, int64_t pixels, int64_t index) {
      const float* block_x = x + image * g.classes * g.plane + first;
      float* block_lse = lse_out + image * g.plane + first;
      float sum[kBlock];
      block_max_and_sum(block_x, g.plane, g.classes, pixels, block_lse, sum);
      double loss = 0, weight = 0;
      for (int64_t p = 0; p < pixels; ++p) {
        block_lse[p] += std::log(sum[p]);
        const int64_t label = t[image * g.plane + first + p];
        if (label == ignore) continue;
        if (label < 0 || label >= g.classes) throw_out_of_bounds(label, g.classes);
        loss += static_cast<double>(w[label]) * (block_lse[p] - block_x[label * g.plane + p]);
        weight += w[label];
      }
      loss_parts[index] = loss;
      weight_parts[index] = weight;
    });
    double loss = 0, weight = 0;
    for (int64_t i = 0; i < block_count; ++i) {
      loss += loss_parts[i];
      weight += weight_parts[i];
    }
    // An all-ignored batch gives 0, not torch's 0/0.
    const double scale = weight > 0 ? 1.0 / weight : 0.0;
    context->save_for_backward({logits, target, weights, lse});
    context->saved_data["scale"] = scale;
    context->saved_data["ignore"] = ignore;
    return torch::tensor(static_cast<float>(loss * scale), logits.options());
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* context,
                                               torch::autograd::tensor_list grads) {
    const auto saved = context->get_saved_variables();
    const torch::Tensor &logits = saved[0], &target = saved[1], &weights = saved[2],
                        &lse = saved[3];
    const float factor =
        static_cast<float>(grads[0].item<double>() * context->saved_data["scale"].toDouble());
    const int64_t ignore = context->saved_data["ignore"].toInt();
    const Geometry g = geometry_of(logits);
    auto grad = torch::empty_like(logits, torch::MemoryFormat::Contiguous);
    const float* x = logits.data_ptr<float>();
    const int64_t* t = target.data_ptr<int64_t>();
    const float* w = weights.data_ptr<float>();
    const float* lse_in = lse.data_ptr<float>();
    float* grad_out = grad.data_ptr<float>();
    for_each_block(g, [&](int64_t image, int64_t first, int64_t pixels, int64_t) {
      int32_t label[kBlock];
      float coefficient[kBlock];
      for (int64_t p = 0; p < pixels; ++p) {
        const int64_t value = t[image * g.plane + first + p];
        const bool counted = value != ignore;
        label[p] = counted ? static_cast<int32_t>(value) : -1;
        coefficient[p] = counted ? factor * w[value] : 0.f;
      }
      const int64_t offset = image * g.classes * g.plane + first;
      block_gradient(x + offset, g.plane, g.classes, pixels, lse_in + image * g.plane + first,
                     label, coefficient, grad_out + offset);
    });
    return {grad, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool fused_cross_entropy_applies(const torch::Tensor& logits, const torch::Tensor& target,
                                 const torch::Tensor& class_weights) {
  return logits.device().is_cpu() && logits.scalar_type() == torch::kFloat && logits.dim() == 4 &&
         target.device().is_cpu() && target.scalar_type() == torch::kLong && target.dim() == 3 &&
         target.size(0) == logits.size(0) && target.size(1) == logits.size(2) &&
         target.size(2) == logits.size(3) && logits.size(1) > 0 &&
         (!class_weights.defined() ||
          (class_weights.device().is_cpu() && class_weights.scalar_type() == torch::kFloat &&
           class_weights.numel() == logits.size(1)));
}

torch::Tensor fused_masked_cross_entropy(const torch::Tensor& logits, const torch::Tensor& target,
                                         const torch::Tensor& class_weights, int64_t ignore) {
  const auto weights = class_weights.defined() ? class_weights.contiguous()
                                               : torch::ones({logits.size(1)}, logits.options());
  return FusedCrossEntropyFunction::apply(logits.contiguous(), target.contiguous(), weights,
                                          ignore);
}

}  // namespace sarseg::train::detail
