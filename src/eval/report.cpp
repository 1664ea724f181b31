#include "sarseg/eval/report.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <stdexcept>

#include "sarseg/util/strings.h"

namespace sarseg::eval {

namespace {

int head_index(const std::vector<HeadResult>& heads, const std::string& label) {
  for (size_t i = 0; i < heads.size(); ++i)
    if (to_lower(heads[i].label) == to_lower(label)) return static_cast<int>(i);
  return -1;
}

nlohmann::json number(double value) {
  if (!std::isfinite(value)) return nullptr;  // NaN (nothing counted) -> null
  return value;
}

std::string cell(double value, int decimals = 4) {
  if (!std::isfinite(value)) return "-";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

nlohmann::json group_to_json(const EvaluationGroup& group) {
  nlohmann::json j;
  j["name"] = group.name;
  if (!group.season.empty()) j["season"] = group.season;
  if (!group.source.empty()) j["source"] = group.source;
  j["scenes"] = group.scenes;
  j["seconds"] = group.seconds;
  nlohmann::json heads = nlohmann::json::object();
  for (const auto& head : group.heads) {
    heads[head.label] = metrics_to_json(head.metrics);
    heads[head.label]["calibration"] = calibration_to_json(head.calibration);
  }
  j["heads"] = heads;
  if (group.autoice) {
    j["autoice"] = {{"sic_r2", number(group.autoice->sic)},
                    {"sod_weighted_f1", number(group.autoice->sod)},
                    {"floe_weighted_f1", number(group.autoice->floe)},
                    {"combined", number(group.autoice->combined)}};
  }
  return j;
}

void summary_rows(std::ostringstream& out, const std::string& kind, const EvaluationGroup& group) {
  for (const auto& head : group.heads) {
    const auto& m = head.metrics;
    const bool sic = to_lower(head.label) == "sic";
    out << "| " << kind << " | " << group.name << " | "
        << (group.season.empty() ? "-" : group.season) << " | " << head.label << " | " << m.pixels
        << " | " << cell(m.accuracy) << " | " << cell(m.weighted_f1) << " | "
        << cell(m.weighted_iou) << " | " << cell(m.macro_f1) << " | " << cell(m.macro_iou) << " | "
        << (sic ? cell(m.r2) : "-") << " |\n";
  }
}

}  // namespace

EvaluationAccumulator::EvaluationAccumulator(std::vector<std::string> head_labels)
    : head_labels_(std::move(head_labels)) {}

const EvaluationGroup& EvaluationAccumulator::add_scene(
    const std::string& id, io::Season season, std::vector<ConfusionMatrix> confusions,
    double seconds, const std::string& source, std::vector<CalibrationAccumulator> calibration) {
  if (confusions.size() != head_labels_.size())
    throw std::invalid_argument("add_scene: " + std::to_string(confusions.size()) +
                                " confusion matrices for " + std::to_string(head_labels_.size()) +
                                " heads");
  EvaluationGroup group;
  group.name = id;
  group.season = io::to_string(season);
  group.source = source;
  group.scenes = 1;
  group.seconds = seconds;
  if (!calibration.empty() && calibration.size() != head_labels_.size())
    throw std::invalid_argument("add_scene: " + std::to_string(calibration.size()) +
                                " calibration records for " + std::to_string(head_labels_.size()) +
                                " heads");
  for (size_t h = 0; h < confusions.size(); ++h) {
    group.heads.push_back({head_labels_[h], std::move(confusions[h]), {}, {}});
    if (!calibration.empty()) group.heads.back().calibration = std::move(calibration[h]);
  }
  finalise_group(group);
  scenes_.push_back(std::move(group));
  return scenes_.back();
}

void finalise_group(EvaluationGroup& group) {
  for (auto& head : group.heads)
    head.metrics = compute_metrics(head.confusion);
  const int sic = head_index(group.heads, "SIC");
  const int sod = head_index(group.heads, "SOD");
  const int floe = head_index(group.heads, "FLOE");
  group.autoice.reset();
  if (sic >= 0 && sod >= 0 && floe >= 0) {
    group.autoice = autoice_score(group.heads[sic].metrics.r2, group.heads[sod].metrics.weighted_f1,
                                  group.heads[floe].metrics.weighted_f1);
  }
}

EvaluationReport EvaluationAccumulator::report() const {
  EvaluationReport report;
  report.head_labels = head_labels_;
  report.scenes = scenes_;

  auto empty_group = [&](const std::string& name, const std::string& season) {
    EvaluationGroup group;
    group.name = name;
    group.season = season;
    for (const auto& label : head_labels_)
      group.heads.push_back({label, ConfusionMatrix{}, {}, {}});
    return group;
  };
  auto pool_into = [](EvaluationGroup& group, const EvaluationGroup& scene) {
    group.scenes += 1;
    group.seconds += scene.seconds;
    for (size_t h = 0; h < group.heads.size(); ++h) {
      group.heads[h].confusion.merge(scene.heads[h].confusion);
      group.heads[h].calibration.merge(scene.heads[h].calibration);
    }
  };

  report.pooled = empty_group("all", "");
  std::map<io::Season, EvaluationGroup> seasons;
  for (const auto& scene : scenes_) {
    const io::Season season = io::parse_season(scene.season);
    auto it = seasons.find(season);
    if (it == seasons.end())
      it = seasons.emplace(season, empty_group(scene.season, scene.season)).first;
    pool_into(it->second, scene);
    pool_into(report.pooled, scene);
  }
  for (auto season :
       {io::Season::kFreezeUp, io::Season::kWinter, io::Season::kMelt, io::Season::kUnknown}) {
    auto it = seasons.find(season);
    if (it == seasons.end()) continue;
    // Heads without any pixel in the season (never merged) still need a matrix size.
    for (size_t h = 0; h < it->second.heads.size(); ++h)
      if (it->second.heads[h].confusion.num_classes() == 0 && !scenes_.empty())
        it->second.heads[h].confusion =
            ConfusionMatrix(scenes_[0].heads[h].confusion.num_classes());
    finalise_group(it->second);
    report.seasons.push_back(std::move(it->second));
  }
  if (!scenes_.empty()) finalise_group(report.pooled);
  return report;
}

nlohmann::json metrics_to_json(const ClassificationMetrics& m) {
  nlohmann::json j;
  j["pixels"] = m.pixels;
  j["accuracy"] = number(m.accuracy);
  j["macro"] = {{"precision", number(m.macro_precision)},
                {"recall", number(m.macro_recall)},
                {"f1", number(m.macro_f1)},
                {"iou", number(m.macro_iou)}};
  j["weighted"] = {{"precision", number(m.weighted_precision)},
                   {"recall", number(m.weighted_recall)},
                   {"f1", number(m.weighted_f1)},
                   {"iou", number(m.weighted_iou)}};
  j["r2"] = number(m.r2);
  nlohmann::json classes = nlohmann::json::array();
  for (const auto& c : m.classes) {
    classes.push_back({{"label", c.label},
                       {"support", c.support},
                       {"predicted", c.predicted},
                       {"present", c.present},
                       {"precision", c.precision},
                       {"recall", c.recall},
                       {"f1", c.f1},
                       {"iou", c.iou}});
  }
  j["classes"] = classes;
  j["confusion"] = m.confusion;
  j["confusion_row_normalised"] = m.confusion_row_norm;
  return j;
}

nlohmann::json calibration_to_json(const CalibrationAccumulator& calibration) {
  if (calibration.pixels() == 0) return nullptr;
  nlohmann::json bins = nlohmann::json::array();
  for (const auto& bin : calibration.reliability())
    bins.push_back({{"lower", bin.lower},
                    {"upper", bin.upper},
                    {"pixels", bin.pixels},
                    {"mean_confidence", number(bin.mean_confidence)},
                    {"accuracy", number(bin.accuracy)}});
  return {{"pixels", calibration.pixels()},
          {"accuracy", number(calibration.accuracy())},
          {"ece", number(calibration.expected_calibration_error())},
          {"error_auroc", number(calibration.error_auroc())},
          {"reliability", bins}};
}

nlohmann::json to_json(const EvaluationReport& report) {
  nlohmann::json j;
  j["checkpoint"] = report.checkpoint;
  j["heads"] = report.head_labels;
  j["settings"] = report.settings;
  j["conventions"] =
      "sklearn: pixels with truth 255 or invalid input ignored; zero_division=0; macro over "
      "labels present in truth or prediction; weighted by truth support; R2 = r2_score on class "
      "indices; pooled = summed confusion matrices; AutoICE scores in percent";
  nlohmann::json scenes = nlohmann::json::array();
  for (const auto& g : report.scenes)
    scenes.push_back(group_to_json(g));
  nlohmann::json seasons = nlohmann::json::array();
  for (const auto& g : report.seasons)
    seasons.push_back(group_to_json(g));
  j["scenes"] = scenes;
  j["seasons"] = seasons;
  j["pooled"] = group_to_json(report.pooled);
  return j;
}

std::string to_markdown(const EvaluationReport& report) {
  std::ostringstream out;
  out << "## Evaluation";
  if (!report.checkpoint.empty()) out << " of `" << report.checkpoint << "`";
  out << "\n\n";
  out << "| group | name | season | head | pixels | accuracy | weighted F1 | weighted IoU | "
         "macro F1 | macro IoU | SIC R2 |\n";
  out << "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& g : report.scenes)
    summary_rows(out, "scene", g);
  for (const auto& g : report.seasons)
    summary_rows(out, "season", g);
  summary_rows(out, "pooled", report.pooled);

  bool any_autoice = report.pooled.autoice.has_value();
  if (any_autoice) {
    out << "\n### AutoICE scores (percent)\n\n| group | name | SIC R2 | SOD F1 | FLOE F1 | "
           "combined |\n"
           "|---|---|---:|---:|---:|---:|\n";
    auto row = [&](const std::string& kind, const EvaluationGroup& g) {
      if (!g.autoice) return;
      out << "| " << kind << " | " << g.name << " | " << cell(g.autoice->sic, 3) << " | "
          << cell(g.autoice->sod, 3) << " | " << cell(g.autoice->floe, 3) << " | "
          << cell(g.autoice->combined, 3) << " |\n";
    };
    for (const auto& g : report.scenes)
      row("scene", g);
    for (const auto& g : report.seasons)
      row("season", g);
    row("pooled", report.pooled);
  }

  bool any_calibration = false;
  for (const auto& head : report.pooled.heads)
    any_calibration = any_calibration || head.calibration.pixels() > 0;
  if (any_calibration) {
    out << "\n### Calibration and uncertainty\n\nECE: expected calibration error of the "
           "predicted class's probability (15 equal-width bins; 0 = calibrated). Error AUROC: "
           "how well the predictive entropy flags misclassified pixels (0.5 = not at all).\n\n"
           "| group | name | head | pixels | accuracy | ECE | error AUROC |\n"
           "|---|---|---|---:|---:|---:|---:|\n";
    auto rows = [&](const std::string& kind, const EvaluationGroup& g) {
      for (const auto& head : g.heads) {
        const auto& c = head.calibration;
        if (c.pixels() == 0) continue;
        out << "| " << kind << " | " << g.name << " | " << head.label << " | " << c.pixels()
            << " | " << cell(c.accuracy()) << " | " << cell(c.expected_calibration_error()) << " | "
            << cell(c.error_auroc()) << " |\n";
      }
    };
    for (const auto& g : report.scenes)
      rows("scene", g);
    for (const auto& g : report.seasons)
      rows("season", g);
    rows("pooled", report.pooled);
    for (const auto& head : report.pooled.heads) {
      if (head.calibration.pixels() == 0) continue;
      out << "\nReliability, pooled, " << head.label
          << " (confidence bin: mean confidence, accuracy, pixels):\n\n"
             "| bin | mean confidence | accuracy | pixels |\n|---|---:|---:|---:|\n";
      for (const auto& bin : head.calibration.reliability()) {
        if (bin.pixels == 0) continue;
        out << "| " << cell(bin.lower, 3) << "-" << cell(bin.upper, 3) << " | "
            << cell(bin.mean_confidence) << " | " << cell(bin.accuracy) << " | " << bin.pixels
            << " |\n";
      }
    }
  }

  for (const auto& head : report.pooled.heads) {
    const auto& m = head.metrics;
    out << "\n### Pooled per-class scores: " << head.label << "\n\n";
    out << "| class | support | predicted | precision | recall | F1 | IoU |\n";
    out << "|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const auto& c : m.classes) {
      out << "| " << c.label << (c.present ? "" : " (absent)") << " | " << c.support << " | "
          << c.predicted << " | " << cell(c.precision) << " | " << cell(c.recall) << " | "
          << cell(c.f1) << " | " << cell(c.iou) << " |\n";
    }
    out << "\nConfusion matrix, rows = truth, columns = prediction (row-normalised):\n\n|   |";
    for (int p = 0; p < m.num_classes; ++p)
      out << " " << p << " |";
    out << "\n|---|";
    for (int p = 0; p < m.num_classes; ++p)
      out << "---:|";
    out << "\n";
    for (int t = 0; t < m.num_classes; ++t) {
      out << "| **" << t << "** |";
      for (int p = 0; p < m.num_classes; ++p)
        out << " " << cell(m.confusion_row_norm[t][p], 3) << " |";
      out << "\n";
    }
  }
  return out.str();
}

}  // namespace sarseg::eval
