// An encoder with its ImageNet classification head, under torchvision's full-model parameter
// names (mobilenet_v2: features.*, classifier.1.*; resnet: conv1, bn1, layer1..4, fc), so a
// torchvision state_dict or the shipped safetensors loads into it strictly. Used by
// `sarseg weights check` to verify weight files on photos.
#pragma once

#include <torch/torch.h>

#include <string>

namespace sarseg::models {

class ImageNetClassifierImpl : public torch::nn::Module {
 public:
  ImageNetClassifierImpl(const std::string& encoder, int64_t num_classes);
  torch::Tensor forward(const torch::Tensor& x);  // [N,3,H,W] -> logits [N,num_classes]

 private:
  torch::nn::AnyModule network_;
};
TORCH_MODULE(ImageNetClassifier);

}  // namespace sarseg::models
