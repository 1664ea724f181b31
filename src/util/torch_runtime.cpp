#include "sarseg/util/torch_runtime.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "sarseg/util/error.h"
#include "sarseg/util/torch_compat.h"

namespace sarseg {

void set_torch_threads(int n) {
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(n);
}

int torch_threads() {
  return torch::get_num_threads();
}

void keep_freed_blocks_for_reuse() {
#if defined(__GLIBC__)
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables != nullptr && std::strstr(tunables, "glibc.malloc.") != nullptr) return;
  // 32 MiB is the largest mmap threshold glibc accepts on 64-bit systems.
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
#endif
}

std::string resolve_device_name(const std::string& requested) {
  if (requested == "cpu") return requested;
  if (requested == "auto") return compat::cuda_available() ? "cuda" : "cpu";
  require(requested.rfind("cuda", 0) == 0,
          "device '" + requested + "' is not known; use cpu, cuda, cuda:N or auto");
  require(compat::cuda_available(),
          "device '" + requested + "' requested but this build or machine has no CUDA; use cpu");
  return requested;
}

CpuBf16 cpu_bf16_units_from_cpuinfo(const std::string& cpuinfo) {
  std::istringstream lines(cpuinfo);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("flags", 0) != 0 || line.find(':') == std::string::npos) continue;
    const auto flags = " " + line.substr(line.find(':') + 1) + " ";
    if (flags.find(" amx_bf16 ") != std::string::npos) return CpuBf16::kMatrix;
    if (flags.find(" avx512_bf16 ") != std::string::npos) return CpuBf16::kVector;
    return CpuBf16::kNone;
  }
  return CpuBf16::kNone;
}

CpuBf16 cpu_bf16_units() {
  static const CpuBf16 units = [] {
    std::ifstream file("/proc/cpuinfo");
    std::ostringstream text;
    text << file.rdbuf();
    return cpu_bf16_units_from_cpuinfo(text.str());
  }();
  return units;
}

bool cpu_has_native_bf16() {
  return cpu_bf16_units() != CpuBf16::kNone;
}

AutoArithmetic auto_arithmetic_for(const std::string& device, CpuBf16 cpu_units) {
  AutoArithmetic a;
  if (device.rfind("cuda", 0) == 0) {
    a.bf16 = a.channels_last = a.fold_batchnorm = true;
    a.reason = "GPU";
  } else if (cpu_units == CpuBf16::kMatrix) {
    a.bf16 = a.channels_last = a.fold_batchnorm = true;
    a.reason = "the CPU has AMX (amx_bf16)";
  } else if (cpu_units == CpuBf16::kVector) {
    a.channels_last = a.fold_batchnorm = true;
    a.reason = "the CPU has avx512_bf16 but no AMX, where bf16 convolutions are slower than fp32";
  } else {
    a.reason = "the CPU has no native bf16 (avx512_bf16/amx_bf16)";
  }
  return a;
}

AutoArithmetic auto_arithmetic(const std::string& device) {
  return auto_arithmetic_for(device, cpu_bf16_units());
}

std::string torch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

}  // namespace sarseg
