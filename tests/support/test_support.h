// Test helpers: scratch directories, paths of the shared reference data, running the binary.
#pragma once

#include <filesystem>
#include <string>

namespace sarseg::testing {

// A fresh directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// ../shared beside the repository (read-only).
std::filesystem::path shared_dir();

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Path of the built `sarseg` binary (SARSEG_BINARY, else the one this build made).
std::string sarseg_binary();

// Runs the built `sarseg` binary with `arguments` (a shell-quoted string) and captures output.
CommandResult run_sarseg(const std::string& arguments);

}  // namespace sarseg::testing
