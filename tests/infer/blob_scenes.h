// Small synthetic scenes a model can learn in seconds (three classes of different mean
// backscatter plus noise), for the reduced-precision tests: an untrained model's near-uniform
// probabilities would flip under any rounding, so the comparison needs a model that has learnt.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "sarseg/eval/metrics.h"
#include "sarseg/infer/inference.h"
#include "sarseg/models/model.h"

namespace sarseg::infer::testing {

inline io::Scene blob_scene(int64_t size, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::normal_distribution<float> noise(0.0f, 0.8f);
  io::Scene scene;
  scene.id = "blobs" + std::to_string(seed);
  scene.height = scene.width = size;
  io::LabelRaster labels(size, size, 0);
  for (int k = 0; k < 6; ++k) {  // discs of class 1 or 2 on class-0 background
    const double cy = uniform(rng) * size, cx = uniform(rng) * size;
    const double r = 8 + uniform(rng) * 16;
    const uint8_t cls = static_cast<uint8_t>(1 + k % 2);
    for (int64_t y = 0; y < size; ++y)
      for (int64_t x = 0; x < size; ++x)
        if ((y - cy) * (y - cy) + (x - cx) * (x - cx) < r * r) labels.at(y, x) = cls;
  }
  const float hh[] = {-1.0f, 1.0f, 0.2f}, hv[] = {-1.0f, 0.0f, 1.2f};
  io::Band b0{"hh_db", "zscore", io::FloatRaster(size, size)};
  io::Band b1{"hv_db", "zscore", io::FloatRaster(size, size)};
  io::Band b2{"incidence_deg", "zscore", io::FloatRaster(size, size)};
  for (int64_t y = 0; y < size; ++y)
    for (int64_t x = 0; x < size; ++x) {
      const int c = labels.at(y, x);
      b0.pixels.at(y, x) = hh[c] + noise(rng);
      b1.pixels.at(y, x) = hv[c] + noise(rng);
      b2.pixels.at(y, x) = static_cast<float>(x) / size - 0.5f;
    }
  for (int64_t x = 0; x < size; ++x)
    labels.at(0, x) = io::kLabelFill;  // an unlabelled row
  scene.bands = {b0, b1, b2};
  scene.labels["classes"] = labels;
  return scene;
}

inline torch::Tensor band_tensor(const io::Scene& s) {
  auto t = torch::empty({3, s.height, s.width});
  for (int b = 0; b < 3; ++b)
    t[b].copy_(
        torch::from_blob(const_cast<float*>(s.bands[b].pixels.data.data()), {s.height, s.width}));
  return t;
}

inline torch::Tensor label_tensor(const io::Scene& s) {
  const auto& l = s.labels.at("classes");
  return torch::from_blob(const_cast<uint8_t*>(l.data.data()), {s.height, s.width}, torch::kUInt8)
      .to(torch::kLong);
}

// `spec` (3 bands, 3 classes) built and trained with Adam on 64x64 crops of four blob scenes.
inline models::SegmentationModel train_on_blobs(models::ModelSpec spec, int steps, double lr) {
  torch::manual_seed(0);
  spec.in_channels = 3;
  spec.heads = {models::HeadSpec{"classes", 3, false}};
  auto model = models::build_model(spec);
  std::vector<io::Scene> train;
  for (unsigned s = 0; s < 4; ++s)
    train.push_back(blob_scene(128, 100 + s));
  torch::optim::Adam optimiser(model->parameters(), torch::optim::AdamOptions(lr));
  model->train();
  std::mt19937 rng(7);
  for (int step = 0; step < steps; ++step) {
    std::vector<torch::Tensor> xs, ys;
    for (int b = 0; b < 4; ++b) {
      const auto& s = train[rng() % train.size()];
      const int64_t y0 = rng() % (128 - 64), x0 = rng() % (128 - 64);
      xs.push_back(band_tensor(s).narrow(1, y0, 64).narrow(2, x0, 64));
      ys.push_back(label_tensor(s).narrow(0, y0, 64).narrow(1, x0, 64));
    }
    auto loss = torch::nn::functional::cross_entropy(
        model->forward(torch::stack(xs)), torch::stack(ys),
        torch::nn::functional::CrossEntropyFuncOptions().ignore_index(255));
    optimiser.zero_grad();
    loss.backward();
    optimiser.step();
  }
  model->eval();
  return model;
}

// Weighted F1 of `model` with `options` on three held-out blob scenes, one pass per scene.
inline double blob_test_weighted_f1(const models::SegmentationModel& model,
                                    InferenceOptions options) {
  data::Normalization norm;
  norm.bands = {"hh_db", "hv_db", "incidence_deg"};
  norm.mean = {0, 0, 0};
  norm.std = {1, 1, 1};
  ScenePredictor predictor(model, norm, {"classes"}, options);
  eval::ConfusionMatrix cm(3);
  for (unsigned s = 0; s < 3; ++s) {
    const auto scene = blob_scene(128, 200 + s);
    const auto out = predictor.predict(scene);
    cm.add(scene.labels.at("classes").data.data(), out.heads[0].classes.data.data(),
           out.valid.data.data(), out.valid.data.size());
  }
  return eval::compute_metrics(cm).weighted_f1;
}

// Expects `precision` to change the blob test-set weighted F1 of `model` by less than 0.005 against
// fp32 (one pass per scene), with fp32 above 0.8 so that the comparison means something.
inline void expect_weighted_f1_kept(const models::SegmentationModel& model,
                                    const std::string& precision) {
  auto weighted_f1 = [&](const std::string& p) {
    InferenceOptions options;
    options.tile = 0;  // one pass per scene: few, large oneDNN calls (bf16 is emulated without
                       // avx512_bf16 and slow in many small ones)
    options.precision = p;
    return blob_test_weighted_f1(model, options);
  };
  const double fp32 = weighted_f1("fp32");
  const double reduced = weighted_f1(precision);
  ::testing::Test::RecordProperty("weighted_f1_fp32", std::to_string(fp32));
  ::testing::Test::RecordProperty("weighted_f1_" + precision, std::to_string(reduced));
  std::printf("weighted F1: fp32 %.5f, %s %.5f, difference %.5f\n", fp32, precision.c_str(),
              reduced, reduced - fp32);
  EXPECT_GT(fp32, 0.8) << "the model did not learn the scenes; the comparison would mean nothing";
  EXPECT_LT(std::abs(reduced - fp32), 0.005);
}

}  // namespace sarseg::infer::testing
