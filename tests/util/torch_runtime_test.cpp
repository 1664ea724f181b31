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

}  // namespace
}  // namespace sarseg
