// `sarseg data prepare [SCENES...] --out STORE`: prepares scene files into a scene store
// (data/scene_store.h) with a training config's settings, so that training reads them by window.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "sarseg/data/dataset.h"
#include "sarseg/data/scene_store.h"
#include "sarseg/train/config.h"
#include "sarseg/util/error.h"

namespace fs = std::filesystem;

namespace sarseg::cli {
namespace {

struct DataPrepareArgs {
  std::vector<std::string> scenes;
  std::string out;
  std::string config_file;
  std::vector<std::string> overrides;
};

const char* event_word(data::StoreEvent::Kind kind) {
  switch (kind) {
    case data::StoreEvent::Kind::kPrepared:
      return "prepared";
    case data::StoreEvent::Kind::kRebuilt:
      return "rebuilt";
    default:
      return "reused";
  }
}

void run_data_prepare(const DataPrepareArgs& args) {
  std::optional<fs::path> file;
  if (!args.config_file.empty()) file = args.config_file;
  const train::TrainConfig config = train::load_train_config(file, args.overrides);
  std::vector<std::string> entries = args.scenes;
  if (entries.empty()) {
    entries = config.data.train;
    entries.insert(entries.end(), config.data.val.begin(), config.data.val.end());
  }
  require(!entries.empty(),
          "data prepare: name scene files or lists, or a --config with data.train / data.val");
  const std::string out = args.out.empty() ? config.data.store : args.out;
  require(!out.empty(), "data prepare: give --out STORE (or data.store in the config)");
  const auto paths = data::expand_scene_paths(entries, "data prepare");
  const auto settings = data::store_settings(config.data.bands, train::tasks_of(config),
                                             static_cast<int>(config.data.ignore_label),
                                             config.data.physical_units, config.data.downsample);
  std::printf("store          %s\n", out.c_str());
  std::printf("settings       %s\n", settings.canonical().c_str());
  data::StoreOptions options;
  options.dir = out;
  double prepare_seconds = 0;
  size_t prepared = 0;
  options.progress = [&](const data::StoreEvent& event) {
    if (event.kind != data::StoreEvent::Kind::kReused) {
      prepare_seconds += event.seconds;
      ++prepared;
    }
    std::printf("[%zu/%zu] %-8s %s (%.1f s)%s%s\n", event.index, event.total,
                event_word(event.kind), event.scene.c_str(), event.seconds,
                event.detail.empty() ? "" : ": ", event.detail.c_str());
    std::fflush(stdout);
  };
  const auto stored = data::open_store(paths, settings, options, "data prepare");
  uintmax_t bytes = 0;
  for (const auto& entry : stored)
    bytes += fs::file_size(entry->file());
  std::printf("scenes         %zu (%zu prepared, %zu reused)\n", stored.size(), prepared,
              stored.size() - prepared);
  if (prepared > 0)
    std::printf("speed          %.2f scenes/min\n",
                60.0 * static_cast<double>(prepared) / std::max(prepare_seconds, 1e-9));
  std::printf("disk           %.1f MiB per scene, %.2f GiB in all\n",
              static_cast<double>(bytes) / static_cast<double>(stored.size()) / (1 << 20),
              static_cast<double>(bytes) / (1 << 30));
}

void add_data_command(CLI::App& root) {
  auto* data_cmd = root.add_subcommand("data", "scene stores: scenes prepared once for training");
  data_cmd->require_subcommand(1);
  auto args = std::make_shared<DataPrepareArgs>();
  auto* prepare = data_cmd->add_subcommand(
      "prepare",
      "prepare scene files into a scene store with a training config's data settings (bands, "
      "tasks, ignore label, units); entries already there are checked and reused");
  prepare->add_option("scenes", args->scenes,
                      "scene files or list files (default: the config's data.train and data.val)");
  prepare->add_option("--out,-o", args->out, "the store folder (default: the config's data.store)");
  prepare->add_option("--config,-c", args->config_file, "YAML training config");
  prepare->add_option("--set", args->overrides, "override a config key (repeatable)")
      ->allow_extra_args(false);
  prepare->callback([args] { run_data_prepare(*args); });
}

const CommandRegistration kRegistration{27, "data", add_data_command};

}  // namespace
}  // namespace sarseg::cli
