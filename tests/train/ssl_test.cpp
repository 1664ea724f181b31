// Self-supervised pretraining: the objectives on hand-computed tensors, the collapse monitor and
// its negative controls, and the weights it writes going into model.init.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "sarseg/experiment/ssl.h"
#include "sarseg/models/model.h"
#include "sarseg/train/pretrain.h"
#include "sarseg/train/ssl_losses.h"
#include "sarseg/weights/state_dict.h"
#include "support/test_support.h"

using namespace sarseg;
namespace fs = std::filesystem;

namespace {

torch::Tensor rows(std::vector<std::vector<float>> values) {
  const int64_t n = static_cast<int64_t>(values.size());
  const int64_t d = static_cast<int64_t>(values.front().size());
  auto t = torch::empty({n, d});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j)
      t[i][j] = values[size_t(i)][size_t(j)];
  return t;
}

// Two tiny simulated scenes, a small encoder and a few pretraining steps.
experiment::PretrainJob tiny_job(const fs::path& output,
                                 const std::vector<std::string>& extra = {}) {
  std::vector<std::string> overrides = {
      "data.source=synthetic",       "synth.seasons=winter,melt",
      "synth.train_per_season=1",    "synth.val_per_season=1",
      "synth.test_per_season=0",     "synth.size=96",
      "data.min_valid_fraction=0.2", "model.encoder=mobilenet_v2",
      "model.decoder=unet",          "ssl.epochs=2",
      "ssl.samples_per_epoch=16",    "ssl.batch_size=8",
      "ssl.region_size=48",          "ssl.view_size=32",
      "ssl.projector_hidden=32",     "ssl.projector_dim=32",
      "ssl.monitor_samples=32",      "ssl.output=" + output.string()};
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  return experiment::load_pretrain_job(std::nullopt, overrides);
}

train::PretrainResult pretrain(const experiment::PretrainJob& job,
                               const train::PretrainCallbacks& callbacks = {}) {
  const auto scenes = experiment::pretraining_scenes(job.train, job.synth, job.ssl, nullptr);
  return train::run_pretraining(job.train, job.ssl, scenes, callbacks);
}

}  // namespace

TEST(SslLosses, VicregMatchesTheHandComputedTerms) {
  // z1 centred: [[-1, 0], [1, 0]] (var 2 and 0); z2 centred: [[-1, -1], [1, 1]] (var 2 and 2,
  // covariance 2).
  const auto z1 = rows({{0, 0}, {2, 0}});
  const auto z2 = rows({{0, 0}, {2, 2}});
  const auto terms = train::vicreg_loss(z1, z2, train::VicregWeights{});
  EXPECT_NEAR(terms.invariance, 1.0, 1e-6);  // (0 + 0 + 0 + 4) / 4
  // z1's second dimension: std sqrt(0 + 1e-4) = 0.01, hinge 0.99; the rest above 1: 0.99 / 2 / 2.
  EXPECT_NEAR(terms.variance, 0.2475, 1e-6);
  EXPECT_NEAR(terms.covariance, 4.0, 1e-5);  // (0 + 2^2 + 2^2) / 2
  EXPECT_NEAR(terms.total.item<double>(), 25 * 1.0 + 25 * 0.2475 + 1 * 4.0, 1e-4);
  train::VicregWeights weights;
  weights.invariance = 1;
  weights.variance = 0;
  weights.covariance = 0;
  EXPECT_NEAR(train::vicreg_loss(z1, z2, weights).total.item<double>(), 1.0, 1e-6);
}

TEST(SslLosses, BarlowTwinsMatchesTheHandComputedTerms) {
  // Standardised per dimension both are +-1 (over 1 + 1e-5); C = [[1, -1], [1, -1]].
  const auto z1 = rows({{1, 1}, {-1, -1}});
  const auto z2 = rows({{1, -1}, {-1, 1}});
  const auto terms = train::barlow_twins_loss(z1, z2, 0.5);
  const double c = 1.0 / std::sqrt(1.0 + 1e-5) / std::sqrt(1.0 + 1e-5);
  EXPECT_NEAR(terms.invariance, (c - 1) * (c - 1) + (c + 1) * (c + 1), 1e-5);  // about 4
  EXPECT_NEAR(terms.variance, 2 * c * c, 1e-5);                                // about 2
  EXPECT_NEAR(terms.total.item<double>(), terms.invariance + 0.5 * terms.variance, 1e-5);
  // Identical, decorrelated views cost nothing.
  const auto same = rows({{1, 1}, {-1, 1}, {1, -1}, {-1, -1}});
  EXPECT_NEAR(train::barlow_twins_loss(same, same, 0.5).total.item<double>(), 0.0, 1e-3);
}

TEST(SslMonitor, EffectiveRankAndStdOfKnownEmbeddings) {
  // Two orthogonal directions of equal energy: effective rank exactly 2.
  const auto two = rows({{1, 0}, {-1, 0}, {0, 1}, {0, -1}});
  const auto stats = train::measure_embeddings(two);
  EXPECT_NEAR(stats.effective_rank, 2.0, 1e-9);
  EXPECT_NEAR(stats.mean_std, std::sqrt(2.0 / 3.0), 1e-9);
  EXPECT_EQ(stats.per_dimension_std.size(), 2u);

  torch::manual_seed(0);
  const auto spread = torch::randn({128, 16});
  const auto healthy = train::measure_embeddings(spread);
  EXPECT_GT(healthy.effective_rank, 10.0);
  EXPECT_GT(healthy.normalised_std, 0.8);
  EXPECT_EQ(train::collapse_problem(healthy, {}), "");

  // Complete collapse: one embedding for every sample.
  const auto constant = torch::ones({64, 16}) * 0.3;
  const auto collapsed = train::measure_embeddings(constant);
  EXPECT_LT(collapsed.normalised_std, 1e-6);
  EXPECT_EQ(collapsed.effective_rank, 0.0);
  EXPECT_NE(train::collapse_problem(collapsed, {}).find("nearly constant"), std::string::npos);

  // Dimensional collapse: every embedding on one line (varying along it).
  const auto line = torch::randn({64, 1}).mm(torch::randn({1, 16}));
  const auto flat = train::measure_embeddings(line);
  EXPECT_NEAR(flat.effective_rank, 1.0, 1e-3);
  EXPECT_NE(train::collapse_problem(flat, {}).find("effective rank"), std::string::npos);
}

TEST(SslPretrain, NormalRunWritesWeightsThatModelInitLoads) {
  sarseg::testing::TempDir dir;
  const fs::path out = dir / "encoder.safetensors";
  const auto job = tiny_job(out);
  std::vector<int64_t> epochs;
  train::PretrainCallbacks callbacks;
  callbacks.on_epoch_end = [&](const train::PretrainEpoch& e) { epochs.push_back(e.epoch); };
  const auto result = pretrain(job, callbacks);  // no collapse: returns
  EXPECT_EQ(epochs, (std::vector<int64_t>{0, 1, 2}));
  ASSERT_EQ(result.history.size(), 3u);
  EXPECT_EQ(result.samples_seen, 32);
  EXPECT_EQ(result.scenes, 2);
  for (const auto& e : result.history) {
    EXPECT_GT(e.embedding.effective_rank, 1.5) << e.epoch;
    EXPECT_GT(e.embedding.normalised_std, 0.05) << e.epoch;
    EXPECT_EQ(e.embedding.dimensions, 32);
    EXPECT_EQ(e.embedding_std.size(), 32u);
  }
  EXPECT_GT(result.history.back().loss, 0.0);
  ASSERT_TRUE(fs::exists(out));
  ASSERT_TRUE(fs::exists(result.record));
  const auto record = train::read_pretrain_record(out);
  EXPECT_EQ(record.history.size(), 3u);
  EXPECT_EQ(record.samples_seen, 32);

  // model.init = the file: every encoder tensor comes from it, the decoder stays random.
  models::ModelSpec spec = train::model_spec_of(job.train);
  spec.init = out.string();
  auto model = models::build_model(spec);
  const auto report = models::initialise_encoder(model, spec);
  EXPECT_GT(report.loaded.size(), 50u);
  for (const auto& name : report.not_loaded)
    EXPECT_NE(name.rfind("encoder.", 0), 0u) << name << " was not loaded";
  const auto file = weights::read_weights(out);
  for (const auto& [name, tensor] : file) {
    if (name.find("num_batches_tracked") != std::string::npos) continue;
    bool found = false;
    for (const auto& item : model->named_parameters())
      if (item.key() == name) {
        EXPECT_TRUE(torch::equal(item.value(), tensor)) << name;
        found = true;
      }
    for (const auto& item : model->named_buffers())
      if (item.key() == name) found = true;
    EXPECT_TRUE(found) << name;
  }
}

TEST(SslPretrain, AConstantEncoderTriggersTheCollapseMonitor) {
  sarseg::testing::TempDir dir;
  const fs::path out = dir / "encoder.safetensors";
  train::PretrainCallbacks callbacks;
  callbacks.inject_fault = [](int64_t, int64_t) { return train::PretrainFault::kConstantInput; };
  try {
    pretrain(tiny_job(out), callbacks);
    FAIL() << "a constant encoder output must stop pretraining";
  } catch (const train::EmbeddingCollapse& e) {
    EXPECT_NE(std::string(e.what()).find("collapsed at epoch 1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("ssl.vicreg_variance"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(out));  // no weights of a collapsed run
  EXPECT_FALSE(fs::exists(train::pretrain_record_path(out)));
}

TEST(SslPretrain, InvarianceAloneShrinksTheEmbeddingsAndTheMonitorShowsIt) {
  // Without the variance and covariance terms nothing keeps the embeddings apart: the collapse
  // VICReg exists to prevent. The monitor's per-dimension std shows it falling (a scale collapse,
  // slower than the default thresholds judge within a few epochs: docs/ssl.md).
  sarseg::testing::TempDir dir;
  const fs::path out = dir / "encoder.safetensors";
  const auto job =
      tiny_job(out, {"ssl.vicreg_variance=0", "ssl.vicreg_covariance=0", "ssl.epochs=4",
                     "ssl.samples_per_epoch=32", "ssl.lr=0.01", "ssl.weight_decay=0"});
  const auto result = pretrain(job);
  ASSERT_EQ(result.history.size(), 5u);
  EXPECT_LT(result.history.back().embedding.mean_std,
            0.3 * result.history.front().embedding.mean_std);
  // With the variance term the same run keeps its spread.
  const auto healthy =
      pretrain(tiny_job(dir / "healthy.safetensors", {"ssl.epochs=4", "ssl.samples_per_epoch=32",
                                                      "ssl.lr=0.01", "ssl.weight_decay=0"}));
  EXPECT_GT(healthy.history.back().embedding.mean_std, result.history.back().embedding.mean_std);
}

TEST(SslPretrain, BarlowTwinsRunsToo) {
  sarseg::testing::TempDir dir;
  const auto result =
      pretrain(tiny_job(dir / "barlow.safetensors", {"ssl.objective=barlow", "ssl.epochs=1"}));
  EXPECT_EQ(result.objective, "barlow");
  EXPECT_TRUE(fs::exists(dir / "barlow.safetensors"));
}

TEST(SslPretrain, BadInputStopsBeforeAnyStep) {
  sarseg::testing::TempDir dir;
  const fs::path out = dir / "encoder.safetensors";
  const auto job = tiny_job(out);
  int steps = 0;
  train::PretrainCallbacks callbacks;
  callbacks.on_progress = [&](const train::PretrainProgress&) { ++steps; };
  // No scenes at all.
  try {
    train::run_pretraining(job.train, job.ssl, {}, callbacks);
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("data.unlabelled"), std::string::npos) << e.what();
  }
  // Regions larger than every scene.
  auto big = tiny_job(out, {"ssl.region_size=200"});
  EXPECT_THROW(pretrain(big, callbacks), UserError);
  // An existing output without ssl.overwrite.
  { std::ofstream(out.string()) << "x"; }
  EXPECT_THROW(pretrain(job, callbacks), UserError);
  EXPECT_EQ(steps, 0);
  // Out-of-range options.
  EXPECT_THROW(tiny_job(out, {"ssl.objective=simclr"}), UserError);
  EXPECT_THROW(tiny_job(out, {"ssl.batch_size=1"}), UserError);
  // A files source with neither training nor unlabelled scenes.
  auto files = experiment::load_pretrain_job(std::nullopt, {});
  EXPECT_TRUE(experiment::pretraining_scenes(files.train, files.synth, files.ssl, nullptr).empty());
}
