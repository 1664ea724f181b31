// `sarseg bench peak`: the best GFLOP/s LibTorch reaches on this machine on large convolutions
// and matrix products (fp32, and bf16 where the hardware has it), with the chosen thread count
// and with one thread: the ceiling that model throughput is compared with.
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "commands.h"
#include "sarseg/bench/peak.h"
#include "sarseg/util/error.h"
#include "sarseg/util/process.h"
#include "sarseg/util/torch_runtime.h"

namespace sarseg::cli {
namespace {

struct PeakCommandOptions {
  std::string device = "cpu";
  std::string dtype = "auto";  // auto: fp32, plus bf16 where the hardware has it
  double seconds = 0.4;
  bool no_single_thread = false;
  bool json = false;
};

std::vector<std::string> dtypes_to_measure(const PeakCommandOptions& options, bool on_cuda,
                                           std::string* bf16_note) {
  std::string reason;
  const bool bf16_native = on_cuda || bench::cpu_has_bf16(&reason);
  *bf16_note = on_cuda ? "bf16 measured on the GPU" : reason;
  if (options.dtype == "fp32") return {"fp32"};
  if (options.dtype == "bf16") {
    require(bf16_native, "--dtype bf16: " + reason + "; use --dtype fp32 or auto");
    return {"bf16"};
  }
  require(options.dtype == "auto",
          "--dtype '" + options.dtype + "' is not known; use auto, fp32 or bf16");
  if (bf16_native) return {"fp32", "bf16"};
  return {"fp32"};
}

void run_peak(const PeakCommandOptions& options) {
  const std::string device = resolve_device_name(options.device);
  const bool on_cuda = device != "cpu";
  require(options.seconds > 0 && options.seconds <= 60,
          "--seconds " + std::to_string(options.seconds) + " is out of range; give 0 < s <= 60");
  std::string bf16_note;
  const auto dtypes = dtypes_to_measure(options, on_cuda, &bf16_note);
  std::vector<int> thread_counts = {torch_threads()};
  if (!on_cuda && !options.no_single_thread && thread_counts.front() != 1)
    thread_counts.push_back(1);

  const std::string machine =
      on_cuda ? device + " (host: " + cpu_description() + ")" : cpu_description();
  if (!options.json) {
    std::printf("machine: %s\nLibTorch %s; %s\n", machine.c_str(), torch_version().c_str(),
                bf16_note.c_str());
    std::printf("%-34s %-5s %7s %12s %12s %5s\n", "shape", "dtype", "threads", "best GFLOP/s",
                "median", "runs");
  }
  nlohmann::json cases = nlohmann::json::array();
  // Best per (dtype, threads).
  std::map<std::pair<std::string, int>, bench::PeakMeasurement> best;
  for (const auto& dtype : dtypes) {
    for (const int threads : thread_counts) {
      for (const auto& shape : bench::default_peak_shapes(device)) {
        bench::PeakOptions peak_options;
        peak_options.device = device;
        peak_options.dtype = dtype;
        peak_options.threads = threads;
        peak_options.seconds = options.seconds;
        const auto m = bench::measure_peak(shape, peak_options);
        if (!options.json) {
          std::printf("%-34s %-5s %7d %12.1f %12.1f %5d\n", shape.name().c_str(), dtype.c_str(),
                      m.threads, m.best_gflops(), m.median_gflops(), m.repeats);
          std::fflush(stdout);
        }
        cases.push_back({{"shape", shape.name()},
                         {"kind", shape.kind},
                         {"dtype", dtype},
                         {"threads", m.threads},
                         {"flops", shape.flops()},
                         {"repeats", m.repeats},
                         {"best_gflops", m.best_gflops()},
                         {"median_gflops", m.median_gflops()}});
        auto& slot = best[{dtype, m.threads}];
        if (slot.repeats == 0 || m.best_gflops() > slot.best_gflops()) slot = m;
      }
    }
  }
  nlohmann::json peaks = nlohmann::json::array();
  for (const auto& [key, m] : best) {
    peaks.push_back({{"dtype", key.first},
                     {"threads", key.second},
                     {"gflops", m.best_gflops()},
                     {"shape", m.shape.name()}});
    if (!options.json)
      std::printf("peak %s, %d thread%s: %.1f GFLOP/s (%s)\n", key.first.c_str(), key.second,
                  key.second == 1 ? "" : "s", m.best_gflops(), m.shape.name().c_str());
  }
  if (options.json) {
    nlohmann::json result = {{"tool", "sarseg"},         {"case", "peak"},
                             {"machine", machine},       {"device", device},
                             {"torch", torch_version()}, {"bf16_note", bf16_note},
                             {"cases", cases},           {"peaks", peaks}};
    std::printf("%s\n", result.dump().c_str());
  }
}

void add_bench_peak_command(CLI::App& root) {
  auto options = std::make_shared<PeakCommandOptions>();
  auto* command = bench_command(root).add_subcommand(
      "peak",
      "best GFLOP/s LibTorch reaches here on large convolutions and matrix products (the "
      "ceiling for model throughput); threads from the global --threads, and 1");
  command->add_option("--device", options->device, "cpu, cuda or cuda:N");
  command->add_option("--dtype", options->dtype,
                      "auto (fp32, plus bf16 where the CPU has avx512_bf16/amx_bf16 or on a GPU), "
                      "fp32 or bf16");
  command->add_option("--seconds", options->seconds, "timed budget per shape after a warm-up run");
  command->add_flag("--no-single-thread", options->no_single_thread,
                    "measure only with the global --threads count, not also with 1 thread");
  command->add_flag("--json", options->json, "print one JSON object instead of the table");
  command->callback([options] { run_peak(*options); });
}

const CommandRegistration kRegistration{95, "bench peak", add_bench_peak_command};

}  // namespace
}  // namespace sarseg::cli
