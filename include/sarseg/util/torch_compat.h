// The few places where LibTorch 1.13 (Debian, CPU) and LibTorch 2.x (the torch wheel, CUDA)
// differ. Everything version-dependent goes through here.
#pragma once

#include <torch/torch.h>
#include <torch/version.h>

#define SARSEG_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) ||         \
   (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace sarseg::compat {

// True when a CUDA device is usable by this build.
inline bool cuda_available() {
  return torch::cuda::is_available();
}

}  // namespace sarseg::compat
