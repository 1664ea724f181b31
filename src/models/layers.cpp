#include "sarseg/models/layers.h"

#include <algorithm>

#include "sarseg/util/torch_compat.h"

namespace sarseg::models {

namespace {

// A stride-1 convolution whose weight gradient is gathered tap by tap. oneDNN 2.6 computes the
// bf16 weight gradient of the paper's rate-12 ASPP convolution on its 16 x 16 map on a generic
// gemm fallback (16 ms a training step on an AVX512-BF16 CPU, five times the forward); here each
// tap's gradient is one matrix product over the output positions whose input lies inside the map,
// on oneDNN's bf16 matmul. The forward and the input gradient are torch's own.
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
      grad_x = std::get<0>(at::convolution_backward(
          grad, x, weight, c10::nullopt, /*stride=*/{1, 1}, padding, dilation,
          /*transposed=*/false, /*output_padding=*/{0, 0}, /*groups=*/1, {true, false, false}));
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
  const bool autocast = compat::autocast_enabled(x.device().type());
  const auto compute_dtype = autocast ? compat::autocast_dtype(x.device().type()) : x.scalar_type();
  const double share =
      inside_share(x.size(-2), rate, drop_rows) * inside_share(x.size(-1), rate, drop_columns);
  if (wants_tapwise_weight_gradient(x, weight, compute_dtype, share)) {
    // Cast as autocast would: the casts stay on the tape, so the fp32 master weights get the
    // gradient.
    // A custom function takes no undefined tensor: no bias goes in as an empty one.
    const auto bias_in = bias.defined() ? bias.to(compute_dtype)
                                        : torch::empty({0}, x.options().dtype(compute_dtype));
    return ConvWithTapwiseWeightGradient::apply(x.to(compute_dtype), kernel.to(compute_dtype),
                                                bias_in, padding, dilation);
  }
  return torch::conv2d(x, kernel, bias, /*stride=*/1, padding, dilation);
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
