// The inference options as command-line options, shared by `sarseg eval`, `sarseg predict` and
// `sarseg bench predict` (header-only; only the program includes CLI11).
#pragma once

#include <CLI/CLI.hpp>

#include "sarseg/eval/inference.h"

namespace sarseg::eval {

inline void add_inference_options(CLI::App& app, InferenceOptions& options) {
  const std::string group = "Inference";
  app.add_option("--tile", options.tile,
                 "tile side in pixels (snapped down to the model's size multiple); 0 = the whole "
                 "scene in one pass, as the paper did (memory grows with the scene)")
      ->group(group);
  app.add_option("--overlap", options.overlap,
                 "pixels shared by neighbouring tiles (at most half the tile); a tile's output is "
                 "used from a quarter of the overlap inwards")
      ->group(group);
  app.add_option("--blend", options.blend, "how overlapping tiles are merged: cosine, linear, crop")
      ->check(CLI::IsMember({"cosine", "linear", "crop"}))
      ->group(group);
  app.add_option("--batch", options.batch, "tiles per forward pass")->group(group);
  app.add_option(
         "--precision", options.precision,
         "fp32, bf16 (autocast on the device), int8 (CPU, ResNet + deeplabv3: quantized "
         "weights and activations, ranges measured on each scene), or auto = bf16 where the CPU "
         "has native bf16 (avx512_bf16/amx_bf16), else fp32")
      ->check(CLI::IsMember({"fp32", "bf16", "int8", "auto"}))
      ->group(group);
  app.add_flag("--fold-bn,!--no-fold-bn", options.fold_batchnorm,
               "fold BatchNorm into the preceding convolutions (on a copy of the model)")
      ->group(group);
  app.add_flag("--channels-last,!--no-channels-last", options.channels_last,
               "NHWC memory layout for weights and activations")
      ->group(group);
  app.add_flag("--inference-mode,!--no-inference-mode", options.inference_mode,
               "run under torch::InferenceMode (else only without gradients)")
      ->group(group);
  app.add_option("--device", options.device,
                 "cpu, cuda, cuda:N or auto: where the model runs (tiles are blended on the CPU)")
      ->group(group);
}

}  // namespace sarseg::eval
