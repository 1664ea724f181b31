// sarseg: one binary, one subcommand per task. Exit codes: 0 success, 2 bad input or usage
// (one line: what, where, what to do), 1 internal error or a failed peer process.
#include <c10/util/Exception.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>

#include "commands.h"
#include "sarseg/build_config.h"
#include "sarseg/train/distributed.h"
#include "sarseg/util/error.h"
#include "sarseg/util/log.h"
#include "sarseg/util/torch_runtime.h"

namespace {

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

std::string version_text() {
  std::string text = std::string("sarseg ") + SARSEG_VERSION + " (LibTorch " +
                     sarseg::torch_version() + ", GDAL " + (SARSEG_HAVE_GDAL ? "on" : "off") +
                     ", netCDF " + (SARSEG_HAVE_NETCDF ? "on" : "off") + ")";
  return text;
}

}  // namespace

namespace sarseg::cli {
std::vector<CommandEntry>& command_registry() {
  static std::vector<CommandEntry> registry;
  return registry;
}
}  // namespace sarseg::cli

int main(int argc, char** argv) {
  sarseg::keep_freed_blocks_for_reuse();
  CLI::App app{"sarseg: deep-learning segmentation of SAR sea-ice imagery (Sentinel-1)", "sarseg"};
  app.option_defaults()->always_capture_default();
  app.set_version_flag("--version", version_text());
  app.require_subcommand(1);
  app.fallthrough();

  std::string log_level = "info";
  int threads = 0;
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off");
  app.add_option("--threads", threads, "torch intra-op threads (0 = every core)");

  auto& commands = sarseg::cli::command_registry();
  std::stable_sort(commands.begin(), commands.end(),
                   [](const auto& a, const auto& b) { return a.order < b.order; });
  for (const auto& command : commands)
    command.add(app);
  // Settings that every subcommand relies on are applied before any subcommand callback runs.
  app.parse_complete_callback([&] {
    sarseg::log::init(log_level);
    sarseg::set_torch_threads(threads);
  });

  try {
    app.parse(argc, argv);
    return 0;
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "sarseg: error: %s (see 'sarseg --help')\n", first_line(e.what()).c_str());
    return 2;
  } catch (const sarseg::UserError& e) {
    std::fprintf(stderr, "sarseg: error: %s\n", first_line(e.what()).c_str());
    return 2;
  } catch (const sarseg::train::DistributedError& e) {
    // A peer process of a data-parallel job failed: not this process's input, not a bug here.
    std::fprintf(stderr, "sarseg: error: %s\n", first_line(e.what()).c_str());
    return 1;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "sarseg: internal error (torch): %s\n",
                 first_line(e.what_without_backtrace()).c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sarseg: internal error: %s\n", first_line(e.what()).c_str());
    return 1;
  }
}
