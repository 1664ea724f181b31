// Helpers for the hand-written CPU loops (fused BatchNorm, the loss): bf16 bit
// conversions and the attribute that compiles a loop for AVX-512 and AVX2 as well as the baseline,
// picked at run time from the CPU's flags.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SARSEG_CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define SARSEG_CPU_CLONES
#endif

namespace sarseg::util {

inline float bf16_to_float(uint16_t bits) {
  const uint32_t widened = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &widened, sizeof value);
  return value;
}

// Round to nearest even, as torch's conversion does (finite values).
inline uint16_t float_to_bf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return static_cast<uint16_t>((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

}  // namespace sarseg::util
