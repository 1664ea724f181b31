// Opens report.html in headless Chromium: the page must load without script errors, every
// embedded image must decode (the page's own check sets the title), no console error may be
// logged, and a screenshot is taken (kept as report_screenshot.png in the working directory).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>

#include "experiment/fake_summary.h"
#include "sarseg/experiment/report.h"
#include "sarseg/util/atomic_file.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace sarseg::experiment {
namespace {

const char* kChromium = "/usr/bin/chromium";

std::string run_capture(const std::string& command) {
  std::string output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0)
    output.append(buffer, n);
  pclose(pipe);
  return output;
}

std::string chromium_command(const fs::path& profile_dir, const std::string& mode,
                             const fs::path& page) {
  // Flags: no sandbox (tests run as root), nothing that talks to the network or needs a GPU.
  return std::string("timeout 60 ") + kChromium +
         " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
         " --disable-background-networking --disable-component-update --disable-sync"
         " --hide-scrollbars --enable-logging=stderr --v=0 --user-data-dir='" +
         profile_dir.string() + "' " + mode + " 'file://" + page.string() + "'";
}

// The page's DOM after it ran; fails the test unless its own check set the title to "ok: ..."
// and no console message was logged (the page logs nothing itself, so any such line is an error
// or a warning from the browser).
std::string rendered_dom(const fs::path& profile_dir, const fs::path& page) {
  const std::string dom = run_capture(chromium_command(profile_dir, "--dump-dom", page));
  std::smatch title;
  if (!std::regex_search(dom, title, std::regex("<head>[\\s\\S]*?<title>([^<]*)</title>"))) {
    ADD_FAILURE() << "no title in the rendered page: " << dom.substr(0, 2000);
    return dom;
  }
  EXPECT_EQ(title[1].str().rfind("ok: ", 0), 0u) << "page reported: " << title[1].str();
  EXPECT_FALSE(std::regex_search(dom, std::regex("CONSOLE[:(]"))) << dom.substr(0, 2000);
  return dom;
}

// A screenshot of the page `height` pixels tall, kept in the working directory as `kept_name`
// for a person to look at; returns its path in `dir` ("" when the browser wrote none).
fs::path kept_screenshot(const fs::path& dir, const fs::path& page, int height,
                         const std::string& kept_name) {
  const fs::path screenshot = dir / kept_name;
  run_capture(chromium_command(dir / "screenshot-profile",
                               "--window-size=1200," + std::to_string(height) + " --screenshot='" +
                                   screenshot.string() + "'",
                               page));
  if (!fs::exists(screenshot)) return {};
  std::error_code ignored;
  fs::copy_file(screenshot, kept_name, fs::copy_options::overwrite_existing, ignored);
  return screenshot;
}

TEST(ReportBrowser, RendersWithoutErrorsAndTakesAScreenshot) {
  if (!fs::exists(kChromium)) GTEST_SKIP() << "chromium is not installed";
  sarseg::testing::TempDir dir;
  ExperimentSummary summary = testing::fake_summary(3, 0.04, 0.01);
  testing::write_tiny_png(dir / "truth.png");
  testing::write_tiny_png(dir / "imagenet.png");
  testing::write_tiny_png(dir / "random.png");
  summary.quicklooks.push_back({"scene_a",
                                "melt",
                                "truth.png",
                                "truth.png",
                                {{"imagenet", "imagenet.png"}, {"random", "random.png"}},
                                "seed 1, last-epoch weights"});
  const ReportFiles files = write_report(summary, dir.path());

  // Console messages from the page are logged as "INFO:CONSOLE:<line>] ..." lines.
  const std::string dom = rendered_dom(dir / "profile1", files.html);
  EXPECT_EQ(dom.find("Uncaught"), std::string::npos);

  const fs::path screenshot = dir / "report_screenshot.png";
  const std::string shot = run_capture(chromium_command(
      dir / "profile2", "--window-size=1200,2000 --screenshot='" + screenshot.string() + "'",
      files.html));
  ASSERT_TRUE(fs::exists(screenshot)) << shot.substr(0, 2000);
  EXPECT_GT(fs::file_size(screenshot), 20000u);  // a blank page compresses to a few kB
  EXPECT_EQ(read_file(screenshot).substr(1, 3), "PNG");
}

TEST(ReportBrowser, CalibrationSectionRendersWithItsReliabilityDiagrams) {
  if (!fs::exists(kChromium)) GTEST_SKIP() << "chromium is not installed";
  sarseg::testing::TempDir dir;
  ExperimentSummary summary = testing::fake_summary(3, 0.04, 0.01);
  testing::add_fake_calibration(summary);
  const ReportFiles files = write_report(summary, dir.path());
  const std::string dom = rendered_dom(dir / "profile1", files.html);
  // The rendered DOM has the section, two reliability diagrams and the per-arm table.
  const auto section = dom.find("id=\"calibration\"");
  ASSERT_NE(section, std::string::npos) << dom.substr(0, 2000);
  EXPECT_NE(dom.find("reliability · last-epoch weights", section), std::string::npos);
  EXPECT_NE(dom.find("reliability · best checkpoint", section), std::string::npos);
  EXPECT_NE(dom.find("id=\"calibration-pooled\"", section), std::string::npos);
  EXPECT_NE(dom.find("Is imagenet better calibrated than random?"), std::string::npos);

  const fs::path screenshot =
      kept_screenshot(dir.path(), files.html, 6000, "report_calibration_screenshot.png");
  ASSERT_FALSE(screenshot.empty());
  EXPECT_GT(fs::file_size(screenshot), 20000u);
}

// The label-efficiency and other-domain sections, with censored runs, render with their charts.
TEST(ReportBrowser, LabelEfficiencyAndDomainSectionsRender) {
  if (!fs::exists(kChromium)) GTEST_SKIP() << "chromium is not installed";
  sarseg::testing::TempDir dir;
  ExperimentSummary summary = testing::fake_summary(3, 0.04, 0.01);
  summary.runs[1].stop_reason = "max_epochs reached";
  summary.runs[1].censored = true;
  testing::add_fake_label_fractions(summary, {0.1, 0.25, 0.5});
  testing::add_fake_domain(summary, 0.03);
  const ReportFiles files = write_report(summary, dir.path());
  const std::string dom = rendered_dom(dir / "profile", files.html);
  const auto labels = dom.find("id=\"label-efficiency\"");
  ASSERT_NE(labels, std::string::npos);
  EXPECT_NE(dom.find("weighted_f1 vs labelled fraction · melt test scenes", labels),
            std::string::npos);
  EXPECT_NE(dom.find("vs labelled fraction · melt test scenes of domain noisy", labels),
            std::string::npos);
  const auto domains = dom.find("id=\"domains\"");
  ASSERT_NE(domains, std::string::npos);
  EXPECT_NE(dom.find("hold out of domain (noisy", domains), std::string::npos);
  EXPECT_NE(dom.find("max_epochs reached (censored)"), std::string::npos);
  const fs::path screenshot =
      kept_screenshot(dir.path(), files.html, 9000, "report_labels_screenshot.png");
  ASSERT_FALSE(screenshot.empty());
}

// The ssl arm's pretraining section and the speckle-filter section render with their charts.
TEST(ReportBrowser, SslAndSpeckleSectionsRenderWithTheirCharts) {
  if (!fs::exists(kChromium)) GTEST_SKIP() << "chromium is not installed";
  sarseg::testing::TempDir dir;
  ExperimentSummary summary = testing::fake_summary(3, 0.04, 0.01);
  ExperimentSummary filtered = testing::fake_summary(3, 0.0, 0.0);
  for (auto run : filtered.runs) {
    run.speckle_filter = "refined_lee";
    summary.runs.push_back(run);
  }
  PretrainingRecord pretraining;
  pretraining.weights = "ssl/encoder.safetensors";
  pretraining.encoder = "mobilenet_v2";
  pretraining.objective = "vicreg";
  pretraining.init = "random";
  pretraining.scope = "once per experiment";
  pretraining.scenes = 24;
  pretraining.epochs = 3;
  pretraining.samples_seen = 1536;
  pretraining.wall_seconds = 30;
  pretraining.train_seconds = 24;
  pretraining.loss = {30, 25, 22};
  pretraining.effective_rank = {100.5, 60.2, 45.0, 35.3};
  pretraining.encoder_effective_rank = {40.1, 30.0, 28.4, 27.9};
  pretraining.mean_std = {0.5, 0.7, 0.8, 0.8};
  pretraining.normalised_std = {0.4, 0.6, 0.7, 0.7};
  summary.pretraining = pretraining;
  const ReportFiles files = write_report(summary, dir.path());
  const std::string dom = rendered_dom(dir / "profile", files.html);
  const auto ssl = dom.find("id=\"ssl\"");
  ASSERT_NE(ssl, std::string::npos);
  EXPECT_NE(dom.find("effective rank during pretraining", ssl), std::string::npos);
  EXPECT_NE(dom.find("encoder output", ssl), std::string::npos);
  const auto speckle = dom.find("id=\"speckle\"");
  ASSERT_NE(speckle, std::string::npos);
  EXPECT_NE(dom.find("weighted_f1 · filter none · last epoch", speckle), std::string::npos);
  EXPECT_NE(dom.find("weighted_f1 · filter refined_lee · last epoch", speckle), std::string::npos);
  const fs::path screenshot =
      kept_screenshot(dir.path(), files.html, 9000, "report_ssl_speckle_screenshot.png");
  ASSERT_FALSE(screenshot.empty());
}

TEST(ReportBrowser, ABrokenImageIsReportedByThePage) {
  if (!fs::exists(kChromium)) GTEST_SKIP() << "chromium is not installed";
  sarseg::testing::TempDir dir;
  ExperimentSummary summary = testing::fake_summary(2, 0.04, 0.01);
  write_file_atomically(dir / "broken.png", "not a png");
  summary.quicklooks.push_back({"scene_a", "melt", "broken.png", "", {}, ""});
  const ReportFiles files = write_report(summary, dir.path());
  const std::string dom = run_capture(chromium_command(dir / "profile", "--dump-dom", files.html));
  std::smatch title;
  ASSERT_TRUE(std::regex_search(dom, title, std::regex("<head>[\\s\\S]*?<title>([^<]*)</title>")));
  EXPECT_EQ(title[1].str().rfind("error: ", 0), 0u) << title[1].str();
}

}  // namespace
}  // namespace sarseg::experiment
