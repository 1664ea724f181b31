// Shared by the libFuzzer targets: an input as a file (memfd, for parsers that take a path), and
// the one rule every target checks: bad input may only ever raise sarseg::UserError. Anything
// else (a crash, a sanitizer report, another exception, a hang) is a finding.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sarseg/util/error.h"

namespace sarseg::fuzz {

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The input as an anonymous in-memory file, reachable by path as /proc/self/fd/N.
class MemFile {
 public:
  MemFile(const uint8_t* data, size_t size) : fd_(::memfd_create("sarseg_fuzz", 0)) {
    if (fd_ < 0) std::abort();
    for (size_t done = 0; done < size;) {
      const ssize_t n = ::write(fd_, data + done, size - done);
      if (n <= 0) std::abort();
      done += static_cast<size_t>(n);
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~MemFile() { ::close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  int fd_;
  std::string path_;
};

// Runs `parse`; a UserError (the documented refusal) is fine, everything else escapes.
template <typename Parse>
void refusals_only(Parse&& parse) {
  try {
    parse();
  } catch (const sarseg::UserError&) {
  }
}

}  // namespace sarseg::fuzz
