// An encoder with its ImageNet classification head, under torchvision's full-model parameter
// names (mobilenet_v2: features.*, classifier.1.*; resnet: conv1, bn1, layer1..4, fc), so a
// torchvision state_dict or the shipped safetensors loads into it strictly. Used by
// `sarseg weights check` to verify weight files on photos.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "sarseg/weights/state_dict.h"

namespace sarseg::models {

class EncoderImpl;

class ImageNetClassifierImpl : public torch::nn::Module {
 public:
  ImageNetClassifierImpl(const std::string& encoder, int64_t num_classes);
  torch::Tensor forward(const torch::Tensor& x);  // [N,3,H,W] -> logits [N,num_classes]
  // The encoder taps [x, stage1..stage5] (SMP convention), e.g. for golden-tensor checks.
  std::vector<torch::Tensor> encoder_features(const torch::Tensor& x);

 private:
  torch::nn::AnyModule network_;
  std::shared_ptr<EncoderImpl> encoder_;
  torch::nn::AnyModule head_;
};
TORCH_MODULE(ImageNetClassifier);

// Loads a torchvision classifier state_dict: every tensor must match by name and shape except
// the BatchNorm `num_batches_tracked` counters, which converted files omit (UserError otherwise).
weights::LoadResult load_classifier_weights(ImageNetClassifierImpl& classifier,
                                            const weights::StateDict& tensors,
                                            const std::string& source_name);

}  // namespace sarseg::models
