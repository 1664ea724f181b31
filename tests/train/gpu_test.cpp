// GPU checks (ctest label `gpu`): training and whole-scene prediction on CUDA against the CPU
// path on the same data. Every test skips itself where this build or machine has no CUDA.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "sarseg/infer/checkpoint_loader.h"
#include "sarseg/infer/inference.h"
#include "sarseg/synth/synth.h"
#include "sarseg/train/trainer.h"
#include "sarseg/util/torch_compat.h"
#include "support/test_support.h"
#include "tiny_config.h"

namespace fs = std::filesystem;
using namespace sarseg;

namespace {

#define SKIP_WITHOUT_CUDA()                \
  if (!sarseg::compat::cuda_available()) { \
    GTEST_SKIP() << "no CUDA device here"; \
  }

train::TrainResult tiny_run(const fs::path& dir, const std::vector<std::string>& extra) {
  auto overrides = sarseg::testing::tiny_train_overrides(dir, 2, 5, extra);
  overrides.push_back("data.loader_threads=0");
  return sarseg::testing::train_tiny(overrides, {});
}

TEST(Gpu, TrainingOnCudaMatchesTheCpuWithinNoise) {
  SKIP_WITHOUT_CUDA();
  sarseg::testing::TempDir dir;
  const auto cpu = tiny_run(dir / "cpu", {"train.device=cpu"});
  const auto cuda = tiny_run(dir / "cuda", {"train.device=cuda"});
  ASSERT_EQ(cuda.history.size(), cpu.history.size());
  for (size_t e = 0; e < cpu.history.size(); ++e) {
    // Same data, seed and initial weights; cuDNN sums in another order, so only noise differs.
    EXPECT_NEAR(cuda.history[e].train_loss, cpu.history[e].train_loss,
                0.02 * cpu.history[e].train_loss);
    EXPECT_NEAR(cuda.history[e].val_loss, cpu.history[e].val_loss, 0.05 * cpu.history[e].val_loss);
  }
}

TEST(Gpu, Bf16AutocastAndChannelsLastTrainOnCuda) {
  SKIP_WITHOUT_CUDA();
  sarseg::testing::TempDir dir;
  const auto fp32 = tiny_run(dir / "fp32", {"train.device=cuda"});
  const auto fast = tiny_run(
      dir / "fast", {"train.device=cuda", "train.precision=bf16", "train.channels_last=true"});
  ASSERT_EQ(fast.history.size(), fp32.history.size());
  for (size_t e = 0; e < fp32.history.size(); ++e) {
    EXPECT_TRUE(std::isfinite(fast.history[e].val_loss));
    EXPECT_NEAR(fast.history[e].train_loss, fp32.history[e].train_loss,
                0.1 * fp32.history[e].train_loss);
  }
}

TEST(Gpu, WholeScenePredictionOnCudaAgreesWithTheCpu) {
  SKIP_WITHOUT_CUDA();
  sarseg::testing::TempDir dir;
  tiny_run(dir / "run", {"train.device=cpu"});
  const auto bundle = infer::load_inference_bundle(dir / "run");
  synth::SynthSpec spec;
  spec.season = io::Season::kMelt;
  spec.height = 200;
  spec.width = 264;
  spec.seed = 11;
  const io::Scene scene = synth::generate_scene(spec);
  infer::InferenceOptions options;
  options.tile = 96;
  options.overlap = 16;
  const auto on_cpu =
      infer::ScenePredictor(bundle.model, bundle.normalization, bundle.head_labels, options)
          .predict(scene);
  options.device = "cuda";
  const auto on_cuda =
      infer::ScenePredictor(bundle.model, bundle.normalization, bundle.head_labels, options)
          .predict(scene);
  const auto& a = on_cpu.heads.at(0).classes.data;
  const auto& b = on_cuda.heads.at(0).classes.data;
  ASSERT_EQ(a.size(), b.size());
  size_t same = 0;
  for (size_t i = 0; i < a.size(); ++i)
    same += a[i] == b[i];
  EXPECT_GE(static_cast<double>(same) / static_cast<double>(a.size()), 0.995);
}

}  // namespace
