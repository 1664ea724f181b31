// FLOP counting through ATen's RecordFunction callbacks (present in LibTorch 1.13 and 2.x).
#include "sarseg/models/flop_counter.h"

#include <ATen/record_function.h>
#include <torch/torch.h>

#include <cstring>
#include <mutex>

namespace sarseg::models {
namespace {

std::mutex counter_mutex;
FlopCount* active_count = nullptr;

std::vector<int64_t> shape_of(const c10::IValue& value) {
  if (!value.isTensor()) return {};
  const auto sizes = value.toTensor().sizes();
  return {sizes.begin(), sizes.end()};
}

std::vector<int64_t> int_list(const c10::IValue& value) {
  if (!value.isIntList()) return {};
  const auto list = value.toIntList();
  return {list.begin(), list.end()};
}

double product(const std::vector<int64_t>& values, size_t from = 0) {
  double result = 1.0;
  for (size_t i = from; i < values.size(); ++i)
    result *= static_cast<double>(values[i]);
  return result;
}

// aten::convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding,
// groups): 2 * N * C_out * prod(out spatial) * (C_in / groups) * prod(kernel).
double convolution_flops(c10::ArrayRef<const c10::IValue> inputs) {
  if (inputs.size() < 9) return 0.0;
  const auto input = shape_of(inputs[0]);
  const auto weight = shape_of(inputs[1]);
  if (input.size() < 3 || weight.size() != input.size()) return 0.0;
  const auto stride = int_list(inputs[3]);
  const auto padding = int_list(inputs[4]);
  const auto dilation = int_list(inputs[5]);
  const bool transposed = inputs[6].isBool() && inputs[6].toBool();
  const size_t spatial = input.size() - 2;
  auto at = [](const std::vector<int64_t>& v, size_t i, int64_t fallback) {
    if (v.empty()) return fallback;
    return v.size() == 1 ? v[0] : v[i];
  };
  // Each output position of a (non-transposed) conv costs one kernel's worth of multiply-adds;
  // a transposed conv does the same work per input position.
  double positions = 1.0;
  for (size_t d = 0; d < spatial; ++d) {
    const int64_t in = input[2 + d];
    if (transposed) {
      positions *= static_cast<double>(in);
    } else {
      const int64_t kernel = weight[2 + d];
      const int64_t out =
          (in + 2 * at(padding, d, 0) - at(dilation, d, 1) * (kernel - 1) - 1) / at(stride, d, 1) +
          1;
      positions *= static_cast<double>(out);
    }
  }
  // weight: [C_out, C_in/groups, k...] (transposed: [C_in, C_out/groups, k...]); the product of
  // all weight dims is the multiply-adds per position per image.
  return 2.0 * static_cast<double>(input[0]) * positions * product(weight);
}

double matmul_flops(const char* name, c10::ArrayRef<const c10::IValue> inputs) {
  // addmm(bias, a, b), mm(a, b), bmm(a, b): 2 * prod(a) * b.cols.
  const bool has_bias = std::strcmp(name, "aten::addmm") == 0;
  const size_t first = has_bias ? 1 : 0;
  if (inputs.size() < first + 2) return 0.0;
  const auto a = shape_of(inputs[first]);
  const auto b = shape_of(inputs[first + 1]);
  if (a.size() < 2 || b.size() < 2) return 0.0;
  return 2.0 * product(a) * static_cast<double>(b.back());
}

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  const char* name = fn.name();
  if (!name) return nullptr;
  const bool is_conv = std::strcmp(name, "aten::convolution") == 0;
  const bool is_matmul = std::strcmp(name, "aten::addmm") == 0 ||
                         std::strcmp(name, "aten::mm") == 0 || std::strcmp(name, "aten::bmm") == 0;
  if (!is_conv && !is_matmul) return nullptr;
  std::lock_guard<std::mutex> lock(counter_mutex);
  if (!active_count) return nullptr;
  try {
    if (is_conv) {
      active_count->convolution += convolution_flops(fn.inputs());
      active_count->convolution_calls += 1;
    } else {
      active_count->matmul += matmul_flops(name, fn.inputs());
      active_count->matmul_calls += 1;
    }
  } catch (const c10::Error&) {
    // The op ran without its inputs recorded: say so rather than undercount silently.
    active_count->uncounted_calls += 1;
  }
  return nullptr;
}

}  // namespace

FlopCount count_flops(const std::function<void()>& fn) {
  FlopCount count;
  {
    std::lock_guard<std::mutex> lock(counter_mutex);
    TORCH_CHECK(active_count == nullptr, "count_flops is already running");
    active_count = &count;
  }
  at::RecordFunctionGuard enable_record_function(true);
  // A global callback (a thread-local one did not get its inputs recorded in LibTorch 2.11);
  // the counter only counts while active_count is set.
  const auto handle = at::addGlobalCallback(
      at::RecordFunctionCallback(&on_start).needsInputs(true).scopes({at::RecordScope::FUNCTION}));
  try {
    fn();
  } catch (...) {
    at::removeCallback(handle);
    std::lock_guard<std::mutex> lock(counter_mutex);
    active_count = nullptr;
    throw;
  }
  at::removeCallback(handle);
  std::lock_guard<std::mutex> lock(counter_mutex);
  active_count = nullptr;
  return count;
}

}  // namespace sarseg::models
