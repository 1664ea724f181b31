#include "sarseg/models/layers.h"

#include <algorithm>
#include <array>
#include <optional>

#include "sarseg/util/torch_compat.h"

namespace sarseg::models {

namespace {

// The gradient of conv2d(x, weight, stride, padding, dilation) (ungrouped) with respect to x or
// to weight, from torch's own backward.
torch::Tensor conv_gradient(bool of_input, const torch::Tensor& grad, const torch::Tensor& x,
                            const torch::Tensor& weight, at::IntArrayRef stride,
                            at::IntArrayRef padding, at::IntArrayRef dilation) {
  const auto gradients = at::convolution_backward(
      grad, x, weight, c10::nullopt, stride, padding, dilation, /*transposed=*/false,
      /*output_padding=*/{0, 0}, /*groups=*/1, {of_input, !of_input, false});
  return of_input ? std::get<0>(gradients) : std::get<1>(gradients);
}

// A stride-1 convolution whose weight gradient is gathered tap by tap. oneDNN 2.6 computes the
// bf16 weight gradient of the paper's rate-12 ASPP convolution on its 16 x 16 map on a generic
// gemm fallback (16 ms a training step on an AVX512-BF16 CPU, five times the forward), and that of
// 1x1 convolutions at a third of its matmul's rate; here each tap's gradient is one matrix product
// over the output positions whose input lies inside the map, on oneDNN's bf16 matmul. The forward
// and the input gradient are torch's own.
struct ConvWithTapwiseWeightGradient : torch::autograd::Function<ConvWithTapwiseWeightGradient> {
  static torch::Tensor forward(torch::autograd::AutogradContext* context, torch::Tensor x,
                               torch::Tensor weight, torch::Tensor bias,
                               std::vector<int64_t> padding, std::vector<int64_t> dilation) {
    context->save_for_backward({x, weight});
    context->saved_data["padding"] = padding;
    context->saved_data["dilation"] = dilation;
    context->saved_data["has_bias"] = bias.numel() > 0;
    return torch::conv2d(x, weight, bias.numel() > 0 ? bias : torch::Tensor(), /*stride=*/1,
                         padding, dilation);
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* context,
                                               torch::autograd::tensor_list gradients) {
    const auto saved = context->get_saved_variables();
    const auto& x = saved[0];
    const auto& weight = saved[1];
    const auto padding = context->saved_data["padding"].toIntVector();
    const auto dilation = context->saved_data["dilation"].toIntVector();
    const auto grad = gradients[0];
    torch::Tensor grad_x, grad_weight, grad_bias;
    if (context->needs_input_grad(0)) {
      grad_x = conv_gradient(true, grad, x, weight, /*stride=*/{1, 1}, padding, dilation);
    }
    if (context->needs_input_grad(1))
      grad_weight = tapwise_weight_gradient(grad, x, weight, padding, dilation);
    if (context->needs_input_grad(2) && context->saved_data["has_bias"].toBool())
      grad_bias = grad.sum({0, 2, 3}, false, torch::kFloat).to(grad.scalar_type());
    return {grad_x, grad_weight, grad_bias, torch::Tensor(), torch::Tensor()};
  }

  // d weight[o, c, i, j] = sum over n, h, w of grad[n, o, h, w] * x[n, c, h + oi, w + oj], with
  // (oi, oj) the tap's offset, over the positions where h + oi and w + oj lie inside the map.
  static torch::Tensor tapwise_weight_gradient(const torch::Tensor& grad, const torch::Tensor& x,
                                               const torch::Tensor& weight,
                                               const std::vector<int64_t>& padding,
                                               const std::vector<int64_t>& dilation) {
    const int64_t outputs = weight.size(0), inputs = weight.size(1);
    const int64_t rows = weight.size(2), columns = weight.size(3);
    const int64_t height = x.size(2), width = x.size(3);
    const auto grad_nhwc = grad.permute({0, 2, 3, 1});
    const auto x_nhwc = x.permute({0, 2, 3, 1});
    auto taps = torch::zeros({rows, columns, outputs, inputs}, weight.options());
    // The output positions [first, last) whose input at `offset` lies inside an axis of `size`.
    const auto inside = [](int64_t offset, int64_t size) {
      return std::pair{std::max<int64_t>(0, -offset), std::min(size, size - offset)};
    };
    for (int64_t i = 0; i < rows; ++i) {
      const int64_t offset_h = i * dilation[0] - padding[0];
      const auto [h0, h1] = inside(offset_h, height);
      for (int64_t j = 0; j < columns && h1 > h0; ++j) {
        const int64_t offset_w = j * dilation[1] - padding[1];
        const auto [w0, w1] = inside(offset_w, width);
        if (w1 <= w0) continue;
        const auto g = grad_nhwc.slice(1, h0, h1).slice(2, w0, w1).reshape({-1, outputs});
        const auto input = x_nhwc.slice(1, h0 + offset_h, h1 + offset_h)
                               .slice(2, w0 + offset_w, w1 + offset_w)
                               .reshape({-1, inputs});
        taps[i][j].copy_(torch::mm(g.t(), input));
      }
    }
    return taps.permute({2, 3, 0, 1});
  }
};

// A strided convolution over few input channels (the encoder stem: 7x7, stride 2, over the SAR
// bands) whose weight gradient comes from the equivalent stride-1 convolution over the input
// rearranged space-to-depth: with stride s, input pixel (s * i + p, s * j + q) of channel c
// becomes pixel (i, j) of channel (c, p, q), and kernel tap (s * a + p, s * b + q) becomes tap
// (a, b) of that channel. oneDNN 2.6 computes the stem's bf16 weight gradient at about 300 GFLOP/s
// on an AMX CPU with 3 channels, and twice as fast with the rearranged 12. Forward and input
// gradient are torch's own.
struct ConvWithSpaceToDepthWeightGradient
    : torch::autograd::Function<ConvWithSpaceToDepthWeightGradient> {
  // geometry: {stride, padding_h, padding_w}.
  static torch::Tensor forward(torch::autograd::AutogradContext* context, torch::Tensor x,
                               torch::Tensor weight, std::vector<int64_t> geometry) {
    context->save_for_backward({x, weight});
    context->saved_data["geometry"] = geometry;
    return torch::conv2d(x, weight, {}, geometry[0], {geometry[1], geometry[2]});
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* context,
                                               torch::autograd::tensor_list gradients) {
    const auto saved = context->get_saved_variables();
    const auto& x = saved[0];
    const auto& weight = saved[1];
    const auto geometry = context->saved_data["geometry"].toIntVector();
    const int64_t stride = geometry[0];
    const std::vector<int64_t> padding{geometry[1], geometry[2]};
    const auto grad = gradients[0].to(x.scalar_type());
    torch::Tensor grad_x, grad_weight;
    if (context->needs_input_grad(0)) {
      grad_x = conv_gradient(true, grad, x, weight, {stride, stride}, padding, /*dilation=*/{1, 1});
    }
    if (context->needs_input_grad(1))
      grad_weight = space_to_depth_weight_gradient(grad, x, weight, stride, padding);
    return {grad_x, grad_weight, torch::Tensor()};
  }

  static torch::Tensor space_to_depth_weight_gradient(const torch::Tensor& grad,
                                                      const torch::Tensor& x,
                                                      const torch::Tensor& weight, int64_t stride,
                                                      const std::vector<int64_t>& padding) {
    const int64_t images = x.size(0), channels = x.size(1);
    const int64_t outputs = weight.size(0), kernel_h = weight.size(2), kernel_w = weight.size(3);
    const int64_t taps_h = (kernel_h + stride - 1) / stride,
                  taps_w = (kernel_w + stride - 1) / stride;
    // The rearranged map is exactly as large as a stride-1 convolution with taps_h x taps_w taps
    // needs for grad's size: pad (or crop) the padded input to stride times that.
    const int64_t rows = grad.size(2) + taps_h - 1, columns = grad.size(3) + taps_w - 1;
    const auto padded =
        torch::constant_pad_nd(x, {padding[1], stride * columns - x.size(3) - padding[1],
                                   padding[0], stride * rows - x.size(2) - padding[0]});
    const auto rearranged = padded.view({images, channels, rows, stride, columns, stride})
                                .permute({0, 1, 3, 5, 2, 4})
                                .reshape({images, channels * stride * stride, rows, columns})
                                .contiguous(torch::MemoryFormat::ChannelsLast);
    const auto rearranged_weight =
        torch::empty({outputs, channels * stride * stride, taps_h, taps_w},
                     weight.options().memory_format(torch::MemoryFormat::ChannelsLast));
    const auto gradient =
        conv_gradient(false, grad, rearranged, rearranged_weight, {1, 1}, {0, 0}, {1, 1});
    // [out, (c, p, q), a, b] -> [out, c, (a, p), (b, q)], taps past the kernel dropped.
    return gradient.view({outputs, channels, stride, stride, taps_h, taps_w})
        .permute({0, 1, 4, 2, 5, 3})
        .reshape({outputs, channels, taps_h * stride, taps_w * stride})
        .slice(2, 0, kernel_h)
        .slice(3, 0, kernel_w)
        .contiguous(torch::MemoryFormat::ChannelsLast);
  }
};

// The share of a dilated 3x3 kernel's multiply-adds whose input lies inside the map, per axis
// (1 for an axis whose off-centre taps were dropped): the centre tap reads the whole axis, each
// off-centre one `size - rate` of it.
double inside_share(int64_t size, int64_t rate, bool dropped) {
  if (dropped) return 1.0;
  return (1.0 + 2.0 * static_cast<double>(std::max<int64_t>(0, size - rate)) / size) / 3.0;
}

// Whether the tap-wise weight gradient replaces oneDNN's: a bf16 training step on the CPU where at
// most half the kernel's work lies inside the map. Measured on an AVX512-BF16 CPU, batch 8, 256
// channels: 16 x 16 at rate 12 (share 1/4) 2.5 ms against oneDNN's 9.8; at rate 6 (0.56) and on
// larger maps the two are level or oneDNN is faster.
bool wants_tapwise_weight_gradient(const torch::Tensor& x, const torch::Tensor& weight,
                                   at::ScalarType compute_dtype, double share) {
  return share <= 0.5 && x.device().is_cpu() && compute_dtype == torch::kBFloat16 &&
         torch::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad());
}

// conv's explicit padding {h, w}, {0, 0} for `valid`, none for `same`.
struct ExplicitPadding {
  std::optional<std::array<int64_t, 2>> operator()(const torch::ExpandingArray<2>& padding) const {
    return std::array<int64_t, 2>{padding->at(0), padding->at(1)};
  }
  std::optional<std::array<int64_t, 2>> operator()(const torch::enumtype::kValid&) const {
    return std::array<int64_t, 2>{0, 0};
  }
  std::optional<std::array<int64_t, 2>> operator()(const torch::enumtype::kSame&) const {
    return std::nullopt;
  }
};

// A plain 1x1 convolution: stride 1, no padding, dilation or groups.
bool is_pointwise(const torch::nn::Conv2dImpl& conv) {
  const auto& o = conv.options;
  // Unqualified: argument-dependent lookup finds c10::visit (LibTorch 1.13's c10::variant) or
  // std::visit (2.x).
  const auto padding = visit(ExplicitPadding{}, o.padding());
  const auto all_one = [](const torch::ExpandingArray<2>& a) {
    return a->at(0) == 1 && a->at(1) == 1;
  };
  return all_one(o.kernel_size()) && all_one(o.stride()) && all_one(o.dilation()) &&
         o.groups() == 1 && !o.transposed() && padding && (*padding)[0] == 0 && (*padding)[1] == 0;
}

// The padding of a bias-free, ungrouped, undilated convolution over at most 4 input channels
// with the same stride (2 or more) along both axes; none for any other.
std::optional<std::array<int64_t, 2>> few_channel_strided(const torch::nn::Conv2dImpl& conv) {
  const auto& o = conv.options;
  const auto stride = o.stride();
  const auto dilation = o.dilation();
  if (o.in_channels() > 4 || stride->at(0) < 2 || stride->at(0) != stride->at(1) ||
      dilation->at(0) != 1 || dilation->at(1) != 1 || o.groups() != 1 || o.bias() ||
      o.transposed() || torch::enumtype::get_enum_name(o.padding_mode()) != "kZeros")
    return std::nullopt;
  return visit(ExplicitPadding{}, o.padding());
}

// The dtype x's convolution computes in: autocast's where it is on, else x's own.
at::ScalarType compute_dtype_of(const torch::Tensor& x) {
  const auto device = x.device().type();
  return compat::autocast_enabled(device) ? compat::autocast_dtype(device) : x.scalar_type();
}

// A convolution's bias cast as autocast would (the cast stays on the tape, so an fp32 master bias
// gets the gradient); none goes into a custom function as an empty tensor, which takes no
// undefined one.
torch::Tensor bias_in(const torch::Tensor& bias, const torch::Tensor& x, at::ScalarType dtype) {
  return bias.defined() ? bias.to(dtype) : torch::empty({0}, x.options().dtype(dtype));
}

}  // namespace

torch::Tensor dilated_conv3x3(const torch::Tensor& x, const torch::Tensor& weight,
                              const torch::Tensor& bias, int64_t rate) {
  const bool drop_rows = rate >= x.size(-2);
  const bool drop_columns = rate >= x.size(-1);
  auto kernel = weight;
  if (drop_rows) kernel = kernel.narrow(2, 1, 1);
  if (drop_columns) kernel = kernel.narrow(3, 1, 1);
  const std::vector<int64_t> padding{drop_rows ? 0 : rate, drop_columns ? 0 : rate};
  const std::vector<int64_t> dilation{drop_rows ? 1 : rate, drop_columns ? 1 : rate};
  const auto compute_dtype = compute_dtype_of(x);
  const double share =
      inside_share(x.size(-2), rate, drop_rows) * inside_share(x.size(-1), rate, drop_columns);
  if (wants_tapwise_weight_gradient(x, weight, compute_dtype, share)) {
    // Cast as autocast would: the casts stay on the tape, so the fp32 master weights get the
    // gradient.
    return ConvWithTapwiseWeightGradient::apply(x.to(compute_dtype), kernel.to(compute_dtype),
                                                bias_in(bias, x, compute_dtype), padding, dilation);
  }
  return torch::conv2d(x, kernel, bias, /*stride=*/1, padding, dilation);
}

torch::Tensor conv_forward(torch::nn::Conv2dImpl& conv, const torch::Tensor& x) {
  const auto compute_dtype = compute_dtype_of(x);
  const bool bf16_training = x.device().is_cpu() && compute_dtype == torch::kBFloat16 &&
                             torch::GradMode::is_enabled() &&
                             (x.requires_grad() || conv.weight.requires_grad());
  if (!bf16_training) return conv.forward(x);
  // Cast as autocast would (see dilated_conv3x3).
  if (is_pointwise(conv)) {
    return ConvWithTapwiseWeightGradient::apply(
        x.to(compute_dtype), conv.weight.to(compute_dtype), bias_in(conv.bias, x, compute_dtype),
        std::vector<int64_t>{0, 0}, std::vector<int64_t>{1, 1});
  }
  if (const auto padding = few_channel_strided(conv)) {
    return ConvWithSpaceToDepthWeightGradient::apply(
        x.to(compute_dtype).contiguous(torch::MemoryFormat::ChannelsLast),
        conv.weight.to(compute_dtype),
        std::vector<int64_t>{conv.options.stride()->at(0), (*padding)[0], (*padding)[1]});
  }
  return conv.forward(x);
}

FoldedConv fold_batchnorm_parameters(const torch::nn::Conv2dImpl& conv,
                                     const torch::nn::BatchNorm2dImpl& bn) {
  torch::NoGradGuard no_grad;
  const auto eps = bn.options.eps();
  auto mean = bn.running_mean.to(torch::kDouble);
  auto var = bn.running_var.to(torch::kDouble);
  const int64_t channels = mean.size(0);
  auto gamma =
      bn.options.affine() ? bn.weight.to(torch::kDouble) : torch::ones({channels}, torch::kDouble);
  auto beta =
      bn.options.affine() ? bn.bias.to(torch::kDouble) : torch::zeros({channels}, torch::kDouble);
  auto scale = gamma / torch::sqrt(var + eps);
  auto old_bias =
      conv.bias.defined() ? conv.bias.to(torch::kDouble) : torch::zeros({channels}, torch::kDouble);
  const auto dtype = conv.weight.scalar_type();
  return {(conv.weight.to(torch::kDouble) * scale.view({-1, 1, 1, 1})).to(dtype),
          ((old_bias - mean) * scale + beta).to(dtype)};
}

void convert_to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& parameter : module.parameters())
    if (parameter.dim() == 4)
      parameter.set_data(parameter.contiguous(torch::MemoryFormat::ChannelsLast));
}

namespace {

// In-place clamp to [0, 6] whose backward needs only comparisons and a product, which every dtype
// has on every device.
struct Relu6InPlace : torch::autograd::Function<Relu6InPlace> {
  static torch::Tensor forward(torch::autograd::AutogradContext* context, torch::Tensor x) {
    x.clamp_(0, 6);
    context->mark_dirty({x});
    context->save_for_backward({x});
    return x;
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* context,
                                               torch::autograd::tensor_list gradients) {
    const auto y = context->get_saved_variables()[0];
    const auto inside = (y > 0).logical_and_(y < 6);
    return {gradients[0] * inside.to(gradients[0].scalar_type())};
  }
};

}  // namespace

torch::Tensor Relu6Impl::forward(torch::Tensor x) {
  if (x.scalar_type() == torch::kBFloat16 && torch::GradMode::is_enabled() && x.requires_grad())
    return Relu6InPlace::apply(x);
  return torch::nn::functional::relu6(x, torch::nn::functional::ReLU6FuncOptions(true));
}

double dropout_rate(const torch::nn::Module& module) {
  if (const auto* d = module.as<torch::nn::Dropout>()) return d->options.p();
  if (const auto* d = module.as<torch::nn::Dropout2d>()) return d->options.p();
  if (const auto* d = module.as<Dropout>()) return d->p();
  return 0;
}

}  // namespace sarseg::models
