// Torch process settings, kept out of torch headers so that any file may call them.
#pragma once

#include <string>

namespace sarseg {

// Sets torch's intra-op threads; n <= 0 means every core. LibTorch starts with one thread here,
// so the program calls this once at start-up.
void set_torch_threads(int n);
int torch_threads();

// Lets the C library keep freed memory for reuse instead of returning it to the system (glibc:
// blocks up to 32 MiB from the heap, the heap trimmed only past 2 GiB free). Torch's CPU tensors
// come from malloc, and by default the memory of a training step's large activations went back to
// the system after each step and was faulted in again the next (`bench model` of the paper's model,
// 12 training steps and 12 forwards: 186 000-203 000 page faults, 80 000 with reuse; 5-9 % of the
// bf16 step's time on an AMX CPU). Peak memory is unchanged;
// memory freed after the peak stays with the process. Left alone when GLIBC_TUNABLES sets malloc
// options. The program calls this once at start-up.
void keep_freed_blocks_for_reuse();

// "cpu", "cuda" or "cuda:N" checked against what this build and machine have (UserError if not).
std::string resolve_device_name(const std::string& requested);

// True when the CPU has native bf16 arithmetic (avx512_bf16 or amx_bf16 in /proc/cpuinfo).
bool cpu_has_native_bf16();

// What `precision: auto` runs on `device` ("cpu", "cuda", "cuda:N"): bf16 with channels-last
// where the device has bf16 units (a GPU; a CPU with avx512_bf16 / amx_bf16, where oneDNN's AMX
// convolutions want NHWC), fp32 elsewhere (emulated bf16 is slower than fp32). `reason` says why.
struct AutoArithmetic {
  bool bf16 = false;
  bool channels_last = false;
  std::string reason;
};
AutoArithmetic auto_arithmetic(const std::string& device);

// LibTorch version string, e.g. "1.13.1".
std::string torch_version();

}  // namespace sarseg
