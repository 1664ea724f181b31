// `sarseg bench model`: forward and forward+backward throughput of one model, with the FLOPs
// counted from the layers that run.
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "commands.h"
#include "sarseg/models/flop_counter.h"
#include "sarseg/models/layers.h"
#include "sarseg/models/model.h"
#include "sarseg/train/config.h"
#include "sarseg/train/losses.h"
#include "sarseg/util/error.h"
#include "sarseg/util/process.h"
#include "sarseg/util/strings.h"
#include "sarseg/util/torch_compat.h"
#include "sarseg/util/torch_runtime.h"

namespace sarseg::cli {
namespace {

struct BenchModelOptions {
  std::string encoder = "resnet18";
  std::string decoder = "deeplabv3";
  int64_t bands = 3;
  int64_t classes = 6;
  std::string size = "256x256";
  int64_t batch = 8;
  int iterations = 5;
  int warmup = 1;
  std::string device = "cpu";
  std::string precision = "fp32";
  bool channels_last = false;
  std::string profile;  // chrome trace of one training step, when set
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Median and fastest of `iterations` timed runs after `warmup` untimed ones.
std::pair<double, double> time_runs(int warmup, int iterations, const std::function<void()>& fn) {
  for (int i = 0; i < warmup; ++i)
    fn();
  std::vector<double> times;
  for (int i = 0; i < iterations; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    times.push_back(seconds_since(start));
  }
  std::sort(times.begin(), times.end());
  return {times[times.size() / 2], times.front()};
}

void run_bench_model(const BenchModelOptions& options) {
  require(options.batch >= 1,
          "--batch must be at least 1 (got " + std::to_string(options.batch) + ")");
  require(options.iterations >= 1,
          "--iterations must be at least 1 (got " + std::to_string(options.iterations) + ")");
  require(options.warmup >= 0, "--warmup must be 0 or more");
  const auto [height, width] = parse_size(options.size, "--size");
  models::ModelSpec spec;
  spec.encoder = options.encoder;
  spec.decoder = options.decoder;
  spec.in_channels = options.bands;
  spec.heads = {models::HeadSpec{"classes", options.classes, false}};
  auto model = models::build_model(spec);
  model->check_input_size(height, width);
  int64_t parameters = 0;
  for (const auto& p : model->parameters())
    parameters += p.numel();

  const torch::Device device(resolve_device_name(options.device));
  // The trainer's resolution of --precision (auto: util/torch_runtime.h auto_arithmetic), so
  // that this step computes what a training run would.
  train::TrainSection section;
  section.precision = options.precision;
  section.channels_last = options.channels_last;
  section.device = device.str();
  const auto arithmetic = train::resolve_train_arithmetic(section);
  model->to(device);
  auto input = torch::randn({options.batch, options.bands, height, width}).to(device);
  if (arithmetic.channels_last) {
    models::convert_to_channels_last(*model);
    input = input.contiguous(torch::MemoryFormat::ChannelsLast);
  }
  const bool bf16 = arithmetic.bf16;
  const auto target =
      torch::randint(0, options.classes, {options.batch, height, width}, torch::kLong).to(device);
  // Reading one value back waits for the device's queued work (a no-op wait on the CPU).
  const auto wait_for_device = [](const torch::Tensor& t) { t.reshape({-1})[0].item<float>(); };

  model->eval();
  models::FlopCount flops;
  {
    torch::NoGradGuard no_grad;
    flops = models::count_flops([&] { model->forward(input.narrow(0, 0, 1)); });
  }
  const double flops_per_image = flops.total();

  const auto [forward_median, forward_best] = time_runs(options.warmup, options.iterations, [&] {
    torch::NoGradGuard no_grad;
    compat::AutocastGuard autocast(bf16, device.type());
    wait_for_device(model->forward(input));
  });
  model->train();
  const auto train_once = [&] {
    model->zero_grad(/*set_to_none=*/true);  // as the trainer does
    torch::Tensor logits;
    {
      compat::AutocastGuard autocast(bf16, device.type());
      logits = model->forward(input);
    }
    // The trainer's loss (fused on the CPU); every target is counted here.
    train::masked_cross_entropy(logits.to(torch::kFloat), target).backward();
    wait_for_device(model->parameters().front().grad());
  };
  const auto [train_median, train_best] = time_runs(options.warmup, options.iterations, train_once);
  if (!options.profile.empty()) {
    torch::autograd::profiler::RecordProfile record(options.profile);
    train_once();
  }

  const double batch = static_cast<double>(options.batch);
  std::printf("machine: %s; torch threads %d; LibTorch %s; device %s\n", cpu_description().c_str(),
              torch_threads(), torch_version().c_str(), device.str().c_str());
  std::printf(
      "model: %s (encoder_depth %lld), %lld bands, %lld classes, %.2fM parameters, "
      "input %lldx%lldx%dx%d\n",
      models::model_label(model->spec()).c_str(),
      static_cast<long long>(model->spec().encoder_depth), static_cast<long long>(options.bands),
      static_cast<long long>(options.classes), static_cast<double>(parameters) / 1e6,
      static_cast<long long>(options.batch), static_cast<long long>(options.bands), height, width);
  std::printf(
      "FLOPs per image (forward; convolutions %.3f + matrix products %.3f, counted from "
      "%lld layers; element-wise ops not counted): %.3f GFLOP\n",
      flops.convolution / 1e9, flops.matmul / 1e9,
      static_cast<long long>(flops.convolution_calls + flops.matmul_calls), flops_per_image / 1e9);
  if (flops.uncounted_calls > 0) {
    std::printf(
        "warning: %lld convolutions/products ran without recorded inputs and are not "
        "counted: the FLOP figures are a lower bound\n",
        static_cast<long long>(flops.uncounted_calls));
  }
  std::printf("precision %s\n", arithmetic.description.c_str());
  std::printf("timing: %d warm-up + %d timed iterations each; median (best)\n", options.warmup,
              options.iterations);
  std::printf("forward (eval, no grad):   %8.1f ms/batch (%.1f)  %8.2f images/s  %8.2f GFLOP/s\n",
              forward_median * 1e3, forward_best * 1e3, batch / forward_median,
              flops_per_image * batch / forward_median / 1e9);
  std::printf(
      "forward+backward (train):  %8.1f ms/batch (%.1f)  %8.2f images/s  %8.2f GFLOP/s "
      "(counted as 3x forward FLOPs)\n",
      train_median * 1e3, train_best * 1e3, batch / train_median,
      3.0 * flops_per_image * batch / train_median / 1e9);
}

void add_bench_model_command(CLI::App& root) {
  auto options = std::make_shared<BenchModelOptions>();
  auto* command = bench_command(root).add_subcommand(
      "model", "forward and forward+backward throughput, FLOPs per image and GFLOP/s of a model");
  command->add_option("--encoder", options->encoder, "encoder (see 'sarseg models')");
  command->add_option("--decoder", options->decoder,
                      "decoder: " + join(models::decoder_names(), ", "));
  command->add_option("--bands", options->bands, "input bands");
  command->add_option("--classes", options->classes, "output classes");
  command->add_option("--size", options->size, "input size HxW (or N for square)");
  command->add_option("--batch", options->batch, "images per batch");
  command->add_option("--iterations", options->iterations, "timed iterations of each pass");
  command->add_option("--warmup", options->warmup, "untimed iterations before timing");
  command->add_option("--device", options->device, "cpu, cuda, cuda:N or auto");
  command
      ->add_option("--precision", options->precision,
                   "fp32, bf16 autocast on the device, or auto (bf16 + channels-last on a GPU or "
                   "an AMX CPU, fp32 + channels-last on a CPU with avx512_bf16 only, else fp32)")
      ->check(CLI::IsMember({"fp32", "bf16", "auto"}));
  command->add_flag("--channels-last", options->channels_last,
                    "NHWC memory layout for weights and activations");
  command->add_option(
      "--profile", options->profile,
      "write the operator trace of one more training step here (chrome trace JSON)");
  command->callback([options] { run_bench_model(*options); });
}

const CommandRegistration kRegistration{91, "bench model", add_bench_model_command};

}  // namespace
}  // namespace sarseg::cli
