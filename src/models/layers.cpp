#include "sarseg/models/layers.h"

namespace sarseg::models {

torch::Tensor dilated_conv3x3(const torch::Tensor& x, const torch::Tensor& weight,
                              const torch::Tensor& bias, int64_t rate) {
  const bool drop_rows = rate >= x.size(-2);
  const bool drop_columns = rate >= x.size(-1);
  auto kernel = weight;
  if (drop_rows) kernel = kernel.narrow(2, 1, 1);
  if (drop_columns) kernel = kernel.narrow(3, 1, 1);
  return torch::conv2d(x, kernel, bias, /*stride=*/1,
                       /*padding=*/{drop_rows ? 0 : rate, drop_columns ? 0 : rate},
                       /*dilation=*/{drop_rows ? 1 : rate, drop_columns ? 1 : rate});
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
