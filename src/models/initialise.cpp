// initialise_encoder: loads pretrained encoder weights named by spec.init.
#include <torch/torch.h>
#include "sarseg/util/log.h"

#include <filesystem>
#include <set>

#include "sarseg/models/encoders.h"
#include "sarseg/models/model.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"
#include "sarseg/weights/state_dict.h"
#include "sarseg/weights/weight_sets.h"

namespace sarseg::models {
namespace {

bool is_counter(const std::string& name) {
  return ends_with(name, "num_batches_tracked");
}

// The file of weight set `set` and, in `source`, the set it belongs to: `set` itself or the
// fallback standing in for its absent file (mobilenet_v2.imagenet: torchvision's own .pth).
std::filesystem::path weight_set_file(const weights::WeightSet& set, std::string* source) {
  const auto path = weights::resolve_weights(set.name);
  *source = set.name;
  for (const auto& fallback : set.fallbacks) {
    if (path.filename() != fallback.file_name) continue;
    *source = fallback.name;
    sarseg::log::info("weights {}: {} is not in {}; using {} ({}) instead", set.name, set.file_name,
                      weights::weights_dir().string(), fallback.name, path.string());
  }
  return path;
}

// The file for spec.init: the encoder's default set, a named set, or a path.
std::filesystem::path weights_file(const ModelSpec& spec, std::string* source) {
  const std::string& init = spec.init;
  if (init == "imagenet") {
    const auto* set = weights::default_weight_set(spec.encoder);
    if (!set) {
      throw UserError("init 'imagenet': encoder " + spec.encoder +
                      " has no ImageNet weight set; use init 'random', a weight file path, or "
                      "an encoder listed with weight sets by 'sarseg models'");
    }
    return weight_set_file(*set, source);
  }
  if (std::filesystem::is_regular_file(init)) {
    *source = init;
    return init;
  }
  for (const auto& set : weights::weight_sets()) {
    if (set.name != init) continue;
    if (set.architecture != spec.encoder) {
      throw UserError("init '" + init + "' holds " + set.architecture +
                      " weights but the encoder is " + spec.encoder + "; pick a weight set of " +
                      spec.encoder + " ('sarseg models' lists them) or change the encoder");
    }
    return weight_set_file(set, source);
  }
  std::vector<std::string> names;
  for (const auto& set : weights::weight_sets())
    names.push_back(set.name);
  throw UserError("init '" + init +
                  "' is neither 'random', 'imagenet', a weight set nor an existing file; weight "
                  "sets: " +
                  join(names, ", "));
}

}  // namespace

InitReport initialise_encoder(SegmentationModel& model, const ModelSpec& spec) {
  InitReport report;
  const ModelSpec resolved = model->spec();
  if (spec.init == "random" || spec.init.empty()) {
    for (const auto& item : model->named_parameters())
      report.not_loaded.push_back(item.key());
    report.first_conv_rule =
        "random initialisation for " + std::to_string(resolved.in_channels) +
        (find_encoder(resolved.encoder).default_weight_set.empty() ? " bands (PyTorch default init)"
                                                                   : " bands (torchvision init)");
    sarseg::log::info("model {}: random initialisation (seed {})", model_label(resolved),
                      resolved.seed);
    return report;
  }
  ModelSpec lookup = resolved;
  lookup.init = spec.init;
  const auto path = weights_file(lookup, &report.source);
  const auto file = weights::read_weights(path);

  auto* encoder = dynamic_cast<EncoderImpl*>(&model->encoder());
  TORCH_CHECK(encoder != nullptr, "model encoder is not an EncoderImpl");
  std::set<std::string> encoder_names;
  for (const auto& item : encoder->named_parameters())
    encoder_names.insert(item.key());
  for (const auto& item : encoder->named_buffers())
    encoder_names.insert(item.key());

  // A torchvision classifier file (conv1.*, fc.*) or a sarseg checkpoint (encoder.*): keep the
  // tensors the encoder has, drop the classifier, the decoder and any stage beyond the cut.
  const bool has_encoder_prefix = std::any_of(file.begin(), file.end(), [](const auto& item) {
    return starts_with(item.first, "encoder.");
  });
  weights::StateDict selected;
  std::vector<std::string> dropped;
  const std::string first_conv = encoder->first_conv_weight_name();
  report.first_conv_rule = "first conv not in the file (left random)";
  for (const auto& [file_name, tensor] : file) {
    std::string name = file_name;
    if (has_encoder_prefix) {
      if (!starts_with(name, "encoder.")) {
        dropped.push_back(file_name);
        continue;
      }
      name = name.substr(8);
    }
    if (!encoder_names.count(name)) {
      dropped.push_back(file_name);
      continue;
    }
    if (name == first_conv) {
      require(tensor.dim() == 4, path.string() + ": " + file_name +
                                     " is not a 4-D convolution weight; the file does not fit " +
                                     resolved.encoder);
      selected.emplace_back(
          name, adapt_first_conv_weight(tensor, resolved.in_channels, &report.first_conv_rule));
    } else {
      selected.emplace_back(name, tensor);
    }
  }
  require(!selected.empty(), path.string() + " holds no tensor of encoder " + resolved.encoder +
                                 " (names such as '" + first_conv +
                                 "' expected); is it a weight file for this encoder?");

  const auto result = weights::load_state(*encoder, selected, /*strict=*/false, path.string());
  for (const auto& name : result.loaded)
    report.loaded.push_back("encoder." + name);
  for (const auto& name : result.missing)
    if (!is_counter(name)) report.not_loaded.push_back("encoder." + name);
  for (const auto& item : model->named_parameters())
    if (!starts_with(item.key(), "encoder.")) report.not_loaded.push_back(item.key());
  for (const auto& item : model->named_buffers())
    if (!starts_with(item.key(), "encoder.") && !is_counter(item.key()))
      report.not_loaded.push_back(item.key());

  sarseg::log::info(
      "model {}: encoder initialised from {} ({}): {} tensors loaded, {} left "
      "randomly initialised ({} of them in the decoder), {} file tensors not used",
      model_label(resolved), report.source, path.string(), report.loaded.size(),
      report.not_loaded.size(),
      std::count_if(report.not_loaded.begin(), report.not_loaded.end(),
                    [](const std::string& n) { return !starts_with(n, "encoder."); }),
      dropped.size());
  sarseg::log::info("model {}: {}", model_label(resolved), report.first_conv_rule);
  return report;
}

}  // namespace sarseg::models
