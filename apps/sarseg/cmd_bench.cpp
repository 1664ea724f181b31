// `sarseg bench`: the parent of the benchmark subcommands (model, peak, train, predict, compare),
// each registered in its own file through bench_command().
#include "commands.h"

namespace sarseg::cli {

CLI::App& bench_command(CLI::App& root) {
  for (auto* existing :
       root.get_subcommands([](CLI::App* app) { return app->get_name() == "bench"; })) {
    return *existing;
  }
  auto* bench = root.add_subcommand("bench", "measure throughput, FLOP/s and memory");
  bench->require_subcommand(1);
  return *bench;
}

namespace {
const CommandRegistration kRegistration{90, "bench", [](CLI::App& root) { bench_command(root); }};
}  // namespace

}  // namespace sarseg::cli
