// The few places where LibTorch 1.13 (Debian, CPU) and LibTorch 2.x (the torch wheel, CUDA)
// differ. Everything version-dependent goes through here.
#pragma once

#include <ATen/autocast_mode.h>
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

// CPU autocast to `dtype` (bf16) while the guard lives, restoring the previous state after.
// LibTorch 2.4 renamed the per-device calls (is_cpu_enabled -> is_autocast_enabled(kCPU), ...).
class CpuAutocastGuard {
 public:
  explicit CpuAutocastGuard(bool enable, at::ScalarType dtype = at::kBFloat16) : active_(enable) {
    if (!active_) return;
#if SARSEG_TORCH_AT_LEAST(2, 4)
    previous_enabled_ = at::autocast::is_autocast_enabled(at::kCPU);
    previous_dtype_ = at::autocast::get_autocast_dtype(at::kCPU);
    at::autocast::set_autocast_enabled(at::kCPU, true);
    at::autocast::set_autocast_dtype(at::kCPU, dtype);
#else
    previous_enabled_ = at::autocast::is_cpu_enabled();
    previous_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(dtype);
#endif
    at::autocast::increment_nesting();
  }
  ~CpuAutocastGuard() {
    if (!active_) return;
    // Leaving the outermost autocast region drops the cached low-precision weight copies.
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if SARSEG_TORCH_AT_LEAST(2, 4)
    at::autocast::set_autocast_enabled(at::kCPU, previous_enabled_);
    at::autocast::set_autocast_dtype(at::kCPU, previous_dtype_);
#else
    at::autocast::set_cpu_enabled(previous_enabled_);
    at::autocast::set_autocast_cpu_dtype(previous_dtype_);
#endif
  }
  CpuAutocastGuard(const CpuAutocastGuard&) = delete;
  CpuAutocastGuard& operator=(const CpuAutocastGuard&) = delete;

 private:
  bool active_ = false;
  bool previous_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kBFloat16;
};

}  // namespace sarseg::compat
