// Tiled whole-scene inference: geometry, blending against one-pass inference, odd scene sizes,
// BatchNorm folding, channels-last, and the bf16 path's effect on weighted F1.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <random>

#include "sarseg/data/dataset.h"
#include "sarseg/data/scene_input.h"
#include "sarseg/eval/metrics.h"
#include "sarseg/infer/inference.h"
#include "sarseg/util/error.h"

namespace sarseg::infer {
namespace {

io::Scene random_scene(int64_t height, int64_t width, uint64_t seed, int bands = 3) {
  io::Scene scene;
  scene.id = "random";
  scene.height = height;
  scene.width = width;
  std::mt19937 rng(static_cast<unsigned>(seed));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const char* names[] = {"hh_db", "hv_db", "incidence_deg", "distance_map"};
  for (int b = 0; b < bands; ++b) {
    io::Band band{names[b], "zscore", io::FloatRaster(height, width)};
    for (auto& v : band.pixels.data)
      v = normal(rng);
    scene.bands.push_back(std::move(band));
  }
  scene.valid = io::Raster<uint8_t>(height, width, 1);
  for (int64_t i = 0; i < 10; ++i)
    scene.valid.at(i, i) = 0;                               // a few invalid pixels
  scene.bands[0].pixels.at(height - 1, 0) = std::nanf("");  // and a NaN
  return scene;
}

data::Normalization identity_normalization(int bands = 3) {
  data::Normalization n;
  const char* names[] = {"hh_db", "hv_db", "incidence_deg", "distance_map"};
  for (int b = 0; b < bands; ++b) {
    n.bands.push_back(names[b]);
    n.mean.push_back(0.0);
    n.std.push_back(1.0);
  }
  return n;
}

// A small network with a known receptive field: conv3x3, 2x2 average pool, conv3x3, nearest x2
// upsampling. An output pixel depends on input pixels at most 4 away; size multiple 2.
TiledModel small_receptive_field_model(torch::nn::Sequential& net) {
  torch::manual_seed(3);
  net = torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 8, 3).padding(1)),
                              torch::nn::ReLU(), torch::nn::AvgPool2d(2),
                              torch::nn::Conv2d(torch::nn::Conv2dOptions(8, 4, 3).padding(1)),
                              torch::nn::Upsample(torch::nn::UpsampleOptions()
                                                      .scale_factor(std::vector<double>{2.0, 2.0})
                                                      .mode(torch::kNearest)));
  TiledModel model;
  model.forward = [impl = net.ptr()](const torch::Tensor& x) {
    return std::vector<torch::Tensor>{impl->forward(x) * 4.0};
  };
  model.in_channels = 3;
  model.size_multiple = 2;
  model.heads = {models::HeadSpec{"classes", 4, false}};
  return model;
}

int max_probability_difference(const ScenePrediction& a, const ScenePrediction& b) {
  int worst = 0;
  for (size_t c = 0; c < a.heads[0].probabilities.size(); ++c)
    for (size_t i = 0; i < a.heads[0].probabilities[c].data.size(); ++i)
      worst = std::max(worst, std::abs(int(a.heads[0].probabilities[c].data[i]) -
                                       int(b.heads[0].probabilities[c].data[i])));
  return worst;
}

TEST(TileOrigins, CoverTheAxisAndEndAtTheLastFullTile) {
  EXPECT_EQ(tile_origins(1024, 512, 448), (std::vector<int64_t>{0, 448, 512}));
  EXPECT_EQ(tile_origins(512, 512, 448), (std::vector<int64_t>{0}));
  EXPECT_EQ(tile_origins(200, 512, 448), (std::vector<int64_t>{0}));
  EXPECT_EQ(tile_origins(96, 32, 16), (std::vector<int64_t>{0, 16, 32, 48, 64}));
}

TEST(TilePlan, ShrinksTilesToCoverTheAxisWithLittleExtraWork) {
  const auto plan = plan_axis(5024, 1024, 128, 32);
  EXPECT_EQ(plan.tile, 960);
  EXPECT_EQ(plan.stride, 832);
  const auto origins = tile_origins(5024, plan.tile, plan.stride);
  EXPECT_EQ(origins.size(), 6u);
  EXPECT_EQ(origins.back() + plan.tile, 5024);
  for (size_t i = 1; i < origins.size(); ++i) {
    EXPECT_EQ(origins[i] % 32, 0);
    EXPECT_GE(origins[i - 1] + plan.tile - origins[i], 128);  // overlap kept
  }
  EXPECT_EQ(plan_axis(300, 1024, 128, 32).tile, 300);  // one tile: the whole (padded) axis
  EXPECT_EQ(plan_axis(100, 30, 10, 4).tile % 4, 0);
}

TEST(InferenceOptions, BadValuesNameTheOption) {
  InferenceOptions o;
  o.overlap = 600;
  o.tile = 1000;
  EXPECT_THROW(validate(o), UserError);
  o = {};
  o.blend = "gauss";
  try {
    validate(o);
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("--blend"), std::string::npos);
  }
  o = {};
  o.precision = "fp16";
  EXPECT_THROW(validate(o), UserError);
}

TEST(TiledInference, BlendedTilesEqualOnePassWhenTheReceptiveFieldFitsTheOverlap) {
  torch::nn::Sequential net{nullptr};
  const auto model = small_receptive_field_model(net);
  const auto scene = random_scene(101, 77, 1);  // odd sizes: padded to 102 x 78 internally
  const auto norm = identity_normalization();
  InferenceOptions one_pass;
  one_pass.tile = 0;
  const auto reference = predict_tiled(model, scene, norm, {"classes"}, one_pass, true);
  EXPECT_EQ(reference.tiles, 1);

  for (const std::string blend : {"cosine", "linear", "crop"}) {
    InferenceOptions tiled;
    tiled.tile = 32;
    tiled.overlap = 16;  // a quarter of the overlap = 4 = the receptive-field radius
    tiled.blend = blend;
    tiled.batch = 2;
    const auto out = predict_tiled(model, scene, norm, {"classes"}, tiled, true);
    EXPECT_GT(out.tiles, 20);
    ASSERT_EQ(out.heads[0].classes.height, 101);
    ASSERT_EQ(out.heads[0].classes.width, 77);
    EXPECT_EQ(out.heads[0].classes.data, reference.heads[0].classes.data) << blend;
    EXPECT_LE(max_probability_difference(out, reference), 1) << blend;  // uint8 rounding only
  }

  // The comparison can fail: without overlap, tile borders see zero padding instead of their
  // neighbours and the probabilities there differ.
  InferenceOptions no_overlap;
  no_overlap.tile = 32;
  no_overlap.overlap = 0;
  const auto seams = predict_tiled(model, scene, norm, {"classes"}, no_overlap, true);
  EXPECT_GT(max_probability_difference(seams, reference), 2);
}

TEST(TiledInference, InvalidInputPixelsAreNoData) {
  torch::nn::Sequential net{nullptr};
  const auto model = small_receptive_field_model(net);
  const auto scene = random_scene(40, 30, 2);
  const auto out = predict_tiled(model, scene, identity_normalization(), {"classes"}, {}, true);
  EXPECT_EQ(out.heads[0].classes.at(3, 3), io::kLabelFill);
  EXPECT_EQ(out.heads[0].classes.at(39, 0), io::kLabelFill);  // NaN input
  EXPECT_EQ(out.heads[0].probabilities[0].at(3, 3), io::kLabelFill);
  EXPECT_EQ(out.valid.at(3, 3), 0);
  EXPECT_NE(out.heads[0].classes.at(3, 4), io::kLabelFill);
  int sum = 0;
  for (const auto& p : out.heads[0].probabilities)
    sum += p.at(5, 20);
  EXPECT_NEAR(sum, 254, 2);  // probabilities of a pixel add up to one
}

TEST(TiledInference, MissingBandIsAUserErrorNamingTheScene) {
  torch::nn::Sequential net{nullptr};
  const auto model = small_receptive_field_model(net);
  auto scene = random_scene(40, 30, 2, 2);  // hh_db, hv_db only
  try {
    predict_tiled(model, scene, identity_normalization(3), {"classes"}, {});
    FAIL();
  } catch (const UserError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("incidence_deg"), std::string::npos) << message;
    EXPECT_NE(message.find("hh_db, hv_db"), std::string::npos) << message;
  }
}

// A model trained on dB values must not be handed z-scores (AI4Arctic netCDF values as stored):
// the normalisation's recorded units are checked against the scene's.
TEST(TiledInference, BandInOtherUnitsThanTheTrainingOnesIsAUserError) {
  torch::nn::Sequential net{nullptr};
  const auto model = small_receptive_field_model(net);
  const auto scene = random_scene(40, 30, 2);  // bands in "zscore"
  auto normalization = identity_normalization(3);
  normalization.units = {"dB", "dB", "deg"};
  try {
    predict_tiled(model, scene, normalization, {"classes"}, {});
    FAIL() << "z-scores accepted by a model trained on dB";
  } catch (const UserError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'hh_db' in zscore but the model was trained on dB"), std::string::npos)
        << message;
  }
  normalization.units = {"zscore", "zscore", "zscore"};
  EXPECT_NO_THROW(predict_tiled(model, scene, normalization, {"classes"}, {}));
  normalization.units = {};  // not recorded (older checkpoints): not checked
  EXPECT_NO_THROW(predict_tiled(model, scene, normalization, {"classes"}, {}));
}

models::ModelSpec small_spec(const std::string& encoder, const std::string& decoder) {
  models::ModelSpec spec;
  spec.encoder = encoder;
  spec.decoder = decoder;
  spec.in_channels = 3;
  spec.heads = {models::HeadSpec{"classes", 4, false}};
  spec.decoder_channels = {32, 16, 16, 8, 8};
  spec.aspp_channels = 32;
  return spec;
}

// Random BatchNorm statistics, so that folding has something to fold.
void randomise_batchnorm(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(11);
  for (auto& m : module.modules()) {
    if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      bn->running_mean.uniform_(-0.5, 0.5);
      bn->running_var.uniform_(0.5, 2.0);
      bn->weight.uniform_(0.5, 1.5);
      bn->bias.uniform_(-0.3, 0.3);
    }
  }
}

TEST(TiledInference, RealModelOutputHasTheSceneSizeForOddSizes) {
  auto model = models::build_model(small_spec("mobilenet_v2", "unet"));
  model->eval();
  ScenePredictor predictor(model, identity_normalization(), {"classes"}, InferenceOptions{});
  for (auto [h, w] : {std::pair<int64_t, int64_t>{67, 45}, {33, 97}}) {
    const auto out = predictor.predict(random_scene(h, w, 5));
    EXPECT_EQ(out.heads[0].classes.height, h);
    EXPECT_EQ(out.heads[0].classes.width, w);
    EXPECT_EQ(out.heads[0].classes.data.size(), static_cast<size_t>(h * w));
  }
}

TEST(BatchNormFolding, GivesTheSameLogitsOnACopy) {
  for (const auto& [encoder, decoder] : std::vector<std::pair<std::string, std::string>>{
           {"resnet18", "deeplabv3"}, {"mobilenet_v2", "unet"}, {"resnet18", "unet"}}) {
    auto model = models::build_model(small_spec(encoder, decoder));
    randomise_batchnorm(*model);
    model->eval();
    torch::manual_seed(4);
    const auto x = torch::randn({1, 3, 64, 64});
    torch::NoGradGuard no_grad;
    const auto before = model->forward(x);
    auto folded = copy_model(model);
    folded->eval();
    const int count = fold_batchnorm(*folded);
    int batchnorms = 0;
    for (auto& m : model->modules())
      batchnorms += m->as<torch::nn::BatchNorm2d>() != nullptr;
    EXPECT_EQ(count, batchnorms) << encoder << "+" << decoder << ": every BatchNorm follows a conv";
    const auto after = folded->forward(x);
    const double scale = before.abs().max().item<double>();
    EXPECT_LT((after - before).abs().max().item<double>(), 1e-4 * std::max(1.0, scale))
        << encoder << "+" << decoder;
    // The original is untouched.
    EXPECT_TRUE(torch::equal(model->forward(x), before));
  }
}

TEST(BatchNormFolding, AndChannelsLastKeepThePredictorOutput) {
  auto model = models::build_model(small_spec("resnet18", "deeplabv3"));
  randomise_batchnorm(*model);
  model->eval();
  const auto scene = random_scene(96, 80, 9);
  InferenceOptions plain;
  plain.tile = 64;
  plain.overlap = 32;
  InferenceOptions fast = plain;
  fast.fold_batchnorm = true;
  fast.channels_last = true;
  ScenePredictor a(model, identity_normalization(), {"classes"}, plain);
  ScenePredictor b(model, identity_normalization(), {"classes"}, fast);
  EXPECT_GT(b.folded_batchnorms(), 10);
  const auto pa = a.predict(scene, true);
  const auto pb = b.predict(scene, true);
  EXPECT_LE(max_probability_difference(pa, pb), 1);
}

// Training (data::prepare_scene), inference (the tiler's model input) and data::scene_to_input
// read a scene through one normalisation: the model sees the same numbers, invalid and NaN pixels
// included, in one pass and tile by tile.
TEST(Normalisation, TrainingAndInferenceGiveTheModelTheSameInput) {
  io::Scene scene = random_scene(64, 48, 11);
  for (size_t b = 0; b < scene.bands.size(); ++b)
    for (auto& v : scene.bands[b].pixels.data)
      v = v * 4.0f - 20.0f + static_cast<float>(b);  // dB-like values, unlike the statistics
  const data::Normalization normalization{
      {"hh_db", "hv_db", "incidence_deg"}, {-19.5, -18.25, -17.0}, {3.5, 4.25, 0.75}, "test", {}};
  const data::PreparedScene prepared = data::prepare_scene(scene, normalization, {}, -1);
  ASSERT_EQ(prepared.input.size(), static_cast<size_t>(3 * 64 * 48));

  for (const int64_t tile : {int64_t{0}, int64_t{32}}) {
    std::vector<std::pair<torch::Tensor, int64_t>> seen;  // input, tile index
    TiledModel model;
    model.in_channels = 3;
    model.size_multiple = 16;
    model.heads = {models::HeadSpec{"classes", 2, false}};
    model.forward = [&](const torch::Tensor& x) {
      seen.emplace_back(x.clone(), static_cast<int64_t>(seen.size()));
      return std::vector<torch::Tensor>{torch::zeros({x.size(0), 2, x.size(2), x.size(3)})};
    };
    InferenceOptions options;
    options.tile = tile;
    options.overlap = 0;
    predict_tiled(model, scene, normalization, {"SOD"}, options);
    ASSERT_FALSE(seen.empty());
    const auto expected =
        torch::from_blob(const_cast<float*>(prepared.input.data()), {3, 64, 48}, torch::kFloat);
    int64_t compared = 0;
    const int64_t side = tile == 0 ? 64 : tile;
    const int64_t columns = tile == 0 ? 1 : 48 / tile + (48 % tile ? 1 : 0);
    for (const auto& [input, index] : seen) {
      // Tile origins of a 64 x 48 scene in 32-px tiles: rows 0, 32; columns 0, 16 (48 - 32).
      const int64_t y = tile == 0 ? 0 : (index / columns) * 32;
      const int64_t x = tile == 0 ? 0 : (index % columns == 0 ? 0 : 16);
      const int64_t width = tile == 0 ? 48 : tile;
      const auto window = expected.narrow(1, y, side).narrow(2, x, width);
      EXPECT_TRUE(torch::equal(input[0], window)) << "tile " << tile << " index " << index;
      compared += window.numel();
    }
    EXPECT_GE(compared, 3 * 64 * 48);
  }
  const data::SceneInput whole = data::scene_to_input(scene, normalization);
  EXPECT_TRUE(torch::equal(whole.input, torch::from_blob(const_cast<float*>(prepared.input.data()),
                                                         {3, 64, 48}, torch::kFloat)));
  // The invalid pixels and the NaN of random_scene are 0 in every channel.
  EXPECT_EQ(prepared.input[static_cast<size_t>(3 * 48 + 3)], 0.0f);
  EXPECT_EQ(prepared.input[static_cast<size_t>(2 * 64 * 48 + 63 * 48)], 0.0f);
}

TEST(Normalisation, NonPositiveStdIsAUserErrorEverywhere) {
  const io::Scene scene = random_scene(32, 32, 12);
  const data::Normalization broken{
      {"hh_db", "hv_db", "incidence_deg"}, {0, 0, 0}, {1, 0, 1}, "test", {}};
  EXPECT_THROW(data::prepare_scene(scene, broken, {}, -1), UserError);
  TiledModel model;
  model.forward = [](const torch::Tensor& x) {
    return std::vector<torch::Tensor>{torch::zeros({x.size(0), 2, x.size(2), x.size(3)})};
  };
  model.heads = {models::HeadSpec{"classes", 2, false}};
  EXPECT_THROW(predict_tiled(model, scene, broken, {"SOD"}, InferenceOptions{}), UserError);
}

}  // namespace
}  // namespace sarseg::infer
