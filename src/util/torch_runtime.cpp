#include "sarseg/util/torch_runtime.h"

#include <thread>

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

std::string resolve_device_name(const std::string& requested) {
  if (requested == "cpu") return requested;
  if (requested == "auto") return compat::cuda_available() ? "cuda" : "cpu";
  require(requested.rfind("cuda", 0) == 0,
          "device '" + requested + "' is not known; use cpu, cuda, cuda:N or auto");
  require(compat::cuda_available(),
          "device '" + requested + "' requested but this build or machine has no CUDA; use cpu");
  return requested;
}

std::string torch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

}  // namespace sarseg
