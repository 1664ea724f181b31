#include "sarseg/util/torch_runtime.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>
#include <cstring>

namespace sarseg {
namespace {

long minor_page_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// Keeps the compiler from dropping a malloc, memset and free that nothing reads.
void* volatile escaped = nullptr;

// A training step's activations: six 16 MiB blocks allocated and written, then all freed, again
// and again. By default glibc returns the freed top of its heap to the system once it exceeds
// twice the (dynamic) mmap threshold, and every step faults its pages in again (24 576 here);
// kept for reuse, only the first step does.
TEST(TorchRuntime, FreedLargeBlocksAreReusedWithoutPageFaults) {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables != nullptr && std::strstr(tunables, "glibc.malloc.") != nullptr)
    GTEST_SKIP() << "GLIBC_TUNABLES sets malloc options, which the program then leaves alone";
  keep_freed_blocks_for_reuse();
  constexpr size_t kBytes = size_t{16} << 20;
  constexpr int kBlocks = 6;
  const auto one_step = [] {
    void* blocks[kBlocks];
    for (auto& block : blocks) {
      block = std::malloc(kBytes);
      ASSERT_NE(block, nullptr);
      std::memset(block, 1, kBytes);
      escaped = block;
    }
    for (auto* block : blocks)
      std::free(block);
  };
  one_step();  // the first step maps the memory
  const long before = minor_page_faults();
  for (int i = 0; i < 4; ++i)
    one_step();
  EXPECT_LT(minor_page_faults() - before, 500);
}

// The bf16 units come from the cpuinfo flags as whole words; AMX outranks avx512_bf16.
TEST(CpuBf16Units, ReadFromTheFlagsLine) {
  EXPECT_EQ(cpu_bf16_units_from_cpuinfo("processor\t: 0\nflags\t\t: fpu avx2 avx512f\n"),
            CpuBf16::kNone);
  EXPECT_EQ(cpu_bf16_units_from_cpuinfo("flags\t\t: fpu avx512f avx512_bf16 avx512_fp16\n"),
            CpuBf16::kVector);
  EXPECT_EQ(cpu_bf16_units_from_cpuinfo("flags : avx512_bf16 amx_bf16 amx_tile amx_int8\n"),
            CpuBf16::kMatrix);
  EXPECT_EQ(cpu_bf16_units_from_cpuinfo("flags : avx512_bf16x amx_bf16y\n"), CpuBf16::kNone);
  EXPECT_EQ(cpu_bf16_units_from_cpuinfo("model name : avx512_bf16\n"), CpuBf16::kNone);
  EXPECT_EQ(cpu_bf16_units_from_cpuinfo(""), CpuBf16::kNone);
}

// precision auto: bf16 only where it was measured faster than fp32 (a GPU, AMX); a CPU with
// avx512_bf16 alone keeps fp32 with its fast layout; the reason names the case.
TEST(AutoArithmetic, Bf16OnGpusAndAmxAndFp32ChannelsLastOnAvx512Bf16) {
  const auto gpu = auto_arithmetic_for("cuda:0", CpuBf16::kNone);
  EXPECT_TRUE(gpu.bf16 && gpu.channels_last && gpu.fold_batchnorm);
  EXPECT_EQ(gpu.reason, "GPU");
  const auto amx = auto_arithmetic_for("cpu", CpuBf16::kMatrix);
  EXPECT_TRUE(amx.bf16 && amx.channels_last && amx.fold_batchnorm);
  EXPECT_NE(amx.reason.find("AMX"), std::string::npos) << amx.reason;
  const auto vector = auto_arithmetic_for("cpu", CpuBf16::kVector);
  EXPECT_FALSE(vector.bf16);
  EXPECT_TRUE(vector.channels_last && vector.fold_batchnorm);
  EXPECT_NE(vector.reason.find("no AMX"), std::string::npos) << vector.reason;
  const auto none = auto_arithmetic_for("cpu", CpuBf16::kNone);
  EXPECT_FALSE(none.bf16 || none.channels_last || none.fold_batchnorm);
  EXPECT_NE(none.reason.find("no native bf16"), std::string::npos) << none.reason;
  EXPECT_EQ(auto_arithmetic("cpu").bf16, cpu_bf16_units() == CpuBf16::kMatrix);
}

}  // namespace
}  // namespace sarseg
