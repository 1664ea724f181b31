// `sarseg experiment` end to end through the binary (slow: real training, a few runs each).
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>

#include "sarseg/io/scene_io.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/strings.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace sarseg::experiment {
namespace {

using sarseg::testing::run_sarseg;

const std::string kTiny =
    " --set synth.size=64 --set synth.train_per_season=1 --set synth.val_per_season=1"
    " --set synth.test_per_season=1 --set data.patch_size=32 --set data.patches_per_scene=4"
    " --set data.val_patches_per_scene=2 --set data.min_valid_fraction=0.2"
    " --set 'model.decoder_channels=[16, 8, 8, 8, 8]' --set train.batch_size=4"
    " --set train.min_epochs=3 --set train.max_epochs=3 --set inference.tile=64"
    " --set inference.overlap=0 --set experiment.quicklook_size=32 --set output.progress=off";

TEST(ExperimentCli, BadInputExitsWithTwo) {
  sarseg::testing::TempDir dir;
  const auto unknown_profile =
      run_sarseg("experiment --profile nope --out " + (dir / "a").string());
  EXPECT_EQ(unknown_profile.exit_code, 2) << unknown_profile.output;
  EXPECT_NE(unknown_profile.output.find("quick"), std::string::npos) << unknown_profile.output;
  const auto unknown_arm = run_sarseg("experiment --set 'experiment.arms=[imagenet, nope]' --out " +
                                      (dir / "b").string());
  EXPECT_EQ(unknown_arm.exit_code, 2) << unknown_arm.output;
  // No ImageNet ResNet34 file in the weights folder, downloads off.
  setenv("SARSEG_OFFLINE", "1", 1);
  const auto no_weights = run_sarseg("experiment" + kTiny + " --set model.encoder=resnet34 --out " +
                                     (dir / "c").string());
  EXPECT_EQ(no_weights.exit_code, 2) << no_weights.output;
  EXPECT_NE(no_weights.output.find("imagenet"), std::string::npos) << no_weights.output;
  EXPECT_FALSE(fs::exists(dir / "c"));
  const auto list = run_sarseg("experiment --list-profiles");
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_NE(list.output.find("autoice"), std::string::npos);
}

// A labelled fraction outside (0, 1] stops the experiment before anything is written.
TEST(ExperimentCli, LabelFractionOutsideTheUnitIntervalExitsWithTwo) {
  sarseg::testing::TempDir dir;
  for (const std::string fractions : {"[0.1, 1.5]", "[0]", "[-0.5, 1.0]"}) {
    const auto refused =
        run_sarseg("experiment" + kTiny + " --set 'experiment.label_fractions=" + fractions +
                   "' --out " + (dir / "x").string());
    EXPECT_EQ(refused.exit_code, 2) << fractions << ": " << refused.output;
    EXPECT_NE(refused.output.find("is not a share in (0, 1]"), std::string::npos) << refused.output;
    EXPECT_NE(refused.output.find("e.g. [0.1, 0.25, 0.5, 1.0]"), std::string::npos);
    EXPECT_FALSE(fs::exists(dir / "x")) << fractions;
  }
}

// An experiment killed (SIGKILL) inside a run keeps its finished runs and resumes the killed one.
TEST(ExperimentCli, InterruptedExperimentResumes) {
  sarseg::testing::TempDir dir;
  const std::string out = (dir / "exp").string();
  // 1. seed 1 completes.
  const auto first =
      run_sarseg("experiment" + kTiny + " --set 'experiment.seeds=[1]' --out " + out);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const auto kept_time = fs::last_write_time(dir / "exp" / "imagenet" / "seed1" / "result.json");
  // 2. seeds 1 and 2.
  const auto second =
      run_sarseg("experiment" + kTiny + " --set 'experiment.seeds=[1, 2]' --out " + out);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("2 trained, 0 resumed, 2 kept"), std::string::npos) << second.output;
  // 3. seeds 1 to 3; the first new run (imagenet, seed 3) is killed in its second epoch.
  const std::string env = "env SARSEG_TRAIN_FAULT=sigkill@2:1 ";
  const std::string binary = sarseg::testing::sarseg_binary();
  const int status =
      std::system((env + "'" + binary + "' experiment" + kTiny +
                   " --set 'experiment.seeds=[1, 2, 3]' --out " + out + " > /dev/null 2>&1")
                      .c_str());
  EXPECT_NE(status, 0);
  EXPECT_TRUE(fs::exists(dir / "exp" / "imagenet" / "seed3" / "checkpoints" / "last.pt"));
  EXPECT_FALSE(fs::exists(dir / "exp" / "imagenet" / "seed3" / "result.json"));
  // 4. the restart keeps seeds 1-2, resumes imagenet seed 3 and trains random seed 3.
  const auto resumed =
      run_sarseg("experiment" + kTiny + " --set 'experiment.seeds=[1, 2, 3]' --out " + out);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("1 trained, 1 resumed, 4 kept"), std::string::npos)
      << resumed.output;
  EXPECT_EQ(fs::last_write_time(dir / "exp" / "imagenet" / "seed1" / "result.json"), kept_time);
  const auto events = read_file(dir / "exp" / "imagenet" / "seed3" / "events.jsonl");
  EXPECT_NE(events.find("resume"), std::string::npos);
  const auto summary = nlohmann::json::parse(read_file(dir / "exp" / "summary.json"));
  EXPECT_EQ(summary.at("runs").size(), 6u);
  for (const auto& run : summary.at("runs"))
    EXPECT_EQ(run.at("curve").size(), 3u);
}

// Tiny GeoTIFF stacks in dir/{train,val,test} (two training, one validation and one test scene
// per season) and list files dir/{split}.txt; returns the --set options naming the lists.
std::string make_tiny_geotiff_splits(const fs::path& dir, int size) {
  for (const std::string season : {"freeze-up", "melt"}) {
    for (const std::string split : {"train", "val", "test"}) {
      const int count = split == "train" ? 2 : 1;
      const auto made = run_sarseg("synth --format tif --quiet --size " + std::to_string(size) +
                                   "x" + std::to_string(size) + " --season " + season +
                                   " --count " + std::to_string(count) + " --seed " +
                                   std::to_string(split.size() * 7 + season.size()) + " --out " +
                                   (dir / split).string() + " --prefix " + season + "_");
      EXPECT_EQ(made.exit_code, 0) << made.output;
    }
  }
  std::string lists;
  for (const std::string split : {"train", "val", "test"}) {
    std::string list;
    for (const auto& entry : fs::directory_iterator(dir / split))
      if (entry.path().extension() == ".tif" &&
          entry.path().filename().string().find("_labels") == std::string::npos) {
        list += entry.path().string() + "\n";  // the label rasters are found beside each stack
      }
    write_file_atomically(dir / (split + ".txt"), list);
    lists += " --set data." + split + "=" + (dir / (split + ".txt")).string();
  }
  return lists;
}

// The largest SOD value (other than 255) in any scene of the lists.
int largest_sod_value(const fs::path& dir) {
  int largest = -1;
  for (const std::string list : {"train", "val", "test"})
    for (const auto& line : split(read_file(dir / (list + ".txt")), '\n')) {
      if (line.empty()) continue;
      const io::Scene scene = io::read_scene(line);
      for (uint8_t v : scene.labels.at("SOD").data)
        if (v != 255) largest = std::max(largest, static_cast<int>(v));
    }
  return largest;
}

// A model trained with an ignore label is scored the same by the experiment and by `sarseg eval`
// (the checkpoint records the ignore label; before, eval refused the ignored value).
TEST(ExperimentCli, ExperimentAndEvalGiveTheSameConfusionWithAnIgnoreLabel) {
  sarseg::testing::TempDir dir;
  const std::string lists = make_tiny_geotiff_splits(dir.path(), 64);
  // The largest class present becomes the ignored value: beyond the task's classes, so an
  // evaluation that does not know it refuses the scenes.
  const int ignored = largest_sod_value(dir.path());
  ASSERT_GE(ignored, 2) << "the tiny scenes need at least three SOD classes";
  const auto experiment =
      run_sarseg("experiment --profile quick" + lists + kTiny + " --set data.source=files" +
                 " --set 'data.tasks=[SOD:" + std::to_string(ignored) +
                 "]' --set data.ignore_label=" + std::to_string(ignored) +
                 " --set 'experiment.arms=[random, frozen:random:all]'" +
                 " --set experiment.reference_arm=random --set experiment.baseline_arm=frozen" +
                 " --set 'experiment.seeds=[1]' --set 'experiment.evaluate=[last]' --out " +
                 (dir / "exp").string());
  ASSERT_EQ(experiment.exit_code, 0) << experiment.output;
  const auto eval = run_sarseg(
      "eval --checkpoint " +
      (dir / "exp" / "random" / "seed1" / "checkpoints" / "last.pt").string() + " " +
      (dir / "test.txt").string() + " --tile 64 --overlap 0 --out " + (dir / "eval").string());
  ASSERT_EQ(eval.exit_code, 0) << eval.output;

  const auto summary = nlohmann::json::parse(read_file(dir / "exp" / "summary.json"));
  nlohmann::json experiment_confusion;
  for (const auto& run : summary.at("runs"))
    if (run.at("arm") == "random")
      for (const auto& evaluation : run.at("evaluations"))
        if (evaluation.at("weights") == "last")
          for (const auto& season : evaluation.at("seasons"))
            if (season.at("season") == "all") experiment_confusion = season.at("confusion");
  const auto report = nlohmann::json::parse(read_file(dir / "eval" / "eval.json"));
  const auto eval_confusion = report.at("pooled").at("heads").at("SOD").at("confusion");
  ASSERT_FALSE(experiment_confusion.is_null()) << summary.dump(1).substr(0, 2000);
  EXPECT_EQ(eval_confusion, experiment_confusion);
  EXPECT_EQ(eval_confusion.size(), static_cast<size_t>(ignored)) << "classes 0.." << ignored - 1;
  int64_t counted = 0;
  for (const auto& row : eval_confusion)
    for (const auto& count : row)
      counted += count.get<int64_t>();
  EXPECT_GT(counted, 0);
}

TEST(ExperimentCli, PaperProfileOnTinyGeoTiffs) {
  sarseg::testing::TempDir dir;
  const std::string lists = make_tiny_geotiff_splits(dir.path(), 96);
  // The paper's protocol, shrunk: ResNet18 + DeepLabV3, but 32-px crops and 2 epochs. There are
  // no ImageNet ResNet18 weights offline, so the reference arm is a frozen random encoder (the
  // plumbing of files, seasons, arms and report is what this checks).
  const auto result = run_sarseg(
      "experiment --profile paper" + lists +
      " --set data.patch_size=32 --set data.patches_per_scene=4 --set data.val_patches_per_scene=2"
      " --set data.min_valid_fraction=0.2 --set train.batch_size=4 --set train.min_epochs=1"
      " --set train.max_epochs=2 --set 'experiment.seeds=[1, 2]' --set output.progress=off"
      " --set 'experiment.arms=[frozen:random:all, random]' --set experiment.reference_arm=frozen"
      " --set model.aspp_channels=16 --set experiment.quicklook_size=48 --out " +
      (dir / "paper").string());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto summary = nlohmann::json::parse(read_file(dir / "paper" / "summary.json"));
  EXPECT_EQ(summary.at("runs").size(), 4u);
  EXPECT_EQ(summary.at("analysis").at("seasons"), nlohmann::json({"freeze-up", "melt", "all"}));
  EXPECT_NE(summary.at("model").get<std::string>().find("resnet18"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir / "paper" / "report.html"));
  // Calibration per run (first head, all test scenes) and the calibration question per arm.
  for (const auto& run : summary.at("runs"))
    for (const auto& evaluation : run.at("evaluations"))
      for (const auto& season : evaluation.at("seasons"))
        EXPECT_GT(season.at("calibration").at("pixels").get<int64_t>(), 0) << season.dump();
  bool asked = false;
  for (const auto& verdict : summary.at("analysis").at("verdicts"))
    asked = asked || verdict.at("question") == "Is frozen better calibrated than random?";
  EXPECT_TRUE(asked);
  const std::string report = read_file(dir / "paper" / "report.md");
  EXPECT_NE(report.find("## Calibration and uncertainty"), std::string::npos);
}

// The summary without what depends on the clock or the machine: time fields, the creation time,
// the machine line, and the analysis figures of times.
nlohmann::json deterministic(const nlohmann::json& j) {
  if (j.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : j)
      if (!(item.is_object() && item.contains("key") && item.at("key").is_string() &&
            item.at("key").get<std::string>().find("seconds") != std::string::npos))
        out.push_back(deterministic(item));
    return out;
  }
  if (!j.is_object()) return j;
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, value] : j.items())
    if (key.find("seconds") == std::string::npos && key != "created_utc" && key != "machine")
      out[key] = deterministic(value);
  return out;
}

// The runs spread over workers: --plan's commands one by one, then --assemble, and --jobs 2,
// give the one-process experiment's summary.json; a claimed run is neither trained twice nor
// assembled without its result.
TEST(ExperimentCli, PlanOnlyAssembleAndJobsGiveTheOneProcessSummary) {
  sarseg::testing::TempDir dir;
  const std::string study = "experiment" + kTiny +
                            " --set train.min_epochs=1 --set train.max_epochs=1"
                            " --set 'experiment.seeds=[1]'";
  // One thread everywhere: --jobs 2 gives each worker half of this machine's 2 cores, and results
  // are reproducible for a given thread count.
  const auto one = run_sarseg("--threads 1 " + study + " --out " + (dir / "one").string());
  ASSERT_EQ(one.exit_code, 0) << one.output;

  const auto plan = run_sarseg(study + " --plan --out " + (dir / "planned").string());
  ASSERT_EQ(plan.exit_code, 0) << plan.output;
  std::vector<std::string> commands;
  for (const auto& line : split(plan.output, '\n'))
    if (!line.empty()) commands.push_back(line);
  ASSERT_EQ(commands.size(), 2u) << plan.output;  // imagenet:1, random:1
  EXPECT_NE(commands[0].find("--only imagenet:1"), std::string::npos) << commands[0];
  EXPECT_NE(commands[1].find("--only random:1"), std::string::npos) << commands[1];
  // Before any run: assembling names the missing ones.
  const auto early = run_sarseg(study + " --assemble --out " + (dir / "planned").string());
  EXPECT_EQ(early.exit_code, 2) << early.output;
  EXPECT_NE(early.output.find("imagenet:1, random:1"), std::string::npos) << early.output;
  for (const auto& command : commands)
    ASSERT_EQ(std::system((command + " --threads 1 > /dev/null 2>&1").c_str()), 0) << command;
  EXPECT_FALSE(fs::exists(dir / "planned" / "summary.json"));  // workers write no report
  const auto assembled = run_sarseg(study + " --assemble --out " + (dir / "planned").string());
  ASSERT_EQ(assembled.exit_code, 0) << assembled.output;

  const auto jobs = run_sarseg(study + " --jobs 2 --out " + (dir / "jobs").string());
  ASSERT_EQ(jobs.exit_code, 0) << jobs.output;

  const auto expected =
      deterministic(nlohmann::json::parse(read_file(dir / "one" / "summary.json")));
  EXPECT_EQ(expected.at("runs").size(), 2u);
  for (const std::string other : {"planned", "jobs"}) {
    const auto actual =
        deterministic(nlohmann::json::parse(read_file(dir / other / "summary.json")));
    for (const auto& [key, value] : expected.items())
      EXPECT_TRUE(actual.contains(key) && actual.at(key) == value) << other << ": " << key;
    EXPECT_EQ(actual.size(), expected.size()) << other;
    EXPECT_FALSE(fs::exists(dir / other / "imagenet" / "seed1" / "claim"));
  }

  // A run claimed by a live worker (this test's process, on this host): --only refuses it,
  // --worker leaves it, --assemble waits for it.
  const fs::path claimed = dir / "claimed";
  fs::copy(dir / "planned", claimed, fs::copy_options::recursive);
  fs::remove(claimed / "imagenet" / "seed1" / "result.json");
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  write_file_atomically(claimed / "imagenet" / "seed1" / "claim",
                        std::string(host) + " " + std::to_string(getpid()) + "\n");
  const auto only = run_sarseg(study + " --only imagenet:1 --out " + claimed.string());
  EXPECT_EQ(only.exit_code, 2) << only.output;
  EXPECT_NE(only.output.find("being trained by another worker"), std::string::npos) << only.output;
  const auto worker = run_sarseg(study + " --worker --out " + claimed.string());
  EXPECT_EQ(worker.exit_code, 0) << worker.output;
  EXPECT_NE(worker.output.find("0 trained, 0 resumed, 1 kept, 1 left to others"), std::string::npos)
      << worker.output;
  const auto waiting = run_sarseg(study + " --assemble --out " + claimed.string());
  EXPECT_EQ(waiting.exit_code, 2) << waiting.output;
  EXPECT_NE(waiting.output.find("(imagenet:1)"), std::string::npos) << waiting.output;
  const auto unknown = run_sarseg(study + " --only imagenet:9 --out " + claimed.string());
  EXPECT_EQ(unknown.exit_code, 2) << unknown.output;
  EXPECT_NE(unknown.output.find("imagenet:1, random:1"), std::string::npos) << unknown.output;
}

// The autoice profile end to end on tiny AI4Arctic-format scenes written by `sarseg synth` (the
// full schema: AMSR2 and ERA5 grids, distance map, three charts): MMSeaIce's 17 inputs and three
// heads, x2 downsampling, CutMix, both arms, AutoICE scores scored on the native grid.
TEST(ExperimentCli, TheAutoiceProfileRunsEndToEndOnTinyScenes) {
  sarseg::testing::TempDir dir;
  const auto made =
      run_sarseg("synth --season melt --size 96x96 --count 4 --seed 31 --quiet --out " +
                 (dir / "scenes").string());
  ASSERT_EQ(made.exit_code, 0) << made.output;
  std::vector<fs::path> scenes;
  for (const auto& item : fs::directory_iterator(dir / "scenes"))
    if (item.path().extension() == ".nc") scenes.push_back(item.path());
  std::sort(scenes.begin(), scenes.end());
  ASSERT_EQ(scenes.size(), 4u);
  const std::string out = (dir / "exp").string();
  const auto run = run_sarseg(
      "--threads 1 experiment --profile autoice --out " + out + " --set data.train=[" +
      scenes[0].string() + "," + scenes[1].string() + "] --set data.val=[" + scenes[2].string() +
      "] --set data.test=[" + scenes[3].string() +
      "] --set data.downsample=2 --set data.patch_size=32 --set data.patches_per_epoch=8"
      " --set data.val_patches_per_scene=2 --set data.loader_threads=1 --set train.batch_size=4"
      " --set train.min_epochs=2 --set train.max_epochs=2 --set schedule.cosine_t0=2"
      " --set 'experiment.seeds=[1]' --set inference.tile=64 --set inference.overlap=0"
      " --set experiment.quicklook_size=32 --set output.progress=off");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto summary = nlohmann::json::parse(read_file(dir / "exp" / "summary.json"));
  EXPECT_EQ(summary["headline_metric"], "autoice_combined");
  // The configuration is recorded as the YAML values of every key.
  const std::string bands = summary["config"]["data.bands"];
  EXPECT_EQ(std::count(bands.begin(), bands.end(), ','), 16) << bands;
  EXPECT_NE(bands.find("btemp_36_5v"), std::string::npos) << bands;
  EXPECT_EQ(summary["config"]["data.cutmix_probability"], "0.5");
  EXPECT_EQ(summary["config"]["data.downsample"], "2");
  ASSERT_EQ(summary["runs"].size(), 2u);
  for (const auto& result : summary["runs"]) {
    const auto& seasons = result["evaluations"][0]["seasons"];
    bool melt = false;
    for (const auto& season : seasons) {
      if (season["season"] != "melt") continue;
      melt = true;
      EXPECT_TRUE(season["scores"].contains("autoice_combined")) << season.dump();
      // Scored on the native 96 x 96 grid, not on the 48 x 48 grid the model ran on.
      EXPECT_GT(season["pixels"].get<int64_t>(), 48 * 48) << result["arm"];
      EXPECT_LE(season["pixels"].get<int64_t>(), 96 * 96) << result["arm"];
    }
    EXPECT_TRUE(melt) << result["arm"];
  }
}

}  // namespace
}  // namespace sarseg::experiment
