// `sarseg models`: the encoders, decoders and weight sets this build knows.
#include <torch/torch.h>

#include <cstdio>
#include <string>

#include "commands.h"
#include "sarseg/models/decoders.h"
#include "sarseg/models/encoders.h"
#include "sarseg/models/model.h"
#include "sarseg/util/strings.h"
#include "sarseg/weights/weight_sets.h"

namespace sarseg::cli {
namespace {

std::string join_numbers(const std::vector<int64_t>& values) {
  std::vector<std::string> parts;
  for (auto v : values)
    parts.push_back(std::to_string(v));
  return join(parts, ",");
}

void print_models() {
  std::printf("Encoders (torchvision parameter names; stages follow the SMP depth contract):\n");
  std::printf("  %-13s %-26s %-16s %-10s %s\n", "name", "stage channels", "reductions", "params",
              "weight sets");
  for (const auto& info : models::encoder_registry()) {
    std::vector<std::string> sets;
    for (const auto& set : weights::weight_sets())
      if (set.architecture == info.name) sets.push_back(set.name);
    int64_t parameters = 0;
    for (const auto& p : info.build(3, 5)->parameters())
      parameters += p.numel();
    char millions[32];
    std::snprintf(millions, sizeof millions, "%.2fM", static_cast<double>(parameters) / 1e6);
    std::printf("  %-13s %-26s %-16s %-10s %s\n", info.name.c_str(),
                join_numbers(info.stage_channels).c_str(), join_numbers(info.reductions).c_str(),
                millions, sets.empty() ? "-" : join(sets, ", ").c_str());
  }
  std::printf("  (params: encoder up to stage 5, 3 bands, without the ImageNet classifier)\n\n");
  std::printf("Decoders:\n");
  for (const auto& info : models::decoder_registry())
    std::printf("  %-13s %s\n", info.name.c_str(), info.description.c_str());
  std::printf("\nWeight sets (looked for in %s):\n", weights::weights_dir().string().c_str());
  std::printf("  %-24s %-13s %-44s %s\n", "name", "encoder", "file", "input normalisation");
  for (const auto& set : weights::weight_sets()) {
    std::printf("  %-24s %-13s %-44s %s\n", set.name.c_str(), set.architecture.c_str(),
                set.file_name.c_str(), set.normalisation.c_str());
  }
}

void add_models_command(CLI::App& root) {
  auto* command = root.add_subcommand("models", "list encoders, decoders and weight sets");
  command->callback(print_models);
}

const CommandRegistration kRegistration{30, "models", add_models_command};

}  // namespace
}  // namespace sarseg::cli
