#include "sarseg/experiment/runner.h"
#include "sarseg/experiment/convergence.h"
#include "sarseg/experiment/label_efficiency.h"
#include "sarseg/experiment/plan.h"
#include "sarseg/experiment/scene_sources.h"
#include "sarseg/experiment/speckle_axis.h"
#include "sarseg/experiment/ssl.h"
#include "sarseg/experiment/test_domains.h"

#include <torch/torch.h>
#include "sarseg/util/log.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <set>

#include "sarseg/build_config.h"
#include "sarseg/data/task.h"
#include "sarseg/eval/metrics.h"
#include "sarseg/eval/report.h"
#include "sarseg/infer/checkpoint_loader.h"
#include "sarseg/infer/evaluate.h"
#include "sarseg/io/image.h"
#include "sarseg/io/quicklook.h"
#include "sarseg/models/model.h"
#include "sarseg/train/trainer.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "sarseg/util/process.h"
#include "sarseg/util/strings.h"

namespace fs = std::filesystem;

namespace sarseg::experiment {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::string clock_text(double seconds) {
  const int64_t s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%lld:%02lld", static_cast<long long>(s / 60),
                static_cast<long long>(s % 60));
  return buffer;
}

std::string file_safe(const std::string& text) {
  std::string out;
  for (char c : text)
    out +=
        (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  return out.empty() ? "scene" : out;
}

std::string fixed_text(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4f", v);
  return buffer;
}

std::string hex_colour(const io::Rgb& rgb) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
  return buffer;
}

// Keys that may differ between the invocations of one experiment folder.
bool may_change_on_restart(const std::string& key) {
  return key.rfind("output.", 0) == 0 || key == "experiment.seeds" || key == "experiment.arms" ||
         key == "experiment.name" || key == "experiment.label_fractions" ||
         key == "experiment.speckle_filters";
}

// ---- checks before any training ---------------------------------------------------------------

// Loads each arm's start weights into a throwaway model: a missing or mismatched weight file
// fails here, before hours of training for the other arms.
void check_arm_weights(const ExperimentConfig& config, const std::vector<ArmSpec>& arms) {
  for (const auto& arm : arms) {
    if (is_ssl_arm(arm)) {
      // Its own weights come later; the start of its pretraining is checked now.
      if (config.ssl.init == "random" || config.ssl.init.empty()) continue;
      ArmSpec start = arm;
      start.init = config.ssl.init;
      try {
        check_arm_weights(config, {start});
      } catch (const UserError& error) {
        throw UserError(std::string("ssl.init: ") + error.what());
      }
      continue;
    }
    if (arm.init == "random" || arm.init.empty()) continue;
    const train::TrainConfig run = run_config(config, arm, 0, "unused");
    models::ModelSpec spec = train::model_spec_of(run);
    try {
      auto model = models::build_model(spec);
      models::initialise_encoder(model, spec);
    } catch (const UserError& error) {
      throw UserError("arm '" + arm.name + "' (experiment.arms): " + error.what());
    }
  }
}

void check_test_scenes(const ExperimentConfig& config, const train::SceneSplits& scenes) {
  require(!scenes.test.empty(),
          "no test scenes: the experiment is judged on them; list them in data.test (or set "
          "synth.test_per_season with data.source=synthetic)");
  std::set<std::string> present;
  for (const auto& scene : scenes.test)
    present.insert(io::to_string(scene.season));
  for (const auto& wanted : config.experiment.test_seasons) {
    const std::string season = io::to_string(io::parse_season(wanted));
    require(present.count(season) > 0,
            "the test scenes hold no " + season + " scene (seasons found: " +
                join(std::vector<std::string>(present.begin(), present.end()), ", ") + "); add " +
                season +
                " test scenes to data.test (a scene's season comes from its date or its season "
                "tag) or remove it from experiment.test_seasons");
  }
}

// The experiment folder keeps the configuration it was started with.
void check_or_record_config(const ExperimentConfig& config, const fs::path& out_dir) {
  const auto& schema = experiment_config_schema();
  const fs::path recorded = out_dir / "experiment.yaml";
  if (fs::exists(recorded)) {
    // Compared as text, key by key (the recorded file is the resolved YAML of every key).
    for (const auto& setting : config::flatten_yaml(read_file(recorded), recorded.string())) {
      if (may_change_on_restart(setting.key)) continue;
      const auto* key = schema.find(setting.key);
      require(key != nullptr, recorded.string() + " names unknown key " + setting.key +
                                  "; use another --out, or delete that folder to start over");
      const std::string now = key->get(config);
      require(setting.value == now,
              out_dir.string() + " holds an experiment with other settings (" + setting.key +
                  " = " + setting.value + " there, " + now +
                  " now); use another --out, or delete that folder to start over");
    }
  }
  write_file_atomically(recorded, schema.to_yaml(config,
                                                 "sarseg experiment: resolved "
                                                 "configuration of this folder"));
}

// ---- learning curves and evaluation ----------------------------------------------------------

std::vector<EpochRecord> curve_of(const std::vector<train::EpochRecord>& history) {
  std::vector<EpochRecord> curve;
  double wall = 0;
  int64_t samples = 0;
  for (const auto& r : history) {
    wall += r.seconds;
    samples += r.train_samples;
    EpochRecord e;
    e.epoch = r.epoch;
    e.train_loss = r.train_loss;
    e.val_loss = r.val_loss;
    const auto it = r.val_metrics.find("val_weighted_f1");
    e.val_weighted_f1 = it != r.val_metrics.end() ? it->second : std::nan("");
    e.learning_rate = r.lr;
    e.wall_seconds = wall;
    e.samples_seen = samples;
    curve.push_back(e);
  }
  return curve;
}

struct QuicklookScene {
  size_t scene_index = 0;
  std::string file_stem;
};

struct Context {
  const ExperimentConfig& config;
  const train::SceneSplits& scenes;
  std::vector<data::TaskSpec> tasks;
  io::Palette palette;
  std::vector<QuicklookScene> quicklooks;
  fs::path out_dir;
  std::vector<TestDomain> domains;  // data.test_domains
};

std::string prediction_png(const QuicklookScene& q, const std::string& arm, int64_t seed) {
  return "quicklooks/" + q.file_stem + "_" + arm + "_seed" + std::to_string(seed) + "_last.png";
}

SeasonMetrics season_metrics_of(const eval::EvaluationGroup& group) {
  SeasonMetrics m;
  m.season = group.name;
  m.scenes = group.scenes;
  if (group.heads.empty()) return m;
  const auto& first = group.heads.front().metrics;
  m.pixels = first.pixels;
  m.weighted_f1 = first.weighted_f1;
  m.weighted_iou = first.weighted_iou;
  m.macro_f1 = first.macro_f1;
  m.accuracy = first.accuracy;
  m.confusion = first.confusion;
  m.calibration = group.heads.front().calibration;
  for (size_t h = 1; h < group.heads.size(); ++h) {
    m.scores[group.heads[h].label + "_weighted_f1"] = group.heads[h].metrics.weighted_f1;
    m.scores[group.heads[h].label + "_r2"] = group.heads[h].metrics.r2;
  }
  if (group.autoice) {
    m.scores["autoice_combined"] = group.autoice->combined;
    m.scores["autoice_sic"] = group.autoice->sic;
    m.scores["autoice_sod"] = group.autoice->sod;
    m.scores["autoice_floe"] = group.autoice->floe;
  }
  return m;
}

// `which` weights of a run on `test` (the in-domain test scenes, or those of `domain`).
Evaluation evaluate_weights(const Context& ctx, const fs::path& run_dir, const std::string& which,
                            const ArmSpec& arm, int64_t seed, bool write_quicklooks,
                            const std::vector<io::Scene>& test, const std::string& domain) {
  const infer::InferenceBundle bundle = infer::load_inference_bundle(run_dir, which);
  infer::InferenceOptions options = ctx.config.inference;
  // Unless told otherwise, test on the device the runs trained on.
  if (options.device == infer::InferenceOptions{}.device)
    options.device = ctx.config.train.train.device;
  const infer::ScenePredictor predictor = infer::make_predictor(bundle, options);
  eval::EvaluationAccumulator accumulator(bundle.head_labels);
  for (size_t i = 0; i < test.size(); ++i) {
    const io::Scene& scene = test[i];
    const auto start = Clock::now();
    infer::SceneEvaluation scored = infer::evaluate_scene(predictor, bundle.scoring, scene);
    accumulator.add_scene(scene.id, scene.season, std::move(scored.confusions),
                          seconds_since(start), scene.source_path, std::move(scored.calibration));
    if (write_quicklooks) {
      for (const auto& q : ctx.quicklooks) {
        if (q.scene_index != i) continue;
        io::write_png(ctx.out_dir / prediction_png(q, arm.name, seed),
                      io::colour_class_map(scored.prediction.heads.front().classes, ctx.palette,
                                           static_cast<int>(ctx.config.experiment.quicklook_size)));
      }
    }
  }
  const eval::EvaluationReport report = accumulator.report();
  Evaluation evaluation;
  evaluation.weights = which;
  evaluation.domain = domain;
  evaluation.epoch = bundle.epoch;
  for (const auto& group : report.seasons)
    evaluation.seasons.push_back(season_metrics_of(group));
  SeasonMetrics pooled = season_metrics_of(report.pooled);
  pooled.season = "all";
  evaluation.seasons.push_back(pooled);
  return evaluation;
}

std::string describe_data(const ExperimentConfig& config, const train::SceneSplits& scenes) {
  std::set<std::string> seasons;
  for (const auto& s : scenes.test)
    seasons.insert(io::to_string(s.season));
  std::string text = std::to_string(scenes.train.size()) + " train, " +
                     std::to_string(scenes.val.size()) + " validation, " +
                     std::to_string(scenes.test.size()) + " test scenes (test seasons " +
                     join(std::vector<std::string>(seasons.begin(), seasons.end()), ", ") + ")";
  if (config.train.data.source == "synthetic")
    return "synthetic scenes generated on the fly (" + config.synth.size + " px, " +
           config.synth.label_mode + " labels, synth.seed " + std::to_string(config.synth.seed) +
           "): " + text;
  return "scene files: " + text;
}

nlohmann::json config_json(const ExperimentConfig& config) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& key : experiment_config_schema().keys())
    j[key.name] = key.get(config);
  return j;
}

}  // namespace

fs::path run_directory(const fs::path& out_dir, const std::string& arm, int64_t seed) {
  return out_dir / arm / ("seed" + std::to_string(seed));
}

fs::path run_directory(const fs::path& out_dir, const std::string& arm, int64_t seed,
                       double label_fraction) {
  if (label_fraction == 1.0) return run_directory(out_dir, arm, seed);
  return out_dir / arm / ("labels" + fraction_text(label_fraction)) /
         ("seed" + std::to_string(seed));
}

bool schedule_ends_at_budget(const train::TrainConfig& config) {
  return config.schedule.name == "cosine" && config.schedule.cosine_t_mult == 1 &&
         config.schedule.cosine_t0 == config.train.max_epochs;
}

namespace {

// Quicklook scenes: the first few test scenes of each season; truth and input drawn once.
std::vector<Quicklook> draw_quicklook_scenes(Context& ctx, int64_t first_seed) {
  const auto& config = ctx.config;
  const data::TaskSpec& first_task = ctx.tasks.front();
  ensure_output_directory(ctx.out_dir / "quicklooks");
  std::map<std::string, int64_t> per_season;
  std::vector<Quicklook> entries;
  const int size = static_cast<int>(config.experiment.quicklook_size);
  for (size_t i = 0; i < ctx.scenes.test.size(); ++i) {
    const io::Scene& scene = ctx.scenes.test[i];
    const std::string season = io::to_string(scene.season);
    if (per_season[season]++ >= config.experiment.quicklooks_per_season) continue;
    QuicklookScene q{i, "t" + std::to_string(i) + "_" + file_safe(scene.id)};
    Quicklook entry;
    entry.scene_id = scene.id;
    entry.season = season;
    entry.truth_png = "quicklooks/" + q.file_stem + "_truth.png";
    io::write_png(ctx.out_dir / entry.truth_png,
                  io::colour_class_map(scene.labels.at(first_task.label), ctx.palette, size));
    if (scene.find_band("hh_db") && scene.find_band("hv_db")) {
      entry.input_png = "quicklooks/" + q.file_stem + "_input.png";
      io::write_png(ctx.out_dir / entry.input_png, io::sar_false_colour(scene, size));
    }
    entry.caption = "Input (false colour HH, HV, HH-HV), " + first_task.label +
                    " truth, and each arm's prediction with the last-epoch weights of seed " +
                    std::to_string(first_seed) + ".";
    ctx.quicklooks.push_back(q);
    entries.push_back(entry);
  }
  return entries;
}

// What the summary says before any run: machine, model, data, classes, arms, seeds.
ExperimentSummary summary_header(const Context& ctx, const RunnerOptions& options,
                                 const std::vector<ArmSpec>& arms) {
  const auto& config = ctx.config;
  const data::TaskSpec& first_task = ctx.tasks.front();
  ExperimentSummary summary;
  summary.name = config.experiment.name;
  summary.profile = options.profile;
  summary.sarseg_version = SARSEG_VERSION;
  summary.machine =
      cpu_description() + ", " + std::to_string(torch::get_num_threads()) + " torch threads";
  summary.model = models::model_label(train::model_spec_of(config.train)) + "; bands " +
                  join(config.train.data.bands, ", ") + "; task " +
                  join(config.train.data.tasks, ", ");
  summary.data = describe_data(config, ctx.scenes);
  summary.class_names = ctx.palette.names;
  summary.class_names.resize(static_cast<size_t>(first_task.classes));
  for (int64_t c = 0; c < first_task.classes; ++c)
    summary.class_colours.push_back(hex_colour(c < static_cast<int64_t>(ctx.palette.colours.size())
                                                   ? ctx.palette.colours[size_t(c)]
                                                   : ctx.palette.fill));
  for (const auto& arm : arms)
    summary.arms.push_back({arm.name, arm.init, arm.freeze_encoder_epochs > 0, arm.description});
  summary.seeds = config.experiment.seeds;
  summary.label_fractions = config.experiment.label_fractions;
  for (const auto& domain : ctx.domains)
    summary.domains.push_back(
        {domain.spec.name, domain.spec.description, static_cast<int64_t>(domain.scenes.size())});
  summary.reference_arm = config.experiment.reference_arm;
  summary.baseline_arm = config.experiment.baseline_arm;
  const auto has_task = [&](const char* label) {
    return std::any_of(ctx.tasks.begin(), ctx.tasks.end(),
                       [&](const auto& t) { return t.label == label; });
  };
  const bool autoice = has_task("SOD") && has_task("SIC") && has_task("FLOE");
  summary.headline_metric = autoice ? "autoice_combined" : "weighted_f1";
  summary.config = config_json(config);
  return summary;
}

// Writes the report of the runs so far, with the quicklooks whose predictions exist.
ReportFiles write_summary(ExperimentSummary& summary, const std::vector<Quicklook>& entries,
                          const Context& ctx, int64_t first_seed) {
  summary.created_utc = utc_now();
  summary.total_seconds = summary.pretraining ? summary.pretraining->wall_seconds : 0.0;
  for (const auto& run : summary.runs)
    summary.total_seconds += run.total_seconds;
  summary.quicklooks.clear();
  for (auto entry : entries) {
    for (const auto& run : summary.runs) {
      if (run.seed != first_seed) continue;
      if (run.speckle_filter != speckle_axis(ctx.config).front()) continue;
      for (const auto& q : ctx.quicklooks) {
        if (q.file_stem + "_truth.png" != fs::path(entry.truth_png).filename().string()) continue;
        const std::string png = prediction_png(q, run.arm, run.seed);
        if (fs::exists(ctx.out_dir / png)) entry.predictions[run.arm] = png;
      }
    }
    summary.quicklooks.push_back(entry);
  }
  return write_report(summary, ctx.out_dir);
}

// The scenes of a run on `fraction` of the labelled training scenes (label_efficiency.h); the
// validation and test scenes stay.
train::SceneSplits labelled_share(const train::SceneSplits& scenes, double fraction, int64_t seed) {
  std::vector<std::string> seasons;
  for (const auto& scene : scenes.train)
    seasons.push_back(io::to_string(scene.season));
  train::SceneSplits share;
  share.val = scenes.val;
  share.test = scenes.test;
  share.source_yaml = scenes.source_yaml;
  for (size_t i : labelled_scene_indices(seasons, fraction, seed))
    share.train.push_back(scenes.train[i]);
  return share;
}

// Trains one run, or resumes it from its last checkpoint.
train::TrainResult train_or_resume(const Context& ctx, const train::SceneSplits& scenes,
                                   const ArmSpec& arm, int64_t seed,
                                   const std::string& speckle_filter, const fs::path& run_dir,
                                   const std::string& label, const RunnerOptions& options,
                                   ExperimentOutcome& outcome) {
  if (fs::exists(run_dir / "checkpoints" / "last.pt")) {
    sarseg::log::info("experiment: {} resuming from {}", label,
                      (run_dir / "checkpoints" / "last.pt").string());
    ++outcome.runs_resumed;
    return train::resume_training(run_dir, options.train_callbacks, &scenes);
  }
  sarseg::log::info("experiment: {} training ({})", label, arm.description);
  train::TrainConfig fresh = run_config(ctx.config, arm, seed, run_dir);
  apply_speckle_filter(fresh, speckle_filter);
  fresh.output.overwrite = true;  // a run that died before its first epoch leaves debris
  ++outcome.runs_trained;
  return train::run_training(fresh, options.train_callbacks, &scenes);
}

// The curve, convergence and test evaluations of a trained run.
RunResult run_result_of(const Context& ctx, const train::TrainResult& trained, const ArmSpec& arm,
                        int64_t seed, double label_fraction, const std::string& speckle_filter,
                        const fs::path& run_dir, double& eval_seconds) {
  RunResult run;
  run.arm = arm.name;
  run.seed = seed;
  run.label_fraction = label_fraction;
  run.speckle_filter = speckle_filter;
  run.curve = curve_of(trained.history);
  std::string reason = trained.stop_reason;
  const std::string prefix = "already finished: ";
  if (reason.rfind(prefix, 0) == 0) reason = reason.substr(prefix.size());
  run.stop_reason = reason.empty() ? "max epochs" : reason;
  derive_convergence(run);
  assess_convergence(run, schedule_ends_at_budget(ctx.config.train));
  const auto eval_started = Clock::now();
  const int64_t first_seed = ctx.config.experiment.seeds.front();
  // Quicklooks show the full-label runs of the first seed and the first filter of the axis
  // (unfiltered without one).
  const bool quicklooks = seed == first_seed && label_fraction == 1.0 &&
                          speckle_filter == speckle_axis(ctx.config).front();
  for (const auto& which : ctx.config.experiment.evaluate)
    run.evaluations.push_back(evaluate_weights(ctx, run_dir, which, arm, seed,
                                               which == "last" && quicklooks, ctx.scenes.test, ""));
  for (const auto& domain : ctx.domains)
    for (const auto& which : ctx.config.experiment.evaluate)
      run.evaluations.push_back(
          evaluate_weights(ctx, run_dir, which, arm, seed, false, domain.scenes, domain.spec.name));
  eval_seconds = seconds_since(eval_started);
  run.total_seconds = (run.curve.empty() ? 0.0 : run.curve.back().wall_seconds) + eval_seconds;
  return run;
}

}  // namespace

ExperimentOutcome run_experiment(const ExperimentConfig& config, const RunnerOptions& options) {
  const auto started = Clock::now();
  validate(config);
  const std::vector<ArmSpec> arms = arms_of(config);
  const auto& seeds = config.experiment.seeds;
  std::set<std::string> only;
  for (const auto& id : options.only)
    only.insert(parse_run_id(config, id).id());
  require(!(options.assemble && !only.empty()), "--assemble and --only cannot be combined");
  std::vector<std::string> missing;  // --assemble: runs without results

  // Every input check comes before anything is written or trained.
  check_arm_weights(config, arms);
  sarseg::log::info("experiment: reading or generating the scenes");
  const train::SceneSplits scenes = load_scenes(config.train, config.synth);
  check_test_scenes(config, scenes);
  std::vector<TestDomain> domains = load_test_domains(config);
  const bool has_ssl_arm = std::any_of(arms.begin(), arms.end(), is_ssl_arm);
  std::vector<io::Scene> pretrain_scenes;  // without labels (experiment/ssl.h)
  if (has_ssl_arm && !options.assemble) {
    pretrain_scenes = pretraining_scenes(config.train, config.synth, config.ssl, &scenes.train);
    check_ssl_arm(config, pretrain_scenes);
  }
  const fs::path out_dir = options.out_dir;
  ensure_output_directory(out_dir);
  check_or_record_config(config, out_dir);

  Context ctx{config, scenes, train::tasks_of(config.train), {}, {}, out_dir, std::move(domains)};
  const data::TaskSpec& first_task = ctx.tasks.front();
  ctx.palette = io::palette_for_label(first_task.label, static_cast<int>(first_task.classes));
  const std::vector<Quicklook> quicklook_entries = draw_quicklook_scenes(ctx, seeds.front());
  ExperimentSummary summary = summary_header(ctx, options, arms);

  // The ssl arm's encoder, pretrained once before the first run (experiment/ssl.h); its runs
  // start from that file.
  std::vector<ArmSpec> run_arms = arms;
  if (has_ssl_arm) {
    const auto is_ssl_run = [&](const std::string& id) {
      const std::string arm_name = parse_run_id(config, id).arm;
      return std::any_of(arms.begin(), arms.end(),
                         [&](const ArmSpec& a) { return a.name == arm_name && is_ssl_arm(a); });
    };
    const bool ssl_runs_here =
        !options.assemble && (only.empty() || std::any_of(only.begin(), only.end(), is_ssl_run));
    const auto pretraining =
        experiment_pretraining(config, pretrain_scenes, out_dir, ssl_runs_here);
    if (pretraining) {
      summary.pretraining = pretraining_record(*pretraining, out_dir);
      for (auto& arm : run_arms)
        if (is_ssl_arm(arm)) arm.init = pretraining->weights.string();
    }
  }

  ExperimentOutcome outcome;
  const std::vector<PlannedRun> planned = plan_runs(config);
  const int64_t total_runs = static_cast<int64_t>(planned.size());
  int64_t run_number = 0;
  double trained_seconds = 0;
  int64_t trained_runs = 0;
  // Seed-major order: each finished seed adds a complete pair to the comparison.
  for (const PlannedRun& planned_run : planned) {
    const int64_t seed = planned_run.seed;
    const double fraction = planned_run.label_fraction;
    const std::string& filter = planned_run.speckle_filter;
    const ArmSpec& arm = *std::find_if(run_arms.begin(), run_arms.end(),
                                       [&](const ArmSpec& a) { return a.name == planned_run.arm; });
    auto& results = fraction == 1.0 ? summary.runs : summary.fraction_runs;
    {
      ++run_number;
      const fs::path run_dir = speckle_run_directory(out_dir, arm.name, seed, filter, fraction);
      const fs::path result_file = run_dir / "result.json";
      const std::string label =
          "run " + std::to_string(run_number) + "/" + std::to_string(total_runs) + " (" + arm.name +
          ", seed " + std::to_string(seed) +
          (fraction == 1.0 ? "" : ", " + fraction_text(fraction) + " of the labels") +
          (filter == "none" ? "" : ", speckle filter " + filter) + ")";
      const std::string id = planned_run.id();
      if (!only.empty() && !only.count(id)) {
        ++outcome.runs_skipped;
        continue;
      }
      if (fs::exists(result_file)) {
        RunResult run = nlohmann::json::parse(read_file(result_file)).get<RunResult>();
        sarseg::log::info("experiment: {} finished earlier, results kept from {}", label,
                          result_file.string());
        results.push_back(std::move(run));
        ++outcome.runs_reused;
        continue;
      }
      if (options.assemble) {
        missing.push_back(id);
        continue;
      }
      std::string holder;
      const std::optional<RunClaim> claim = RunClaim::try_claim(run_dir, &holder);
      if (!claim) {
        require(only.empty(), "run " + id + " is being trained by another worker (" + holder +
                                  ", " + RunClaim::path_in(run_dir).string() +
                                  "); if that worker is gone, delete the file and run again");
        sarseg::log::info("experiment: {} is claimed by another worker ({}); skipped", label,
                          holder);
        ++outcome.runs_skipped;
        continue;
      }
      // A worker that lost the race for the claim to one that has finished since.
      if (fs::exists(result_file)) {
        results.push_back(nlohmann::json::parse(read_file(result_file)).get<RunResult>());
        ++outcome.runs_reused;
        continue;
      }
      const auto run_started = Clock::now();
      std::optional<train::SceneSplits> share;
      if (fraction != 1.0) share.emplace(labelled_share(scenes, fraction, seed));
      const train::TrainResult trained = train_or_resume(ctx, share ? *share : scenes, arm, seed,
                                                         filter, run_dir, label, options, outcome);
      double eval_seconds = 0;
      RunResult run =
          run_result_of(ctx, trained, arm, seed, fraction, filter, run_dir, eval_seconds);
      write_file_atomically(result_file, nlohmann::json(run).dump(1) + "\n");

      trained_seconds += seconds_since(run_started);
      ++trained_runs;
      const int64_t remaining = total_runs - run_number;
      const double eta = remaining * trained_seconds / static_cast<double>(trained_runs);
      std::string scores;
      if (const Evaluation* last = run.find("last"))
        for (const auto& m : last->seasons)
          scores += " " + m.season + " wF1 " + fixed_text(m.weighted_f1);
      sarseg::log::info(
          "experiment: {} done: {} epochs ({}; {}), best val loss at epoch {}, test (last){}; "
          "evaluation {:.1f} s; elapsed {}, about {} left",
          label, run.curve.size(), run.stop_reason, run.convergence, run.best_epoch, scores,
          eval_seconds, clock_text(seconds_since(started)), clock_text(eta));
      results.push_back(std::move(run));
      if (options.write_report)
        write_summary(summary, quicklook_entries, ctx, seeds.front());  // a partial report
    }
  }
  require(missing.empty(), "--assemble: " + std::to_string(missing.size()) + " of " +
                               std::to_string(total_runs) + " runs have no result.json in " +
                               out_dir.string() + " yet (" + join(missing, ", ") +
                               "); run them first (sarseg experiment --plan lists the commands)");
  if (options.write_report)
    outcome.report = write_summary(summary, quicklook_entries, ctx, seeds.front());
  outcome.summary = summary;
  outcome.wall_seconds = seconds_since(started);
  return outcome;
}

}  // namespace sarseg::experiment
