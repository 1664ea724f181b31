// `sarseg bench synth`: time to simulate one scene (all bands and labels, in memory), wall clock
// and CPU time on one thread.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "sarseg/synth/synth.h"
#include "sarseg/util/error.h"
#include "sarseg/util/process.h"
#include "sarseg/util/strings.h"

namespace sarseg::cli {
namespace {

struct BenchSynthOptions {
  std::string size = "1000x1000";
  std::string season = "winter";
  double looks = synth::SynthSpec{}.looks;
  int repeat = 5;
  uint64_t seed = 1;
};

void run_bench_synth(const BenchSynthOptions& options) {
  synth::SynthSpec spec;
  const auto [height, width] = parse_size(options.size, "--size");
  spec.height = height;
  spec.width = width;
  spec.season = io::parse_season(options.season);
  spec.looks = options.looks;
  spec.seed = options.seed;
  require(options.repeat >= 1 && options.repeat <= 1000,
          "--repeat " + std::to_string(options.repeat) + " is out of range; use 1..1000");
  synth::validate(spec);

  std::printf("machine: %s\n", cpu_description().c_str());
  std::printf(
      "scene %dx%d %s, looks %.1f: 2 SAR bands + incidence + distance map, 6 label "
      "rasters, one thread\n",
      height, width, io::to_string(spec.season).c_str(), spec.looks);
  std::vector<double> wall_ms, cpu_ms;
  for (int k = 0; k < options.repeat; ++k) {
    const auto member = synth::batch_member(spec, k);
    const std::clock_t cpu_start = std::clock();
    const auto wall_start = std::chrono::steady_clock::now();
    const io::Scene scene = synth::generate_scene(member);
    const auto wall_end = std::chrono::steady_clock::now();
    const std::clock_t cpu_end = std::clock();
    wall_ms.push_back(std::chrono::duration<double, std::milli>(wall_end - wall_start).count());
    cpu_ms.push_back(1000.0 * static_cast<double>(cpu_end - cpu_start) / CLOCKS_PER_SEC);
    std::printf("  %s  %8.1f ms wall  %8.1f ms CPU\n", scene.id.c_str(), wall_ms.back(),
                cpu_ms.back());
  }
  const auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
  };
  const double pixels = static_cast<double>(height) * width;
  std::printf("ms per scene: median %.1f wall (min %.1f), median %.1f CPU; %.2f Mpixel/s\n",
              median(wall_ms), *std::min_element(wall_ms.begin(), wall_ms.end()), median(cpu_ms),
              pixels / 1e3 / median(wall_ms));
}

void add_bench_synth(CLI::App& root) {
  auto options = std::make_shared<BenchSynthOptions>();
  auto* cmd = bench_command(root).add_subcommand(
      "synth", "time the scene simulator (ms per scene, one thread)");
  cmd->add_option("--size", options->size, "scene size HEIGHTxWIDTH");
  cmd->add_option("--season", options->season, "freeze-up, winter or melt");
  cmd->add_option("--looks", options->looks, "equivalent number of looks");
  cmd->add_option("--repeat", options->repeat, "number of scenes timed");
  cmd->add_option("--seed", options->seed, "seed of the first scene");
  cmd->callback([options] { run_bench_synth(*options); });
}

const CommandRegistration kRegistration{92, "bench synth", add_bench_synth};

}  // namespace
}  // namespace sarseg::cli
