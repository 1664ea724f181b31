// Error types shared by every module.
//
// UserError means the input or the invocation is wrong (exit code 2): its message is one line
// saying what is wrong, where, and what to do. Anything else that escapes is an internal error
// (exit code 1).
#pragma once

#include <stdexcept>
#include <string>

namespace sarseg {

class UserError : public std::runtime_error {
 public:
  explicit UserError(const std::string& message) : std::runtime_error(message) {}
};

// Throws UserError(message) unless `condition` holds.
inline void require(bool condition, const std::string& message) {
  if (!condition) throw UserError(message);
}

}  // namespace sarseg
