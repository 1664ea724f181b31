// A tiny SOD checkpoint (mobilenet_v2 + unet, 3 input bands) for command-line tests.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "sarseg/checkpoint/checkpoint.h"

namespace sarseg::test {

inline models::ModelSpec tiny_spec(const std::string& encoder = "mobilenet_v2") {
  models::ModelSpec spec;
  spec.encoder = encoder;
  spec.decoder = "unet";
  spec.in_channels = 3;
  spec.heads = {models::HeadSpec{"SOD", 6, false}};
  spec.decoder_channels = {16, 16, 8, 8, 8};
  return spec;
}

// `units`: the band units recorded with the normalisation ({} = none, as older checkpoints).
inline std::filesystem::path write_checkpoint(const std::filesystem::path& dir,
                                              const models::ModelSpec& meta_spec,
                                              const models::ModelSpec& weights_spec,
                                              const std::vector<std::string>& units = {}) {
  checkpoint::CheckpointMeta meta;
  meta.spec = meta_spec;
  meta.normalization.bands = {"hh_db", "hv_db", "incidence_deg"};
  meta.normalization.mean = {-15.0, -25.0, 35.0};
  meta.normalization.std = {5.0, 5.0, 8.0};
  meta.normalization.source = "test";
  meta.normalization.units = units;
  meta.tasks = {data::TaskSpec{"SOD", 6, false, 1.0}};
  meta.epoch = 3;
  auto model = models::build_model(weights_spec);
  const std::filesystem::path path = dir / "model.ckpt";
  checkpoint::save_checkpoint(path, meta, *model, nullptr);
  return path;
}

}  // namespace sarseg::test
