// Segmentation models: an encoder from the registry plus a decoder, with one or more heads.
//
//   ModelSpec spec;                       // defaults = the paper's model
//   spec.encoder = "mobilenet_v2"; spec.decoder = "unet"; spec.in_channels = 2;
//   auto model = build_model(spec);       // torchvision's random initialisation, seeded
//   auto report = initialise_encoder(model, spec);   // ImageNet weights when spec.init says so
//   auto logits = model->forward(x);      // [N, classes, H, W] of the first head
//
// Input sizes must be multiples of model->size_multiple(); check_input_size() names the nearest
// valid size otherwise.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sarseg/models/decoders.h"
#include "sarseg/models/spec.h"

namespace sarseg::models {

class SegmentationModelImpl : public torch::nn::Module {
 public:
  explicit SegmentationModelImpl(const ModelSpec& spec);

  // Logits of every head, in spec.heads order, each [N, outputs, H, W] at the input size.
  std::vector<torch::Tensor> forward_heads(const torch::Tensor& x);
  // The first head only.
  torch::Tensor forward(const torch::Tensor& x);
  // Encoder feature maps (SMP contract: index 0 is the input, then one per stage).
  std::vector<torch::Tensor> encoder_features(const torch::Tensor& x);

  const ModelSpec& spec() const { return spec_; }
  torch::nn::Module& encoder();
  int64_t size_multiple() const;
  // UserError naming the nearest valid size when (height, width) cannot be taken.
  void check_input_size(int64_t height, int64_t width) const;

  void set_encoder_frozen(bool frozen);
  void set_encoder_bn_frozen(bool frozen);
  // train(on) that keeps frozen encoder BatchNorm layers in eval mode.
  void train(bool on = true) override;

 private:
  ModelSpec spec_;
  torch::nn::AnyModule encoder_;
  torch::nn::AnyModule decoder_;
  std::shared_ptr<torch::nn::Module> encoder_module_;
  bool encoder_bn_frozen_ = false;
  int64_t size_multiple_ = 1;
};
TORCH_MODULE(SegmentationModel);

// Builds the model with torchvision's random initialisation, deterministic for spec.seed.
SegmentationModel build_model(const ModelSpec& spec);

// find_decoder(decoder).default_encoder_depth (deeplabv3 4, unet 5); UserError when unknown.
int64_t default_encoder_depth(const std::string& decoder);
// `spec` with encoder_depth 0 replaced by the decoder's default, names and numbers checked.
ModelSpec resolve_spec(const ModelSpec& spec);
// "resnet18+deeplabv3" style label of a spec.
std::string model_label(const ModelSpec& spec);

struct InitReport {
  std::string source;                   // weight set name or file, "" for random
  std::vector<std::string> loaded;      // tensors taken from the file
  std::vector<std::string> not_loaded;  // model tensors left randomly initialised
  std::string first_conv_rule;          // how the first conv was adapted to in_channels
};

// Loads the encoder weights named by spec.init ("random" does nothing). Logs what was loaded.
InitReport initialise_encoder(SegmentationModel& model, const ModelSpec& spec);

}  // namespace sarseg::models
