// A made-up but internally consistent ExperimentSummary for report tests: `melt_gain` and
// `freeze_gain` are added to the imagenet arm's test weighted F1 in every seed (plus a per-seed
// wobble), `curve_shift` changes the learning curves.
#pragma once

#include <cmath>
#include <filesystem>
#include <string>

#include "sarseg/experiment/summary.h"
#include "sarseg/util/atomic_file.h"

namespace sarseg::experiment::testing {

inline ExperimentSummary fake_summary(int seeds, double melt_gain, double freeze_gain,
                                      double curve_shift = 0.0) {
  ExperimentSummary s;
  s.name = "fake";
  s.profile = "test";
  s.created_utc = "2026-01-01T00:00:00Z";
  s.sarseg_version = "0.0";
  s.machine = "test machine";
  s.model = "mobilenet_v2 + unet";
  s.data = "made up";
  s.class_names = {"water", "ice"};
  s.class_colours = {"#1f4e9c", "#e8e8e8"};
  s.arms = {{"imagenet", "imagenet", false, "ImageNet encoder"},
            {"random", "random", false, "random init"}};
  for (int k = 1; k <= seeds; ++k)
    s.seeds.push_back(k);
  for (const auto& arm : s.arms) {
    const bool pretrained = arm.name == "imagenet";
    for (int64_t seed : s.seeds) {
      RunResult run;
      run.arm = arm.name;
      run.seed = seed;
      run.stop_reason = "early stopping";
      const int epochs = pretrained ? 8 + int(seed) : 12 + int(seed);
      const double rate = pretrained ? 0.6 : 0.3;
      for (int e = 1; e <= epochs; ++e) {
        EpochRecord r;
        r.epoch = e;
        r.train_loss = 0.2 + curve_shift + 0.6 * std::exp(-rate * e) + 0.01 * seed;
        r.val_loss = 0.25 + curve_shift + 0.6 * std::exp(-rate * e) + 0.01 * seed +
                     (e > epochs - 3 ? 0.01 * (e - epochs + 3) : 0.0);
        r.val_weighted_f1 = 0.9 - 0.6 * std::exp(-rate * e) - curve_shift;
        r.learning_rate = 1e-3;
        r.wall_seconds = 2.0 * e;
        r.samples_seen = 64 * e;
        run.curve.push_back(r);
      }
      run.total_seconds = 2.0 * epochs;
      derive_convergence(run);
      const double wobble = 0.003 * double(seed % 3);
      for (const std::string weights : {"last", "best"}) {
        Evaluation evaluation;
        evaluation.weights = weights;
        evaluation.epoch = weights == "last" ? epochs : run.best_epoch;
        for (const std::string season : {"freeze-up", "melt"}) {
          SeasonMetrics m;
          m.season = season;
          m.scenes = 1;
          m.pixels = 1000;
          const double base = season == "melt" ? 0.80 : 0.92;
          const double gain = pretrained ? (season == "melt" ? melt_gain : freeze_gain) : 0.0;
          m.weighted_f1 = base + gain + wobble;
          m.weighted_iou = m.weighted_f1 - 0.1;
          m.macro_f1 = m.weighted_f1 - 0.05;
          m.accuracy = m.weighted_f1 + 0.01;
          const int64_t right = int64_t(500 * m.accuracy);
          m.confusion = {{right, 500 - right}, {500 - right, right}};
          evaluation.seasons.push_back(m);
        }
        run.evaluations.push_back(evaluation);
      }
      s.runs.push_back(run);
    }
  }
  s.total_seconds = 100;
  s.config = {{"profile", "test"}};
  return s;
}

// Adds an "all" season with calibration counts to every evaluation: the pretrained arm
// (imagenet) says 0.8 and is right 80 % of the time (calibrated); the random arm says 0.95 and
// is right 70 % of the time (over-confident, ECE about 0.25). Wrong pixels have the higher
// entropy in both, more clearly so for imagenet.
inline void add_fake_calibration(ExperimentSummary& s) {
  for (auto& run : s.runs) {
    const bool pretrained = run.arm == "imagenet";
    for (auto& evaluation : run.evaluations) {
      SeasonMetrics all;
      all.season = "all";
      all.scenes = 2;
      all.pixels = 1000;
      all.weighted_f1 = pretrained ? 0.8 : 0.7;
      for (int i = 0; i < 1000; ++i) {
        const bool correct = i % 10 < (pretrained ? 8 : 7) + (run.seed == 2 && !pretrained);
        const double confidence = (pretrained ? 0.80 : 0.95) + 0.001 * double(run.seed);
        const double entropy = correct ? 0.2 : (pretrained ? 0.7 : 0.3);
        all.calibration.add(confidence, correct, entropy + 0.0001 * (i % 7));
      }
      evaluation.seasons.push_back(all);
    }
  }
}

// A valid 2x2 RGB PNG (red, green / blue, white), for quicklook embedding tests.
inline void write_tiny_png(const std::filesystem::path& path) {
  static const unsigned char kPng[] = {
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
      0x52, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x08, 0x02, 0x00, 0x00, 0x00, 0xfd,
      0xd4, 0x9a, 0x73, 0x00, 0x00, 0x00, 0x12, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xf8,
      0xcf, 0xc0, 0xc0, 0x00, 0xc2, 0x0c, 0xff, 0x81, 0x00, 0x00, 0x1f, 0xee, 0x05, 0xfb, 0xf1,
      0xab, 0xba, 0x77, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
  write_file_atomically(path, std::string(reinterpret_cast<const char*>(kPng), sizeof kPng));
}

// Label-efficiency runs on `fractions` (below 1) for every arm and seed of `s`: the baseline
// (random) arm loses 0.1 of weighted F1 per missing share of the labels; the pretrained arm
// (imagenet) is `pretrained_gap` below random-with-every-label at each fraction under 0.5 and
// 0.01 above it from 0.5 on. Curves and evaluations are copied from the full-label runs.
inline void add_fake_label_fractions(ExperimentSummary& s, const std::vector<double>& fractions,
                                     double pretrained_gap = 0.05) {
  s.label_fractions = fractions;
  s.label_fractions.push_back(1.0);
  for (double f : fractions) {
    for (const auto& full : s.runs) {
      RunResult run = full;
      run.label_fraction = f;
      const RunResult* random_full = s.find_run("random", full.seed);
      for (auto& evaluation : run.evaluations) {
        const Evaluation* base = random_full->find(evaluation.weights, evaluation.domain);
        for (auto& m : evaluation.seasons) {
          const double base_f1 = base->find(m.season)->weighted_f1;
          m.weighted_f1 = run.arm == "imagenet" ? base_f1 + (f >= 0.5 ? 0.01 : -pretrained_gap)
                                                : base_f1 - 0.1 * (1.0 - f);
        }
      }
      s.fraction_runs.push_back(run);
    }
  }
}

// A test domain "noisy" in every run (full labels and fractions): each in-domain evaluation again,
// its weighted F1 lowered by 0.1, and the imagenet arm's by `imagenet_loss` more.
inline void add_fake_domain(ExperimentSummary& s, double imagenet_loss) {
  s.domains.push_back({"noisy", "simulated test scenes with noise floor +6 dB", 2});
  for (auto* runs : {&s.runs, &s.fraction_runs})
    for (auto& run : *runs) {
      std::vector<Evaluation> extra;
      for (const auto& evaluation : run.evaluations) {
        if (!evaluation.domain.empty()) continue;
        Evaluation shifted = evaluation;
        shifted.domain = "noisy";
        for (auto& m : shifted.seasons)
          m.weighted_f1 -= 0.1 + (run.arm == "imagenet" ? imagenet_loss : 0.0);
        extra.push_back(shifted);
      }
      run.evaluations.insert(run.evaluations.end(), extra.begin(), extra.end());
    }
}

}  // namespace sarseg::experiment::testing
