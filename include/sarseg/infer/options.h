// Inference options: the single source of their defaults (eval, predict, bench predict, the
// experiment), their config keys (`inference.*`) and their checks. No torch.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "sarseg/util/config.h"
#include "sarseg/util/torch_runtime.h"

namespace sarseg::infer {

struct InferenceOptions {
  int64_t tile = 1024;    // tile side in pixels (snapped down to the size multiple); 0 = one pass
  int64_t overlap = 128;  // pixels shared by neighbouring tiles, at most tile / 2
  std::string blend = "cosine";    // cosine, linear or crop
  int64_t batch = 1;               // tiles per forward pass
  bool inference_mode = true;      // torch::InferenceMode (else only NoGradGuard)
  bool fold_batchnorm = false;     // fold BatchNorm into the preceding convolution (on a copy)
  bool channels_last = false;      // NHWC activations and weights (oneDNN's preferred layout)
  std::string precision = "fp32";  // fp32, bf16 (autocast on the device), int8 (CPU; ResNet +
                                   // deeplabv3; activation ranges measured on each scene), or
                                   // auto (the fastest near-exact path for the
                                   // device: util/torch_runtime.h auto_arithmetic)
  std::string device = "cpu";      // cpu, cuda, cuda:N or auto; tiles are assembled on the CPU
  int64_t mc_dropout = 0;          // Monte Carlo dropout: passes per tile with dropout active
                                   // (one checkpoint with dropout layers); 0 = off
  bool calibrated = false;         // divide logits by the checkpoint's fitted temperature
                                   // (UserError for a checkpoint without one)
};

std::vector<std::string> blend_names();      // cosine, linear, crop
std::vector<std::string> precision_names();  // fp32, bf16, int8, auto

// The options as config keys inference.tile, inference.overlap, ... (help texts and choices);
// its check is validate(). Root configs include it (see util/config.h).
const config::ConfigSchema<InferenceOptions>& inference_options_schema();

// UserError naming the option (as `--tile` etc.) when a value is out of range.
void validate(const InferenceOptions& options);
nlohmann::json to_json(const InferenceOptions& options);

// True when the CPU has native bf16 arithmetic (avx512_bf16 or amx_bf16 in /proc/cpuinfo).
using sarseg::cpu_has_native_bf16;
// What runs for `options` on this machine. `precision: auto` is the fastest path that keeps the
// weighted F1 within 0.005 of fp32 (tests ReducedPrecision.*), as util/torch_runtime.h
// auto_arithmetic picks it for the device: bf16 autocast (on a GPU or an AMX CPU) or fp32, with
// channels-last weights and activations and BatchNorm folded into the convolutions where the
// device has bf16 units, else fp32 as configured. Other precisions run as
// given. `description` is the one line that says which ran and why.
struct ResolvedArithmetic {
  std::string precision;  // fp32, bf16 or int8
  bool channels_last = false;
  bool fold_batchnorm = false;
  std::string description;
};
ResolvedArithmetic resolve_arithmetic(const InferenceOptions& options);
// resolve_arithmetic(options).precision
std::string resolved_precision(const InferenceOptions& options);

}  // namespace sarseg::infer
