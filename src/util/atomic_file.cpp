#include "sarseg/util/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "sarseg/util/error.h"

namespace fs = std::filesystem;

namespace sarseg {
namespace {

std::atomic<unsigned> temp_counter{0};

// 0, or the errno of a failed fsync (a full disk can surface only here, on delayed allocation).
int fsync_path(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return 0;
  const int error = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return error;
}

}  // namespace

AtomicOutput::AtomicOutput(fs::path target) : target_(std::move(target)) {
  fs::path dir = target_.parent_path();
  if (dir.empty()) dir = ".";
  require(fs::is_directory(dir), "cannot write '" + target_.string() + "': directory '" +
                                     dir.string() + "' does not exist; create it first");
  require(::access(dir.c_str(), W_OK) == 0, "cannot write '" + target_.string() + "': directory '" +
                                                dir.string() +
                                                "' is not writable; choose another output path");
  temp_ = dir / ("." + target_.filename().string() + ".tmp" + std::to_string(::getpid()) + "_" +
                 std::to_string(temp_counter++));
}

AtomicOutput::~AtomicOutput() {
  if (!committed_) {
    std::error_code ignored;
    fs::remove(temp_, ignored);
  }
}

void AtomicOutput::commit() {
  require(fs::exists(temp_), "internal: nothing was written for '" + target_.string() + "'");
  if (const int error = fsync_path(temp_))
    throw UserError("cannot write '" + target_.string() + "': " + std::strerror(error));
  std::error_code error;
  fs::rename(temp_, target_, error);
  if (error) {
    throw UserError("cannot write '" + target_.string() + "': " + error.message());
  }
  committed_ = true;
  fs::path dir = target_.parent_path();
  fsync_path(dir.empty() ? fs::path(".") : dir);
}

void write_file_atomically(const fs::path& path, std::string_view bytes) {
  AtomicOutput output(path);
  {
    std::ofstream stream(output.temp_path(), std::ios::binary | std::ios::trunc);
    require(static_cast<bool>(stream),
            "cannot write '" + path.string() + "': " + std::strerror(errno));
    stream.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    stream.close();  // the last buffered bytes reach the disk (or fail on a full one) here
    require(static_cast<bool>(stream),
            "cannot write '" + path.string() + "': write failed (" + std::strerror(errno) + ")");
  }
  output.commit();
}

std::string read_file(const fs::path& path) {
  std::ifstream stream(path, std::ios::binary);
  require(static_cast<bool>(stream) && !fs::is_directory(path),
          "cannot read '" + path.string() +
              "': " + (fs::exists(path) ? "not a readable file" : "no such file"));
  std::ostringstream buffer;
  buffer << stream.rdbuf();
  return buffer.str();
}

void ensure_output_directory(const fs::path& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  require(!error && fs::is_directory(dir),
          "cannot use output directory '" + dir.string() +
              "': " + (error ? error.message() : std::string("not a directory")));
  require(::access(dir.c_str(), W_OK) == 0,
          "output directory '" + dir.string() + "' is not writable; choose another --out");
}

}  // namespace sarseg
