// A tiny SOD checkpoint (mobilenet_v2 + unet, 3 input bands) for command-line tests.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "sarseg/checkpoint/checkpoint.h"
#include "sarseg/io/scene.h"

namespace sarseg::test {

// A 64x64 scene with the tiny checkpoint's 3 bands (a deterministic pattern) and SOD labels.
inline io::Scene tiny_sod_scene(const std::string& id) {
  io::Scene scene;
  scene.id = id;
  scene.height = scene.width = 64;
  const char* names[] = {"hh_db", "hv_db", "incidence_deg"};
  for (int b = 0; b < 3; ++b) {
    io::Band band{names[b], b < 2 ? "dB" : "deg", io::FloatRaster(64, 64)};
    for (size_t i = 0; i < band.pixels.data.size(); ++i)
      band.pixels.data[i] = (b == 2 ? 30.0f : -20.0f) + static_cast<float>((i * (b + 3)) % 11);
    scene.bands.push_back(band);
  }
  io::LabelRaster sod(64, 64, 0);
  for (size_t i = 0; i < sod.data.size(); ++i)
    sod.data[i] = static_cast<uint8_t>((i / 7) % 6);
  scene.labels["SOD"] = sod;
  return scene;
}

inline models::ModelSpec tiny_spec(const std::string& encoder = "mobilenet_v2") {
  models::ModelSpec spec;
  spec.encoder = encoder;
  spec.decoder = "unet";
  spec.in_channels = 3;
  spec.heads = {models::HeadSpec{"SOD", 6, false}};
  spec.decoder_channels = {16, 16, 8, 8, 8};
  return spec;
}

// `units`: the band units recorded with the normalisation ({} = none, as older checkpoints);
// `downsample`: the grid factor recorded with it (data.downsample).
inline std::filesystem::path write_checkpoint(const std::filesystem::path& dir,
                                              const models::ModelSpec& meta_spec,
                                              const models::ModelSpec& weights_spec,
                                              const std::vector<std::string>& units = {},
                                              int64_t downsample = 1) {
  checkpoint::CheckpointMeta meta;
  meta.spec = meta_spec;
  meta.normalization.bands = {"hh_db", "hv_db", "incidence_deg"};
  meta.normalization.mean = {-15.0, -25.0, 35.0};
  meta.normalization.std = {5.0, 5.0, 8.0};
  meta.normalization.source = "test";
  meta.normalization.units = units;
  meta.normalization.downsample = downsample;
  meta.tasks = {data::TaskSpec{"SOD", 6, false, 1.0}};
  meta.epoch = 3;
  auto model = models::build_model(weights_spec);
  const std::filesystem::path path = dir / "model.ckpt";
  checkpoint::save_checkpoint(path, meta, *model, nullptr);
  return path;
}

}  // namespace sarseg::test
