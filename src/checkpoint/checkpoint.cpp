#include "sarseg/checkpoint/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>

#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string_view>

#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "sarseg/util/sha256.h"

namespace fs = std::filesystem;

namespace sarseg::checkpoint {
namespace {

const char* const kFormatKey = "sarseg_checkpoint";

nlohmann::json task_to_json(const data::TaskSpec& task) {
  return {{"label", task.label},
          {"classes", task.classes},
          {"regression", task.regression},
          {"weight", task.weight}};
}

data::TaskSpec task_from_json(const nlohmann::json& j) {
  data::TaskSpec task;
  task.label = j.at("label").get<std::string>();
  task.classes = j.at("classes").get<int64_t>();
  task.regression = j.at("regression").get<bool>();
  task.weight = j.at("weight").get<double>();
  return task;
}

// The checksum trailer after the torch archive: marker, SHA-256 of every byte before the
// marker (lowercase hex), newline. torch's zip reader is handed the bytes before it.
constexpr std::string_view kTrailerMarker = "\nSARSEG-SHA256:";
constexpr size_t kTrailerSize = kTrailerMarker.size() + 64 + 1;

std::string with_trailer(std::string archive_bytes) {
  const std::string digest = sha256_hex(archive_bytes);
  archive_bytes.append(kTrailerMarker);
  archive_bytes.append(digest);
  archive_bytes.push_back('\n');
  return archive_bytes;
}

// The archive bytes of a checkpoint file whose recorded checksum matches (or that predates
// checksums: `has_checksum` false). UserError when the checksum does not match.
std::string verified_archive_bytes(const fs::path& path, bool& has_checksum) {
  std::string bytes = read_file(path);
  has_checksum = bytes.size() >= kTrailerSize &&
                 std::string_view(bytes).substr(bytes.size() - kTrailerSize,
                                                kTrailerMarker.size()) == kTrailerMarker;
  if (!has_checksum) return bytes;
  const std::string recorded =
      bytes.substr(bytes.size() - kTrailerSize + kTrailerMarker.size(), 64);
  bytes.resize(bytes.size() - kTrailerSize);
  require(sha256_hex(bytes) == recorded,
          "checkpoint " + path.string() +
              " is damaged: its SHA-256 differs from the one recorded when it was written "
              "(corrupted or partly overwritten file)");
  return bytes;
}

torch::serialize::InputArchive open_archive(const fs::path& path, const torch::Device& device) {
  require(fs::is_regular_file(path), "checkpoint " + path.string() + " does not exist");
  bool has_checksum = false;
  const std::string bytes = verified_archive_bytes(path, has_checksum);
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(bytes.data(), bytes.size(), device);
  } catch (const std::exception&) {  // c10::Error, or a std::runtime_error from the zip reader
    throw UserError(path.string() + " is not a sarseg checkpoint (not a torch archive)" +
                    (has_checksum ? "" : ", or it is damaged: truncated, no checksum record"));
  }
  c10::IValue format;
  require(archive.try_read(kFormatKey, format) && format.isInt(),
          path.string() + " is a torch archive but not a sarseg checkpoint");
  require(format.toInt() <= kCheckpointVersion,
          path.string() + " was written by a newer sarseg (checkpoint format " +
              std::to_string(format.toInt()) + "); upgrade sarseg");
  // Format 2 on always ends with the checksum: without it the file was cut short.
  require(has_checksum || format.toInt() < 2,
          "checkpoint " + path.string() +
              " is damaged: it lacks the checksum record written at its end (truncated file)");
  return archive;
}

}  // namespace

eval::ScoringSpec scoring_of_tasks(const std::vector<data::TaskSpec>& tasks, int ignore_label) {
  eval::ScoringSpec scoring;
  for (const auto& task : tasks)
    scoring.heads.push_back(
        {task.label, eval::class_map_classes(task.label, task.regression, task.classes)});
  scoring.ignore_label = ignore_label;
  return scoring;
}

std::string model_spec_to_json(const models::ModelSpec& spec) {
  nlohmann::json heads = nlohmann::json::array();
  for (const auto& head : spec.heads)
    heads.push_back(
        {{"name", head.name}, {"outputs", head.outputs}, {"regression", head.regression}});
  const nlohmann::json j = {{"encoder", spec.encoder},
                            {"decoder", spec.decoder},
                            {"in_channels", spec.in_channels},
                            {"heads", heads},
                            {"encoder_depth", spec.encoder_depth},
                            {"decoder_channels", spec.decoder_channels},
                            {"aspp_channels", spec.aspp_channels},
                            {"aspp_rates", spec.aspp_rates},
                            {"aspp_pool", spec.aspp_pool},
                            {"dropout", spec.dropout},
                            {"init", spec.init},
                            {"seed", spec.seed},
                            {"freeze_encoder", spec.freeze_encoder},
                            {"freeze_encoder_bn", spec.freeze_encoder_bn}};
  return j.dump();
}

models::ModelSpec model_spec_from_json(const std::string& text, const std::string& where) {
  models::ModelSpec spec;
  try {
    const auto j = nlohmann::json::parse(text);
    spec.encoder = j.at("encoder").get<std::string>();
    spec.decoder = j.at("decoder").get<std::string>();
    spec.in_channels = j.at("in_channels").get<int64_t>();
    spec.heads.clear();
    for (const auto& h : j.at("heads")) {
      models::HeadSpec head;
      head.name = h.at("name").get<std::string>();
      head.outputs = h.at("outputs").get<int64_t>();
      head.regression = h.at("regression").get<bool>();
      spec.heads.push_back(head);
    }
    spec.encoder_depth = j.at("encoder_depth").get<int64_t>();
    spec.decoder_channels = j.at("decoder_channels").get<std::vector<int64_t>>();
    spec.aspp_channels = j.at("aspp_channels").get<int64_t>();
    spec.aspp_rates = j.at("aspp_rates").get<std::vector<int64_t>>();
    spec.aspp_pool = j.at("aspp_pool").get<int64_t>();
    spec.dropout = j.at("dropout").get<double>();
    spec.init = j.at("init").get<std::string>();
    spec.seed = j.at("seed").get<uint64_t>();
    spec.freeze_encoder = j.at("freeze_encoder").get<bool>();
    spec.freeze_encoder_bn = j.at("freeze_encoder_bn").get<bool>();
  } catch (const nlohmann::json::exception& e) {
    throw UserError(where + ": malformed model spec (" + e.what() + ")");
  }
  return spec;
}

fs::path resolve_checkpoint_path(const fs::path& checkpoint_or_run_dir, const std::string& which) {
  if (fs::is_directory(checkpoint_or_run_dir)) {
    const fs::path candidate = checkpoint_or_run_dir / "checkpoints" / (which + ".pt");
    require(fs::is_regular_file(candidate),
            checkpoint_or_run_dir.string() + " is a directory without checkpoints/" + which +
                ".pt; give a checkpoint file or a sarseg run directory");
    return candidate;
  }
  require(fs::exists(checkpoint_or_run_dir),
          "checkpoint " + checkpoint_or_run_dir.string() + " does not exist");
  return checkpoint_or_run_dir;
}

void save_checkpoint(const fs::path& path, const CheckpointMeta& meta, torch::nn::Module& model,
                     const torch::optim::Optimizer* optimizer) {
  nlohmann::json j;
  j["spec"] = nlohmann::json::parse(model_spec_to_json(meta.spec));
  j["normalization"] = nlohmann::json::parse(data::normalization_to_json(meta.normalization));
  j["tasks"] = nlohmann::json::array();
  for (const auto& task : meta.tasks)
    j["tasks"].push_back(task_to_json(task));
  // A meta made without a scoring record (tools, tests) is scored by its tasks.
  const eval::ScoringSpec scoring =
      meta.scoring.heads.empty() ? scoring_of_tasks(meta.tasks, -1) : meta.scoring;
  j["scoring"] = nlohmann::json::parse(eval::scoring_to_json(scoring));
  j["epoch"] = meta.epoch;
  j["config_yaml"] = meta.config_yaml;
  if (!meta.temperatures.empty()) j["temperatures"] = meta.temperatures;
  j["state"] =
      meta.state_json.empty() ? nlohmann::json::object() : nlohmann::json::parse(meta.state_json);

  torch::serialize::OutputArchive archive;
  archive.write(kFormatKey, c10::IValue(static_cast<int64_t>(kCheckpointVersion)));
  archive.write("meta", c10::IValue(j.dump()));
  torch::serialize::OutputArchive model_archive;
  model.save(model_archive);
  archive.write("model", model_archive);
  if (optimizer) {
    torch::serialize::OutputArchive optimizer_archive;
    optimizer->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
  }
  {
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    archive.write("torch_rng", generator.get_state());
  }
  std::ostringstream archive_bytes;
  archive.save_to(archive_bytes);
  write_file_atomically(path, with_trailer(std::move(archive_bytes).str()));
}

std::string checkpoint_damage(const fs::path& path) {
  try {
    open_archive(path, torch::kCPU);
    return "";
  } catch (const UserError& e) {
    return e.what();
  }
}

CheckpointMeta read_checkpoint_meta(const fs::path& path) {
  auto archive = open_archive(path, torch::kCPU);
  c10::IValue meta_value;
  require(archive.try_read("meta", meta_value) && meta_value.isString(),
          path.string() + ": sarseg checkpoint without its meta record");
  CheckpointMeta meta;
  const std::string where = path.string();
  try {
    const auto j = nlohmann::json::parse(meta_value.toStringRef());
    meta.spec = model_spec_from_json(j.at("spec").dump(), where);
    meta.normalization = data::normalization_from_json(j.at("normalization").dump(), where);
    for (const auto& task : j.at("tasks"))
      meta.tasks.push_back(task_from_json(task));
    meta.scoring = j.contains("scoring") ? eval::scoring_from_json(j.at("scoring").dump(), where)
                                         : scoring_of_tasks(meta.tasks, -1);
    meta.epoch = j.at("epoch").get<int64_t>();
    meta.config_yaml = j.value("config_yaml", "");
    meta.state_json = j.contains("state") ? j.at("state").dump() : "{}";
    if (j.contains("temperatures"))
      meta.temperatures = j.at("temperatures").get<std::vector<double>>();
    require(meta.temperatures.empty() || meta.temperatures.size() == meta.spec.heads.size(),
            where + ": " + std::to_string(meta.temperatures.size()) + " temperatures for " +
                std::to_string(meta.spec.heads.size()) + " heads; the checkpoint is inconsistent");
  } catch (const nlohmann::json::exception& e) {
    throw UserError(where + ": malformed checkpoint meta record (" + e.what() + ")");
  }
  return meta;
}

void load_checkpoint_state(const fs::path& path, torch::nn::Module& model,
                           torch::optim::Optimizer* optimizer, bool restore_rng,
                           const torch::Device& device) {
  auto archive = open_archive(path, device);
  torch::serialize::InputArchive model_archive;
  require(archive.try_read("model", model_archive), path.string() + ": no model weights");
  try {
    model.load(model_archive);
  } catch (const c10::Error& e) {
    throw UserError(path.string() + ": weights do not fit the model built from its spec (" +
                    std::string(e.what_without_backtrace()).substr(0, 200) + ")");
  }
  if (optimizer) {
    torch::serialize::InputArchive optimizer_archive;
    require(archive.try_read("optimizer", optimizer_archive),
            path.string() + ": no optimizer state; it cannot be resumed");
    optimizer->load(optimizer_archive);
  }
  if (restore_rng) {
    torch::Tensor state;
    require(archive.try_read("torch_rng", state), path.string() + ": no RNG state");
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(state.to(torch::kCPU));
  }
}

}  // namespace sarseg::checkpoint
