// Bilinear enlarging (align_corners=false) of CPU maps, as two separable passes in fp32.
//
// LibTorch 1.13 scatters the backward of the x16 logit upsampling one output pixel at a time,
// 10.7 ms of a bf16 training step of the paper model (8 x 6 x 16 x 16 -> 256 x 256, AMX Xeon).
// Resizing rows and then columns is the same arithmetic (each output is
// hλ0 * (wλ0 * a + wλ1 * b) + hλ1 * (wλ0 * c + wλ1 * d), torch's order); the backward applies the
// two transposed passes, and the maps run in parallel. Nearest x2 enlarging of bf16 channels-last
// maps (the U-Net decoders) is here too: its backward gathers each pixel's four gradients.
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "sarseg/models/layers.h"
#include "sarseg/util/cpu_kernels.h"

namespace sarseg::models {
namespace {

using util::bf16_to_float;
using util::float_to_bf16;

// Source rows (or columns) and weights of each output row (column), as torch computes them for
// align_corners=false without explicit scales.
struct Taps {
  std::vector<int64_t> first, second;
  std::vector<float> first_weight, second_weight;
};

Taps bilinear_taps(int64_t in, int64_t out) {
  Taps taps;
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  for (int64_t o = 0; o < out; ++o) {
    const float source = std::max(scale * (static_cast<float>(o) + 0.5f) - 0.5f, 0.f);
    const auto index = static_cast<int64_t>(source);
    const float lambda = source - static_cast<float>(index);
    taps.first.push_back(index);
    taps.second.push_back(index + (index < in - 1 ? 1 : 0));
    taps.first_weight.push_back(1.f - lambda);
    taps.second_weight.push_back(lambda);
  }
  return taps;
}

// out (in_h x out_w) = each row of `map` (in_h x in_w) resized to out_w.
void resize_rows(const float* map, int64_t in_h, int64_t in_w, const Taps& columns, float* out) {
  const auto out_w = static_cast<int64_t>(columns.first.size());
  for (int64_t r = 0; r < in_h; ++r) {
    const float* row = map + r * in_w;
    for (int64_t o = 0; o < out_w; ++o)
      out[r * out_w + o] = columns.first_weight[o] * row[columns.first[o]] +
                           columns.second_weight[o] * row[columns.second[o]];
  }
}

// out (out_h x width) = rows of `rows` (in_h x width) mixed by the row taps.
void mix_rows(const float* rows, int64_t width, const Taps& row_taps, float* out) {
  const auto out_h = static_cast<int64_t>(row_taps.first.size());
  for (int64_t o = 0; o < out_h; ++o) {
    const float* a = rows + row_taps.first[o] * width;
    const float* b = rows + row_taps.second[o] * width;
    const float wa = row_taps.first_weight[o], wb = row_taps.second_weight[o];
    float* target = out + o * width;
    for (int64_t c = 0; c < width; ++c)
      target[c] = wa * a[c] + wb * b[c];
  }
}

// The transpose of mix_rows: grad_rows (in_h x width) gathers grad (out_h x width).
void mix_rows_transposed(const float* grad, int64_t width, const Taps& row_taps, int64_t in_h,
                         float* grad_rows) {
  std::fill(grad_rows, grad_rows + in_h * width, 0.f);
  const auto out_h = static_cast<int64_t>(row_taps.first.size());
  for (int64_t o = 0; o < out_h; ++o) {
    const float* g = grad + o * width;
    float* a = grad_rows + row_taps.first[o] * width;
    float* b = grad_rows + row_taps.second[o] * width;
    const float wa = row_taps.first_weight[o], wb = row_taps.second_weight[o];
    for (int64_t c = 0; c < width; ++c) {
      a[c] += wa * g[c];
      b[c] += wb * g[c];
    }
  }
}

// The transpose of resize_rows: grad_map (in_h x in_w) gathers grad_rows (in_h x out_w).
void resize_rows_transposed(const float* grad_rows, int64_t in_h, int64_t in_w, const Taps& columns,
                            float* grad_map) {
  std::fill(grad_map, grad_map + in_h * in_w, 0.f);
  const auto out_w = static_cast<int64_t>(columns.first.size());
  for (int64_t r = 0; r < in_h; ++r) {
    const float* g = grad_rows + r * out_w;
    float* row = grad_map + r * in_w;
    for (int64_t o = 0; o < out_w; ++o) {
      row[columns.first[o]] += columns.first_weight[o] * g[o];
      row[columns.second[o]] += columns.second_weight[o] * g[o];
    }
  }
}

// Runs `per_map(map, scratch)` for every map, in parallel, each thread with its own scratch of
// in_h x out_w floats (the intermediate between the two passes).
template <typename PerMap>
void for_each_map(int64_t maps, int64_t in_h, int64_t out_w, const PerMap& per_map) {
  at::parallel_for(0, maps, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scratch(in_h * out_w);
    for (int64_t m = begin; m < end; ++m)
      per_map(m, scratch.data());
  });
}

// Sizes of one resize and its taps, the same for the forward and the backward.
struct Resize {
  int64_t batch, channels, in_h, in_w, out_h, out_w;
  Taps rows, columns;
  Resize(int64_t batch_, int64_t channels_, int64_t in_h_, int64_t in_w_, int64_t out_h_,
         int64_t out_w_)
      : batch(batch_),
        channels(channels_),
        in_h(in_h_),
        in_w(in_w_),
        out_h(out_h_),
        out_w(out_w_),
        rows(bilinear_taps(in_h, out_h)),
        columns(bilinear_taps(in_w, out_w)) {}
  int64_t maps() const { return batch * channels; }
};

struct SeparableBilinearFunction : torch::autograd::Function<SeparableBilinearFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* context, torch::Tensor x,
                               int64_t out_h, int64_t out_w) {
    const Resize r(x.size(0), x.size(1), x.size(2), x.size(3), out_h, out_w);
    auto y = torch::empty({r.batch, r.channels, out_h, out_w}, x.options());
    const float* in = x.data_ptr<float>();
    float* out = y.data_ptr<float>();
    for_each_map(r.maps(), r.in_h, out_w, [&](int64_t m, float* resized) {
      resize_rows(in + m * r.in_h * r.in_w, r.in_h, r.in_w, r.columns, resized);
      mix_rows(resized, out_w, r.rows, out + m * out_h * out_w);
    });
    context->saved_data["in_h"] = r.in_h;
    context->saved_data["in_w"] = r.in_w;
    return y;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* context,
                                               torch::autograd::tensor_list gradients) {
    const auto grad = gradients[0].to(torch::kFloat).contiguous();
    const Resize r(grad.size(0), grad.size(1), context->saved_data["in_h"].toInt(),
                   context->saved_data["in_w"].toInt(), grad.size(2), grad.size(3));
    auto grad_x = torch::empty({r.batch, r.channels, r.in_h, r.in_w}, grad.options());
    const float* g = grad.data_ptr<float>();
    float* out = grad_x.data_ptr<float>();
    for_each_map(r.maps(), r.in_h, r.out_w, [&](int64_t m, float* grad_rows) {
      mix_rows_transposed(g + m * r.out_h * r.out_w, r.out_w, r.rows, r.in_h, grad_rows);
      resize_rows_transposed(grad_rows, r.in_h, r.in_w, r.columns, out + m * r.in_h * r.in_w);
    });
    return {grad_x, torch::Tensor(), torch::Tensor()};
  }
};

// Nearest x2 enlarging of a bf16 channels-last map: forward each input pixel copied to its 2 x 2
// outputs; backward each input pixel's gradient the sum of those four, added in fp32 and rounded
// once.
SARSEG_CPU_CLONES void sum_two_by_two(const uint16_t* __restrict grad, int64_t out_width,
                                      int64_t channels, int64_t width, uint16_t* __restrict dx) {
  // grad: output rows 2i and 2i + 1 (out_width pixels each); dx: input row i.
  const uint16_t* upper = grad;
  const uint16_t* lower = grad + out_width * channels;
  for (int64_t j = 0; j < width; ++j) {
    const int64_t left = 2 * j * channels, right = left + channels;
    for (int64_t c = 0; c < channels; ++c) {
      const float sum = (bf16_to_float(upper[left + c]) + bf16_to_float(upper[right + c])) +
                        (bf16_to_float(lower[left + c]) + bf16_to_float(lower[right + c]));
      dx[j * channels + c] = float_to_bf16(sum);
    }
  }
}

struct NearestDoubleFunction : torch::autograd::Function<NearestDoubleFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext*, const torch::Tensor& x) {
    const int64_t images = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
    return x.permute({0, 2, 3, 1})
        .unsqueeze(2)
        .unsqueeze(4)
        .expand({images, height, 2, width, 2, channels})
        .reshape({images, 2 * height, 2 * width, channels})
        .permute({0, 3, 1, 2});
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext*,
                                               torch::autograd::tensor_list gradients) {
    const auto grad =
        gradients[0].to(torch::kBFloat16).contiguous(torch::MemoryFormat::ChannelsLast);
    const int64_t images = grad.size(0), channels = grad.size(1);
    const int64_t height = grad.size(2) / 2, width = grad.size(3) / 2;
    auto dx = torch::empty({images, channels, height, width},
                           grad.options().memory_format(torch::MemoryFormat::ChannelsLast));
    const auto* g = reinterpret_cast<const uint16_t*>(grad.data_ptr<at::BFloat16>());
    auto* out = reinterpret_cast<uint16_t*>(dx.data_ptr<at::BFloat16>());
    const int64_t out_width = 2 * width;
    at::parallel_for(0, images * height, 1, [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row)
        sum_two_by_two(g + 2 * row * out_width * channels, out_width, channels, width,
                       out + row * width * channels);
    });
    return {dx};
  }
};

}  // namespace

torch::Tensor upsample_bilinear(const torch::Tensor& x, const std::vector<int64_t>& size) {
  const bool separable =
      x.dim() == 4 && x.device().is_cpu() &&
      (x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kBFloat16) && x.numel() > 0 &&
      size.size() == 2 && size[0] >= x.size(2) && size[1] >= x.size(3);
  if (!separable) {
    namespace F = torch::nn::functional;
    return F::interpolate(
        x, F::InterpolateFuncOptions().size(size).mode(torch::kBilinear).align_corners(false));
  }
  if (x.scalar_type() == torch::kFloat && x.is_contiguous())
    return SeparableBilinearFunction::apply(x, size[0], size[1]);
  // bf16 or channels-last (the ASPP's pooled branch): resized in fp32 NCHW, as torch's bf16
  // kernel computes in fp32 too, and returned in the input's type and layout.
  return SeparableBilinearFunction::apply(x.to(torch::kFloat).contiguous(), size[0], size[1])
      .to(x.scalar_type())
      .contiguous(x.suggest_memory_format());
}

torch::Tensor upsample_nearest2x(const torch::Tensor& x) {
  if (!(x.dim() == 4 && x.device().is_cpu() && x.scalar_type() == torch::kBFloat16 &&
        x.is_contiguous(torch::MemoryFormat::ChannelsLast) && x.numel() > 0)) {
    namespace F = torch::nn::functional;
    return F::interpolate(x, F::InterpolateFuncOptions()
                                 .scale_factor(std::vector<double>{2.0, 2.0})
                                 .mode(torch::kNearest));
  }
  return NearestDoubleFunction::apply(x);
}

}  // namespace sarseg::models
