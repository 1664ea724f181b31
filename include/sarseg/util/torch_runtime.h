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

// The bf16 arithmetic a CPU has, from the flags of its /proc/cpuinfo: matrix units (amx_bf16),
// vector instructions only (avx512_bf16), or none.
enum class CpuBf16 { kNone, kVector, kMatrix };
CpuBf16 cpu_bf16_units_from_cpuinfo(const std::string& cpuinfo);
CpuBf16 cpu_bf16_units();  // this CPU's

// True when the CPU has native bf16 arithmetic (avx512_bf16 or amx_bf16 in /proc/cpuinfo).
bool cpu_has_native_bf16();

// What `precision: auto` runs on `device` ("cpu", "cuda", "cuda:N"), the fastest path measured on
// each kind (bench/RESULTS.md): bf16 with channels-last and folded BatchNorm on a GPU and on a CPU
// with AMX, whose convolutions want NHWC; on a CPU with avx512_bf16 but no AMX, fp32 with
// channels-last and folded BatchNorm, since oneDNN 2.6's avx512_core_bf16 convolutions are slower
// there than its fp32 ones (92 against 155 GFLOP/s on a 2-core Xeon); plain fp32 elsewhere
// (emulated bf16 is slower than fp32). `fold_batchnorm` is for inference. `reason` says why.
struct AutoArithmetic {
  bool bf16 = false;
  bool channels_last = false;
  bool fold_batchnorm = false;
  std::string reason;
};
AutoArithmetic auto_arithmetic(const std::string& device);
AutoArithmetic auto_arithmetic_for(const std::string& device, CpuBf16 cpu_units);

// LibTorch version string, e.g. "1.13.1".
std::string torch_version();

}  // namespace sarseg
