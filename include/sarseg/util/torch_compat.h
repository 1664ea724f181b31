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

// Whether autocast is on for `device`'s type, and the dtype it computes in there. LibTorch 2.4
// renamed the per-device calls (is_cpu_enabled -> is_autocast_enabled(kCPU), ...).
inline bool autocast_enabled(at::DeviceType device) {
#if SARSEG_TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(device);
#else
  return device == at::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}
inline at::ScalarType autocast_dtype(at::DeviceType device) {
#if SARSEG_TORCH_AT_LEAST(2, 4)
  return at::autocast::get_autocast_dtype(device);
#else
  return device == at::kCUDA ? at::autocast::get_autocast_gpu_dtype()
                             : at::autocast::get_autocast_cpu_dtype();
#endif
}

// Autocast to `dtype` (bf16) on `device`'s type (CPU or CUDA) while the guard lives, restoring
// the previous state after.
class AutocastGuard {
 public:
  AutocastGuard(bool enable, at::DeviceType device, at::ScalarType dtype = at::kBFloat16)
      : active_(enable), device_(device) {
    if (!active_) return;
    previous_enabled_ = autocast_enabled(device_);
    previous_dtype_ = autocast_dtype(device_);
    set(device_, true, dtype);
    at::autocast::increment_nesting();
  }
  ~AutocastGuard() {
    if (!active_) return;
    // Leaving the outermost autocast region drops the cached low-precision weight copies.
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    set(device_, previous_enabled_, previous_dtype_);
  }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  static void set(at::DeviceType device, bool enabled, at::ScalarType dtype) {
#if SARSEG_TORCH_AT_LEAST(2, 4)
    at::autocast::set_autocast_enabled(device, enabled);
    at::autocast::set_autocast_dtype(device, dtype);
#else
    if (device == at::kCUDA) {
      at::autocast::set_enabled(enabled);
      at::autocast::set_autocast_gpu_dtype(dtype);
    } else {
      at::autocast::set_cpu_enabled(enabled);
      at::autocast::set_autocast_cpu_dtype(dtype);
    }
#endif
  }

  bool active_ = false;
  at::DeviceType device_ = at::kCPU;
  bool previous_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kBFloat16;
};

// CPU autocast (inference's --precision bf16).
class CpuAutocastGuard : public AutocastGuard {
 public:
  explicit CpuAutocastGuard(bool enable, at::ScalarType dtype = at::kBFloat16)
      : AutocastGuard(enable, at::kCPU, dtype) {}
};

}  // namespace sarseg::compat
