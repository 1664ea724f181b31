// Replays fuzz/seeds/<target>/* and fuzz/regressions/<target>/* through each fuzz target: they
// must all end in a result or a UserError (the target aborts or throws otherwise).
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace fs = std::filesystem;

#define SARSEG_FUZZ_TARGET(name) extern "C" int name##_one_input(const uint8_t*, size_t);
SARSEG_FUZZ_TARGET(fuzz_safetensors)
SARSEG_FUZZ_TARGET(fuzz_pth)
SARSEG_FUZZ_TARGET(fuzz_unpickler)
SARSEG_FUZZ_TARGET(fuzz_config)
SARSEG_FUZZ_TARGET(fuzz_egg_code)
SARSEG_FUZZ_TARGET(fuzz_ai4arctic_netcdf)
SARSEG_FUZZ_TARGET(fuzz_sentinel1_xml)

namespace {

using Entry = int (*)(const uint8_t*, size_t);

// Replays every input of the target; returns how many there were.
size_t replay(const std::string& target, Entry entry) {
  size_t count = 0;
  for (const char* kind : {"seeds", "regressions"}) {
    const fs::path dir = fs::path(SARSEG_FUZZ_DIR) / kind / target;
    if (!fs::is_directory(dir)) continue;
    for (const auto& file : fs::directory_iterator(dir)) {
      if (!file.is_regular_file() || file.path().filename() == "README.md") continue;
      std::ifstream stream(file.path(), std::ios::binary);
      const std::string bytes{std::istreambuf_iterator<char>(stream), {}};
      SCOPED_TRACE(file.path().string());
      EXPECT_EQ(entry(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), 0);
      ++count;
    }
  }
  return count;
}

}  // namespace

#define SARSEG_REPLAY(name)                                         \
  TEST(FuzzReplay, name) {                                          \
    EXPECT_GT(replay(#name, &name##_one_input), 0u) << "no inputs"; \
  }
SARSEG_REPLAY(fuzz_safetensors)
SARSEG_REPLAY(fuzz_pth)
SARSEG_REPLAY(fuzz_unpickler)
SARSEG_REPLAY(fuzz_config)
SARSEG_REPLAY(fuzz_egg_code)
SARSEG_REPLAY(fuzz_ai4arctic_netcdf)
SARSEG_REPLAY(fuzz_sentinel1_xml)
