// Atomic file output: write to a temporary file beside the target, then flush and rename.
//
// A reader never sees a half-written file, and an aborted write (exception, error exit) leaves
// nothing behind: the destructor removes the temporary unless commit() ran.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace sarseg {

class AtomicOutput {
 public:
  // Checks that the target's directory exists and is writable (UserError otherwise).
  explicit AtomicOutput(std::filesystem::path target);
  ~AtomicOutput();
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;

  // Where to write (same directory as the target, so the rename is atomic).
  const std::filesystem::path& temp_path() const { return temp_; }
  const std::filesystem::path& target() const { return target_; }

  // fsyncs the temporary and renames it over the target.
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  bool committed_ = false;
};

// Writes `bytes` to `path` atomically.
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

// Reads a whole file; UserError naming the file when it cannot be read.
std::string read_file(const std::filesystem::path& path);

// Creates `dir` (and parents) or throws UserError saying why it cannot be used for output.
void ensure_output_directory(const std::filesystem::path& dir);

}  // namespace sarseg
