#include "sarseg/infer/options.h"

#include <torch/torch.h>

#include <fstream>

#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"
#include "sarseg/util/torch_runtime.h"

namespace sarseg::infer {

std::vector<std::string> blend_names() {
  return {"cosine", "linear", "crop"};
}

std::vector<std::string> precision_names() {
  return {"fp32", "bf16", "int8", "auto"};
}

const config::ConfigSchema<InferenceOptions>& inference_options_schema() {
  static const auto schema = [] {
    config::ConfigSchema<InferenceOptions> s;
    using O = InferenceOptions;
    s.add(
        "inference.tile", [](O & o) -> auto& { return o.tile; },
        "tile side in pixels (snapped down to the model's size multiple); 0 = the whole scene in "
        "one pass, as the paper did (memory grows with the scene)");
    s.add(
        "inference.overlap", [](O & o) -> auto& { return o.overlap; },
        "pixels shared by neighbouring tiles (at most half the tile); a tile's output is used "
        "from a quarter of the overlap inwards");
    s.add(
        "inference.blend", [](O & o) -> auto& { return o.blend; },
        "how overlapping tiles are merged", blend_names());
    s.add(
        "inference.batch", [](O & o) -> auto& { return o.batch; }, "tiles per forward pass");
    s.add(
        "inference.precision", [](O & o) -> auto& { return o.precision; },
        "fp32, bf16 (autocast on the device), int8 (CPU, ResNet + deeplabv3: quantized weights "
        "and activations, ranges measured on each scene), or auto = the fastest near-exact path "
        "for the device: bf16, channels-last, BatchNorm folded on a GPU or an AMX CPU; fp32 with "
        "channels-last and BatchNorm folded on a CPU with avx512_bf16 only; else fp32",
        precision_names());
    s.add(
        "inference.fold_batchnorm", [](O & o) -> auto& { return o.fold_batchnorm; },
        "fold BatchNorm into the preceding convolutions (on a copy of the model)");
    s.add(
        "inference.channels_last", [](O & o) -> auto& { return o.channels_last; },
        "NHWC memory layout for weights and activations");
    s.add(
        "inference.inference_mode", [](O & o) -> auto& { return o.inference_mode; },
        "run under torch::InferenceMode (else only without gradients)");
    s.add(
        "inference.device", [](O & o) -> auto& { return o.device; },
        "cpu, cuda, cuda:N or auto: where the model runs (tiles are blended on the CPU)");
    s.add(
        "inference.mc_dropout", [](O & o) -> auto& { return o.mc_dropout; },
        "Monte Carlo dropout: forward passes per tile with the model's dropout active, averaged, "
        "with their disagreement as uncertainty (one checkpoint whose decoder has dropout, e.g. "
        "deeplabv3); 0 = off");
    s.add(
        "inference.calibrated", [](O & o) -> auto& { return o.calibrated; },
        "calibrated probabilities: divide each head's logits by the temperature fitted on the "
        "validation scenes at the end of training (a checkpoint without one is refused)");
    s.add_check([](const O& o) { validate(o); });
    return s;
  }();
  return schema;
}

void validate(const InferenceOptions& options) {
  require(options.tile >= 0, "--tile " + std::to_string(options.tile) +
                                 " is negative; give a tile side in pixels, or 0 for one pass");
  require(options.overlap >= 0,
          "--overlap " + std::to_string(options.overlap) + " is negative; give pixels >= 0");
  require(options.tile == 0 || options.overlap * 2 <= options.tile,
          "--overlap " + std::to_string(options.overlap) + " is more than half of --tile " +
              std::to_string(options.tile) + "; use at most " + std::to_string(options.tile / 2));
  config::check_choice(options.blend, blend_names(), "--blend (inference.blend)");
  require(options.batch >= 1,
          "--batch " + std::to_string(options.batch) + " must be at least 1 tile per pass");
  config::check_choice(options.precision, precision_names(), "--precision (inference.precision)");
  require(options.mc_dropout >= 0 && options.mc_dropout <= 1000,
          "--mc-dropout " + std::to_string(options.mc_dropout) +
              " is out of range; give 0 (off) or a number of passes up to 1000");
  require(options.mc_dropout == 0 || options.precision != "int8",
          "--mc-dropout needs the float model, not --precision int8; use fp32 or bf16");
  const auto device = resolve_device_name(options.device);
  require(options.precision != "int8" || torch::Device(device).is_cpu(),
          "--precision int8 runs on the CPU only, not on --device " + options.device +
              "; use --device cpu, or --precision bf16 on the GPU");
}

nlohmann::json to_json(const InferenceOptions& o) {
  const auto resolved = resolve_arithmetic(o);
  return {{"tile", o.tile},
          {"overlap", o.overlap},
          {"blend", o.blend},
          {"batch", o.batch},
          {"inference_mode", o.inference_mode},
          {"fold_batchnorm", o.fold_batchnorm},
          {"channels_last", o.channels_last},
          {"precision", o.precision},
          {"device", o.device},
          {"mc_dropout", o.mc_dropout},
          {"calibrated", o.calibrated},
          {"resolved_precision", resolved.precision},
          {"resolved_channels_last", resolved.channels_last},
          {"resolved_fold_batchnorm", resolved.fold_batchnorm},
          {"arithmetic", resolved.description}};
}

ResolvedArithmetic resolve_arithmetic(const InferenceOptions& options) {
  ResolvedArithmetic r;
  r.precision = options.precision;
  r.channels_last = options.channels_last;
  r.fold_batchnorm = options.fold_batchnorm;
  std::string why;
  if (options.precision == "auto") {
    const auto a = auto_arithmetic(resolve_device_name(options.device));
    r.precision = a.bf16 ? "bf16" : "fp32";
    r.channels_last = r.channels_last || a.channels_last;
    r.fold_batchnorm = r.fold_batchnorm || a.fold_batchnorm;
    why = " (precision auto: " + a.reason + ")";
  }
  r.description = r.precision;
  if (r.precision != "int8") {  // the int8 graph has its own layout and always folds
    if (r.channels_last) r.description += ", channels-last";
    if (r.fold_batchnorm) r.description += ", BatchNorm folded";
  }
  r.description += why;
  return r;
}

std::string resolved_precision(const InferenceOptions& options) {
  return resolve_arithmetic(options).precision;
}

}  // namespace sarseg::infer
