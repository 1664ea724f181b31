// What a segmentation model is made of (encoder, decoder, heads, initialisation): plain values
// without torch, so the training configuration can hold a ModelSpec (train/config.h). Every
// default is written here once. models/model.h builds a model from it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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

}  // namespace sarseg::models
