#include "support/test_support.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <random>

namespace fs = std::filesystem;

namespace sarseg::testing {

TempDir::TempDir() {
  std::random_device device;
  const auto base = fs::temp_directory_path();
  for (int attempt = 0; attempt < 100; ++attempt) {
    path_ = base / ("sarseg_test_" + std::to_string(device()));
    if (fs::create_directory(path_)) return;
  }
  throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

fs::path shared_dir() {
  if (const char* env = std::getenv("SARSEG_SHARED_DIR")) return env;
  return SARSEG_TEST_SHARED_DIR;
}

std::string sarseg_binary() {
  const char* env = std::getenv("SARSEG_BINARY");
  return env ? env : SARSEG_TEST_BINARY;
}

CommandResult run_sarseg(const std::string& arguments) {
  const std::string command = "'" + sarseg_binary() + "' " + arguments + " 2>&1";
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace sarseg::testing
