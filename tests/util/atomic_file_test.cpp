#include "sarseg/util/atomic_file.h"

#include <gtest/gtest.h>

#include <fstream>

#include "sarseg/util/error.h"
#include "support/test_support.h"

namespace sarseg {

TEST(AtomicFile, WritesAndLeavesNoTemporary) {
  testing::TempDir dir;
  write_file_atomically(dir / "a.txt", "hello");
  EXPECT_EQ(read_file(dir / "a.txt"), "hello");
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path()))
    ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(AtomicFile, AbandonedOutputLeavesNothing) {
  testing::TempDir dir;
  {
    AtomicOutput output(dir / "b.bin");
    std::ofstream(output.temp_path()) << "partial";
    // no commit: as if an exception left the writer
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(AtomicFile, MissingDirectoryIsAUserError) {
  testing::TempDir dir;
  EXPECT_THROW(write_file_atomically(dir / "nope" / "c.txt", "x"), UserError);
  EXPECT_THROW(read_file(dir / "missing"), UserError);
}

}  // namespace sarseg
