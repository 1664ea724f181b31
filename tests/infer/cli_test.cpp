// `sarseg eval` and `sarseg predict` end to end on a tiny checkpoint and GeoTIFF scenes written
// here, and their bad-input cases (exit 2, one line saying what and where, nothing written).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "sarseg/build_config.h"
#include "sarseg/checkpoint/checkpoint.h"
#include "sarseg/io/scene_io.h"
#include "sarseg/util/atomic_file.h"
#include "support/geo_support.h"
#include "support/test_support.h"
#include "tiny_checkpoint.h"

#if SARSEG_HAVE_GDAL
#include <gdal_priv.h>
#endif

namespace sarseg {
namespace {

namespace fs = std::filesystem;

using test::tiny_spec;
using test::write_checkpoint;

// A 3-band GeoTIFF scene (or, with `extension` ".nc", an AI4Arctic netCDF one, which stores
// z-scores) with SOD labels in 0..5 (255 on the first row); `bad_label` puts one value beyond the
// classes.
fs::path write_scene(const fs::path& dir, const std::string& name, const std::string& season,
                     int bands = 3, int bad_label = -1, const std::string& extension = ".tif") {
  io::Scene scene;
  scene.id = name;
  scene.height = 70;
  scene.width = 53;
  scene.season = io::parse_season(season);
  const char* names[] = {"hh_db", "hv_db", "incidence_deg"};
  for (int b = 0; b < bands; ++b) {
    io::Band band{names[b], b < 2 ? "dB" : "deg", io::FloatRaster(70, 53)};
    for (int64_t i = 0; i < 70 * 53; ++i)
      band.pixels.data[static_cast<size_t>(i)] =
          (b == 2 ? 30.0f : -20.0f) + static_cast<float>((i * (b + 3)) % 11);
    scene.bands.push_back(band);
  }
  io::LabelRaster sod(70, 53, 0);
  for (int64_t r = 0; r < 70; ++r)
    for (int64_t c = 0; c < 53; ++c)
      sod.at(r, c) = r == 0 ? io::kLabelFill : static_cast<uint8_t>((r / 12 + c / 9) % 6);
  if (bad_label >= 0) sod.at(40, 7) = static_cast<uint8_t>(bad_label);
  scene.labels["SOD"] = sod;
  scene.geo = testing::polar_stereographic_grid(100000.0, -200000.0, 80.0);
  const fs::path path = dir / (name + extension);
  io::write_scene(scene, path);
  return path;
}

std::string q(const fs::path& p) {
  return "'" + p.string() + "'";
}

size_t entries(const fs::path& dir) {
  if (!fs::exists(dir)) return 0;
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

class EvalPredictCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!SARSEG_HAVE_GDAL) GTEST_SKIP() << "built without GDAL";
    checkpoint_ = write_checkpoint(dir_.path(), tiny_spec(), tiny_spec());
    winter_ = write_scene(dir_.path(), "winter_scene", "winter");
    melt_ = write_scene(dir_.path(), "melt_scene", "melt");
  }
  testing::TempDir dir_;
  fs::path checkpoint_, winter_, melt_;
};

TEST_F(EvalPredictCli, EvalWritesJsonAndMarkdownPerSceneSeasonAndPooled) {
  const fs::path out = dir_.path() / "eval";
  const auto r =
      testing::run_sarseg("eval --checkpoint " + q(checkpoint_) + " " + q(winter_) + " " +
                          q(melt_) + " --out " + q(out) + " --tile 32 --overlap 16");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("| pooled | all |"), std::string::npos) << r.output;
  const auto report = nlohmann::json::parse(read_file(out / "eval.json"));
  EXPECT_EQ(report["scenes"].size(), 2u);
  EXPECT_EQ(report["seasons"].size(), 2u);
  EXPECT_EQ(report["seasons"][0]["name"], "winter");
  // Every labelled pixel is counted: 69 rows x 53 columns per scene.
  EXPECT_EQ(report["pooled"]["heads"]["SOD"]["pixels"], 2 * 69 * 53);
  EXPECT_EQ(report["settings"]["tile"], 32);
  EXPECT_TRUE(fs::exists(out / "eval.md"));
}

// The inference options are config keys too: a YAML file's `inference:` section, then --set, then
// the flags (which win).
TEST_F(EvalPredictCli, InferenceKeysComeFromConfigSetAndFlagsInThatOrder) {
  const fs::path yaml = dir_.path() / "inference.yaml";
  write_file_atomically(yaml, "inference:\n  tile: 96\n  overlap: 8\n  blend: linear\n");
  const auto settings_of = [&](const std::string& options) {
    const fs::path out = dir_.path() / "layered";
    const auto r = testing::run_sarseg("eval --checkpoint " + q(checkpoint_) + " " + q(winter_) +
                                       " --out " + q(out) + " " + options);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return nlohmann::json::parse(read_file(out / "eval.json")).at("settings");
  };
  const auto from_file = settings_of("--config " + q(yaml));
  EXPECT_EQ(from_file["tile"], 96);
  EXPECT_EQ(from_file["overlap"], 8);
  EXPECT_EQ(from_file["blend"], "linear");
  const auto overridden = settings_of("--config " + q(yaml) + " --set inference.tile=64");
  EXPECT_EQ(overridden["tile"], 64);
  EXPECT_EQ(overridden["blend"], "linear");
  const auto flag_wins = settings_of("--config " + q(yaml) + " --set inference.tile=64 --tile 32");
  EXPECT_EQ(flag_wins["tile"], 32);
  EXPECT_EQ(flag_wins["overlap"], 8);
  const auto unknown =
      testing::run_sarseg("predict --checkpoint " + q(checkpoint_) + " " + q(winter_) + " --out " +
                          q(dir_.path() / "p") + " --set inference.tiles=64");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.output;
  EXPECT_NE(unknown.output.find("inference.tile"), std::string::npos) << unknown.output;
  EXPECT_FALSE(fs::exists(dir_.path() / "p"));
}

TEST_F(EvalPredictCli, PredictWritesClassMapProbabilitiesAndQuicklook) {
  const fs::path out = dir_.path() / "maps";
  const auto r = testing::run_sarseg("predict --checkpoint " + q(checkpoint_) + " " + q(winter_) +
                                     " --out " + q(out) + " --probabilities --fold-bn");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(out / "winter_scene_classes.tif")) << r.output;
  EXPECT_TRUE(fs::exists(out / "winter_scene_SOD_probabilities.tif"));
  EXPECT_TRUE(fs::exists(out / "winter_scene_quicklook.png"));
}

// An experiment arm's folder: seed1/ and seed2/ runs with different weights.
fs::path write_arm(const fs::path& dir) {
  const fs::path arm = dir / "arm";
  for (int seed : {1, 2}) {
    const fs::path checkpoints = arm / ("seed" + std::to_string(seed)) / "checkpoints";
    fs::create_directories(checkpoints);
    auto spec = tiny_spec();
    spec.seed = static_cast<uint64_t>(seed) + 10;  // the initialisation's seed
    fs::rename(write_checkpoint(dir, spec, spec), checkpoints / "best.pt");
  }
  return arm;
}

TEST_F(EvalPredictCli, PredictWithAnArmFolderAveragesItsRunsAndWritesUncertaintyAndGisProducts) {
  const fs::path out = dir_.path() / "ensemble";
  const auto arm = write_arm(dir_.path());
  const auto r =
      testing::run_sarseg("predict --checkpoint " + q(arm) + " " + q(winter_) + " --out " + q(out) +
                          " --qgis-style --vectors --tile 32 " + "--overlap 8");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("averaging 2 checkpoints"), std::string::npos) << r.output;
  for (const char* name : {"winter_scene_classes.tif", "winter_scene_SOD_uncertainty.tif",
                           "winter_scene_classes.qml", "winter_scene_vectors.gpkg"})
    EXPECT_TRUE(fs::exists(out / name)) << name << "\n" << r.output;
#if SARSEG_HAVE_GDAL
  GDALAllRegister();
  auto* ds = static_cast<GDALDataset*>(
      GDALOpen((out / "winter_scene_SOD_uncertainty.tif").c_str(), GA_ReadOnly));
  ASSERT_NE(ds, nullptr);
  ASSERT_EQ(ds->GetRasterCount(), 2);
  EXPECT_STREQ(ds->GetMetadataItem("ENSEMBLE_MEMBERS"), "2");
  std::vector<float> information(70 * 53);
  ASSERT_EQ(ds->GetRasterBand(2)->RasterIO(GF_Read, 0, 0, 53, 70, information.data(), 53, 70,
                                           GDT_Float32, 0, 0),
            CE_None);
  GDALClose(ds);
  // Two differently initialised members disagree somewhere.
  EXPECT_GT(*std::max_element(information.begin(), information.end()), 0.0f);
#endif
  // The same checkpoints given one by one are the same ensemble.
  const fs::path again = dir_.path() / "ensemble2";
  const auto r2 =
      testing::run_sarseg("predict --checkpoint " + q(arm / "seed1") + " --checkpoint " +
                          q(arm / "seed2" / "checkpoints" / "best.pt") + " " + q(winter_) +
                          " --out " + q(again) + " --tile 32 --overlap 8 --no-quicklook");
  ASSERT_EQ(r2.exit_code, 0) << r2.output;
  EXPECT_EQ(read_file(again / "winter_scene_SOD_uncertainty.tif").size() > 0, true);
}

// A model trained at data.downsample=2 predicts the 70 x 53 scene on its 35 x 27 grid; the score
// counts the native labelled pixels and the class map written has the native size.
TEST_F(EvalPredictCli, DownsampledModelIsScoredAndWrittenOnTheNativeGrid) {
  const fs::path model_dir = dir_.path() / "x2";
  fs::create_directories(model_dir);
  const fs::path x2 = write_checkpoint(model_dir, tiny_spec(), tiny_spec(), {}, 2);
  const fs::path out = dir_.path() / "eval_x2";
  const auto r = testing::run_sarseg("eval --checkpoint " + q(x2) + " " + q(winter_) + " --out " +
                                     q(out) + " --tile 32 --overlap 16");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto report = nlohmann::json::parse(read_file(out / "eval.json"));
  EXPECT_EQ(report["settings"]["downsample"], 2);                  // predicted on the x2 grid
  EXPECT_EQ(report["pooled"]["heads"]["SOD"]["pixels"], 69 * 53);  // scored on the native one
  const fs::path maps = dir_.path() / "maps_x2";
  const auto p = testing::run_sarseg("predict --checkpoint " + q(x2) + " " + q(winter_) +
                                     " --out " + q(maps) + " --probabilities --no-quicklook");
  ASSERT_EQ(p.exit_code, 0) << p.output;
#if SARSEG_HAVE_GDAL
  GDALAllRegister();
  for (const char* name : {"winter_scene_classes.tif", "winter_scene_SOD_probabilities.tif"}) {
    auto* ds = static_cast<GDALDataset*>(GDALOpen((maps / name).c_str(), GA_ReadOnly));
    ASSERT_NE(ds, nullptr) << name;
    EXPECT_EQ(ds->GetRasterXSize(), 53) << name;
    EXPECT_EQ(ds->GetRasterYSize(), 70) << name;
    GDALClose(ds);
  }
#endif
}

TEST_F(EvalPredictCli, MonteCarloDropoutOnAModelWithoutDropoutExits2) {
  const auto r = testing::run_sarseg("predict --checkpoint " + q(checkpoint_) + " " + q(winter_) +
                                     " --out " + q(dir_.path() / "mc") + " --mc-dropout 8");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("no dropout layer"), std::string::npos) << r.output;
  EXPECT_EQ(entries(dir_.path() / "mc"), 0u) << "nothing written";
}

TEST_F(EvalPredictCli, EvalReportsCalibrationPerHead) {
  const fs::path out = dir_.path() / "calibration";
  const auto r = testing::run_sarseg("eval --checkpoint " + q(checkpoint_) + " " + q(winter_) +
                                     " --out " + q(out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("ECE"), std::string::npos) << r.output;
  const auto report = nlohmann::json::parse(read_file(out / "eval.json"));
  const auto& calibration = report["pooled"]["heads"]["SOD"]["calibration"];
  EXPECT_EQ(calibration["pixels"], 69 * 53);
  EXPECT_GE(calibration["ece"].get<double>(), 0.0);
  EXPECT_LE(calibration["ece"].get<double>(), 1.0);
  EXPECT_EQ(calibration["reliability"].size(), 15u);
}

TEST_F(EvalPredictCli, SceneWithoutTheCheckpointsBandsExits2NamingBandAndFile) {
  const auto two_bands = write_scene(dir_.path(), "two_bands", "winter", 2);
  const auto r = testing::run_sarseg("eval --checkpoint " + q(checkpoint_) + " " + q(two_bands));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("incidence_deg"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("two_bands"), std::string::npos) << r.output;
  const auto p = testing::run_sarseg("predict --checkpoint " + q(checkpoint_) + " " + q(two_bands) +
                                     " --out " + q(dir_.path() / "p"));
  EXPECT_EQ(p.exit_code, 2) << p.output;
  EXPECT_EQ(entries(dir_.path() / "p"), 0u) << "nothing written";
}

TEST_F(EvalPredictCli, LabelBeyondTheClassesExits2WithRowAndColumn) {
  const auto bad = write_scene(dir_.path(), "bad_labels", "melt", 3, 9);
  const fs::path out = dir_.path() / "bad_eval";
  const auto r = testing::run_sarseg("eval --checkpoint " + q(checkpoint_) + " " + q(winter_) +
                                     " " + q(bad) + " --out " + q(out));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("value 9 at row 40, column 7"), std::string::npos) << r.output;
  EXPECT_EQ(entries(out), 0u) << "no half-written report";
}

TEST_F(EvalPredictCli, EmptySceneListExits2) {
  const fs::path list = dir_.path() / "empty.txt";
  { std::ofstream(list) << "# nothing here\n"; }
  const auto r = testing::run_sarseg("eval --checkpoint " + q(checkpoint_) + " " + q(list));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("names no scene"), std::string::npos) << r.output;
  EXPECT_EQ(testing::run_sarseg("eval --checkpoint " + q(checkpoint_)).exit_code, 2);
}

TEST_F(EvalPredictCli, CheckpointOfAnotherArchitectureExits2) {
  testing::TempDir other;
  // Metadata says mobilenet_v2, the tensors are resnet18's.
  const auto mixed =
      write_checkpoint(other.path(), tiny_spec("mobilenet_v2"), tiny_spec("resnet18"));
  const auto r = testing::run_sarseg("eval --checkpoint " + q(mixed) + " " + q(winter_));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("sarseg: error:"), std::string::npos) << r.output;
  // Not a checkpoint at all.
  const auto r2 = testing::run_sarseg("eval --checkpoint " + q(winter_) + " " + q(winter_));
  EXPECT_EQ(r2.exit_code, 2) << r2.output;
}

TEST_F(EvalPredictCli, UnwritableOutputFolderExits2BeforeAnyWork) {
  const fs::path blocker = dir_.path() / "blocker";
  { std::ofstream(blocker) << "x"; }
  const auto r = testing::run_sarseg("predict --checkpoint " + q(checkpoint_) + " " + q(winter_) +
                                     " --out " + q(blocker / "out"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  const auto e = testing::run_sarseg("eval --checkpoint " + q(checkpoint_) + " " + q(winter_) +
                                     " --out " + q(blocker / "out"));
  EXPECT_EQ(e.exit_code, 2) << e.output;
}

TEST_F(EvalPredictCli, BadInferenceOptionExits2NamingIt) {
  const auto r = testing::run_sarseg("eval --checkpoint " + q(checkpoint_) + " " + q(winter_) +
                                     " --tile 64 --overlap 40");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--overlap"), std::string::npos) << r.output;
}

// A model trained on dB / degrees (synthetic scenes, or netCDF read in physical units, the training
// default) must see dB / degrees when it predicts a netCDF scene, whose file stores z-scores: the
// checkpoint's recorded units decide how the scene is read. Before, predict read the z-scores and
// normalised them with dB statistics, silently.
TEST_F(EvalPredictCli, NetcdfSceneIsReadInTheUnitsTheModelWasTrainedOn) {
  if (!SARSEG_HAVE_NETCDF) GTEST_SKIP() << "built without netCDF";
  const auto scene = write_scene(dir_.path(), "20190115T120000_nc", "winter", 3, -1, ".nc");
  fs::create_directories(dir_.path() / "physical");
  fs::create_directories(dir_.path() / "zscore");
  const auto physical =
      write_checkpoint(dir_.path() / "physical", tiny_spec(), tiny_spec(), {"dB", "dB", "deg"});
  const auto r = testing::run_sarseg("predict --checkpoint " + q(physical) + " " + q(scene) +
                                     " --out " + q(dir_.path() / "out_physical"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  const auto zscore = write_checkpoint(dir_.path() / "zscore", tiny_spec(), tiny_spec(),
                                       {"zscore", "zscore", "zscore"});
  const auto z = testing::run_sarseg("eval --checkpoint " + q(zscore) + " " + q(scene));
  EXPECT_EQ(z.exit_code, 0) << z.output;
}

}  // namespace
}  // namespace sarseg
