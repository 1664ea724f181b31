// Logging to stderr (spdlog underneath, kept inside log.cpp).
//
//   log::info("epoch {}/{}: loss {:.4f}", epoch, epochs, loss);
//
// Placeholders are "{}" and "{:.Nf}" / "{:.Ng}" (fixed / general, N digits). spdlog and fmt stay
// out of this header on purpose: LibTorch 2.x puts its own, newer fmt on the include path of every
// file that uses torch, and Debian's spdlog does not compile against it.
#pragma once

#include <functional>
#include <initializer_list>
#include <ostream>
#include <string>
#include <string_view>

namespace sarseg::log {

enum class Level { trace, debug, info, warn, error, off };

// Sets up the default logger; `level` is one of trace, debug, info, warn, error, off.
void init(const std::string& level);

bool enabled(Level level);
void write(Level level, const std::string& message);

// One argument of a message: how to print it (valid for the duration of the call only).
class Argument {
 public:
  template <typename T>
  Argument(const T& value)  // NOLINT(google-explicit-constructor): built from the call's arguments
      : print_([&value](std::ostream& out) { out << value; }) {}
  void print(std::ostream& out) const { print_(out); }

 private:
  std::function<void(std::ostream&)> print_;
};

// `pattern` with its placeholders replaced by `arguments`, in order.
std::string format(std::string_view pattern, std::initializer_list<Argument> arguments);

template <typename... Args>
void message(Level level, std::string_view pattern, const Args&... args) {
  if (enabled(level)) write(level, format(pattern, {Argument(args)...}));
}
template <typename... Args>
void debug(std::string_view pattern, const Args&... args) {
  message(Level::debug, pattern, args...);
}
template <typename... Args>
void info(std::string_view pattern, const Args&... args) {
  message(Level::info, pattern, args...);
}
template <typename... Args>
void warn(std::string_view pattern, const Args&... args) {
  message(Level::warn, pattern, args...);
}

}  // namespace sarseg::log
