#include "sarseg/util/torch_runtime.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
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

bool cpu_has_native_bf16() {
  static const bool has = [] {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line)) {
      if (line.rfind("flags", 0) != 0) continue;
      const auto flags = " " + line.substr(line.find(':') + 1) + " ";
      return flags.find(" avx512_bf16 ") != std::string::npos ||
             flags.find(" amx_bf16 ") != std::string::npos;
    }
    return false;
  }();
  return has;
}

AutoArithmetic auto_arithmetic(const std::string& device) {
  AutoArithmetic a;
  if (device.rfind("cuda", 0) == 0) {
    a.bf16 = a.channels_last = true;
    a.reason = "GPU";
  } else if (cpu_has_native_bf16()) {
    a.bf16 = a.channels_last = true;
    a.reason = "the CPU has avx512_bf16/amx_bf16";
  } else {
    a.reason = "the CPU has no native bf16 (avx512_bf16/amx_bf16)";
  }
  return a;
}

std::string torch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

}  // namespace sarseg
