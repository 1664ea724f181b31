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

void convert_to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& parameter : module.parameters())
    if (parameter.dim() == 4)
      parameter.set_data(parameter.contiguous(torch::MemoryFormat::ChannelsLast));
}

}  // namespace sarseg::models
