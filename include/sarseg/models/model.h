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

namespace sarseg::models {

struct HeadSpec {
  std::string name = "classes";
  int64_t outputs = 6;  // classes; 1 with regression = true
  bool regression = false;
};

struct ModelSpec {
  std::string encoder = "resnet18";   // see encoder_names()
  std::string decoder = "deeplabv3";  // see decoder_names()
  int64_t in_channels = 3;
  std::vector<HeadSpec> heads = {HeadSpec{}};
  // Number of encoder stages used (SMP depth contract: stage k has reduction 2^k).
  // 0 = the decoder's default (DecoderInfo::default_encoder_depth): deeplabv3 4 = ResNet layer3
  // (stride 16); unet 5.
  int64_t encoder_depth = 0;
  // unet, deepest first; the first encoder_depth entries are used.
  std::vector<int64_t> decoder_channels = {256, 128, 64, 32, 16};
  int64_t aspp_channels = 256;  // deeplabv3
  std::vector<int64_t> aspp_rates = {12, 24, 36};
  int64_t aspp_pool = 2;  // fixed AvgPool2d kernel of the image-pool branch
  double dropout = 0.5;
  // "random", "imagenet" (the encoder's default weight set), a weight-set name such as
  // "mobilenet_v2.imagenet", or a path to a .safetensors / .pth file.
  std::string init = "random";
  uint64_t seed = 1;
  bool freeze_encoder = false;     // no gradients into the encoder
  bool freeze_encoder_bn = false;  // encoder BatchNorm keeps its running statistics (eval mode)
};

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
