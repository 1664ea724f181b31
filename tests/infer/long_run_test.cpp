// Long runs in one process: predicting 200 small scenes (read, predict, write the outputs) and
// evaluating 200 scenes show no memory growth: the resident set after scene 200 is within 5 % of
// the one after scene 10.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "sarseg/infer/evaluate.h"
#include "sarseg/io/prediction_output.h"
#include "sarseg/io/scene_io.h"
#include "support/test_support.h"
#include "tiny_checkpoint.h"

namespace fs = std::filesystem;
using namespace sarseg;

namespace {

constexpr int kScenes = 200, kWarmScenes = 10;

double resident_mib() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) / 1048576.0;
}

// A 64x64 3-band scene with SOD labels, written once and copied `count` times.
std::vector<fs::path> write_scenes(const fs::path& dir, int count) {
  const io::Scene scene = sarseg::test::tiny_sod_scene("long_run");
  const fs::path first = dir / "scene_0.tif";
  io::write_scene(scene, first);
  std::vector<fs::path> files = {first};
  for (int k = 1; k < count; ++k) {
    files.push_back(dir / ("scene_" + std::to_string(k) + ".tif"));
    fs::copy_file(first, files.back());
    for (const char* suffix : {"_labels.tif"}) {
      const fs::path labels = dir / (std::string("scene_0") + suffix);
      if (fs::exists(labels)) fs::copy_file(labels, dir / ("scene_" + std::to_string(k) + suffix));
    }
  }
  return files;
}

infer::ScenePredictor tiny_predictor() {
  data::Normalization n{{"hh_db", "hv_db", "incidence_deg"}, {-15, -25, 35}, {5, 5, 8}, "test", {}};
  return infer::ScenePredictor(models::build_model(test::tiny_spec()), n, {"SOD"});
}

void expect_flat(double after_warm, double after_all, const char* what) {
  std::printf("%s: RSS %.1f MiB after %d scenes, %.1f MiB after %d (%+.2f %%)\n", what, after_warm,
              kWarmScenes, after_all, kScenes, 100.0 * (after_all / after_warm - 1.0));
  EXPECT_LE(after_all, after_warm * 1.05) << what;
}

}  // namespace

TEST(LongRun, Predicting200ScenesKeepsMemoryFlat) {
  sarseg::testing::TempDir dir;
  const auto files = write_scenes(dir.path(), kScenes);
  const auto predictor = tiny_predictor();
  io::PredictOutputOptions outputs;
  double after_warm = 0;
  for (int k = 0; k < kScenes; ++k) {
    const io::Scene scene = io::read_scene(files[static_cast<size_t>(k)]);
    const auto prediction = predictor.predict(scene);
    io::write_prediction(scene, prediction.heads, dir / "out", outputs);
    if (k + 1 == kWarmScenes) after_warm = resident_mib();
  }
  expect_flat(after_warm, resident_mib(), "predict");
}

TEST(LongRun, Evaluating200ScenesKeepsMemoryFlat) {
  sarseg::testing::TempDir dir;
  const auto files = write_scenes(dir.path(), kScenes);
  const auto predictor = tiny_predictor();
  const eval::ScoringSpec scoring{{eval::HeadScoring{"SOD", 6}}, -1};
  int done = 0;
  double after_warm = 0;
  const auto report =
      infer::evaluate_scene_files(predictor, scoring, files, {}, [&](const eval::EvaluationGroup&) {
        if (++done == kWarmScenes) after_warm = resident_mib();
      });
  EXPECT_EQ(done, kScenes);
  expect_flat(after_warm, resident_mib(), "evaluate");
}
