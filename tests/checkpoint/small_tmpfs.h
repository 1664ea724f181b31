// A small tmpfs mounted by a test (root or CAP_SYS_ADMIN; the test skips itself otherwise), for
// writing onto a full filesystem.
#pragma once

#include <gtest/gtest.h>
#include <sys/mount.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace sarseg::testing {

// A tmpfs of `kib` KiB on a fresh directory, unmounted when the object dies.
class SmallTmpfs {
 public:
  explicit SmallTmpfs(size_t kib) : dir_(scratch_ / "fs") {
    std::filesystem::create_directories(dir_);
    const std::string options = "size=" + std::to_string(kib) + "k";
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, options.c_str()) == 0)
      mounted_ = true;
    else
      why_ = std::strerror(errno);
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& why() const { return why_; }
  const std::filesystem::path& dir() const { return dir_; }

  // Fills the filesystem with one file until a write fails (ENOSPC).
  void fill() const {
    std::ofstream filler(dir_ / "filler", std::ios::binary);
    const std::string block(4096, 'x');
    while (filler.write(block.data(), block.size())) {
    }
  }

  // Names in the directory other than `keep` (temporaries or partial files left behind).
  std::vector<std::string> strays(const std::vector<std::string>& keep) const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_)) {
      if (entry.is_directory()) continue;
      const auto name = std::filesystem::relative(entry.path(), dir_).string();
      if (name != "filler" && std::find(keep.begin(), keep.end(), name) == keep.end())
        names.push_back(name);
    }
    return names;
  }

 private:
  sarseg::testing::TempDir scratch_;
  std::filesystem::path dir_;
  bool mounted_ = false;
  std::string why_;
};

#define SKIP_UNLESS_MOUNTED(tmpfs)                                     \
  if (!(tmpfs).mounted())                                              \
  GTEST_SKIP() << "cannot mount a small tmpfs here (" << (tmpfs).why() \
               << "): the disk-full tests need root or CAP_SYS_ADMIN"

}  // namespace sarseg::testing
