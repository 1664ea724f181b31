// Scoring predicted class maps against a scene's labels (no model, no torch): the one scoring path
// of training's test scenes, `sarseg eval` and the experiment.
//
//   eval::ScoringSpec scoring = bundle.scoring;          // recorded in every checkpoint
//   eval::check_truth(scene, scoring);                   // before spending time on inference
//   auto confusions = eval::score_scene(scene, {&map_sod}, valid, scoring);
//
// Truth pixels labelled 255 (no label) or `ignore_label` are not counted, nor pixels invalid in the
// input (`valid` 0) or predicted as 255.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sarseg/eval/metrics.h"
#include "sarseg/io/scene.h"

namespace sarseg::eval {

struct HeadScoring {
  std::string label;    // the scene label the head's class map is scored against, e.g. "SOD"
  int64_t classes = 0;  // values 0..classes-1 are classes
};

// What scoring needs to know of a model: one entry per head, and the ignored truth value.
struct ScoringSpec {
  std::vector<HeadScoring> heads;
  int ignore_label = -1;  // a truth value treated like 255 (no label); -1 = none
};

// Classes of a head's class map: its outputs for a classification head; for a regression head
// (values rounded to class indices) 11 when it predicts SIC (AutoICE classes 0..10), else 255.
int64_t class_map_classes(const std::string& label, bool regression, int64_t outputs);

// Head labels in head order ("SOD", "SIC", ...).
std::vector<std::string> head_labels(const ScoringSpec& scoring);

// Checks the scene's truth for every head: the label exists, has the scene's size, and holds only
// values below the head's classes, 255 or the ignore label. UserError naming the scene file, the
// label, the value with its row and column, and what to do otherwise.
void check_truth(const io::Scene& scene, const ScoringSpec& scoring);

// One confusion matrix per head: `class_maps[h]` (the scene's size, 255 = no prediction) against
// the scene's label `scoring.heads[h].label`, over pixels where `valid` is nonzero (an empty
// raster: every pixel). Checks the truth as check_truth does.
std::vector<ConfusionMatrix> score_scene(const io::Scene& scene,
                                         const std::vector<const io::LabelRaster*>& class_maps,
                                         const io::Raster<uint8_t>& valid,
                                         const ScoringSpec& scoring);

// JSON text of the spec and back (the checkpoint's "scoring" record). UserError naming `where`.
std::string scoring_to_json(const ScoringSpec& scoring);
ScoringSpec scoring_from_json(const std::string& text, const std::string& where);

}  // namespace sarseg::eval
