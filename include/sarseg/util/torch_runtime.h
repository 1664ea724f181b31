// Torch process settings, kept out of torch headers so that any file may call them.
#pragma once

#include <string>

namespace sarseg {

// Sets torch's intra-op threads; n <= 0 means every core. LibTorch starts with one thread here,
// so the program calls this once at start-up.
void set_torch_threads(int n);
int torch_threads();

// "cpu", "cuda" or "cuda:N" checked against what this build and machine have (UserError if not).
std::string resolve_device_name(const std::string& requested);

// LibTorch version string, e.g. "1.13.1".
std::string torch_version();

}  // namespace sarseg
