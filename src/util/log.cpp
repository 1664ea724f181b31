#include "sarseg/util/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iomanip>
#include <sstream>

#include "sarseg/util/error.h"

namespace sarseg::log {
namespace {

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::trace:
      return spdlog::level::trace;
    case Level::debug:
      return spdlog::level::debug;
    case Level::info:
      return spdlog::level::info;
    case Level::warn:
      return spdlog::level::warn;
    case Level::error:
      return spdlog::level::err;
    case Level::off:
      break;
  }
  return spdlog::level::off;
}

// Applies a placeholder's spec (the text between ':' and '}', e.g. ".4f") to `out`.
void apply_spec(std::string_view spec, std::ostream& out) {
  if (spec.size() < 2 || spec.front() != '.') return;
  const char style = spec.back();
  int digits = 0;
  for (char c : spec.substr(1, spec.size() - 2)) {
    if (c < '0' || c > '9') return;
    digits = digits * 10 + (c - '0');
  }
  if (style == 'f') out << std::fixed << std::setprecision(digits);
  if (style == 'g') out << std::defaultfloat << std::setprecision(digits == 0 ? 1 : digits);
}

}  // namespace

void init(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("sarseg");
  logger->set_pattern("%^[%H:%M:%S %l]%$ %v");
  const auto parsed = spdlog::level::from_str(level);
  require(
      parsed != spdlog::level::off || level == "off",
      "--log-level: '" + level + "' is not a level; use trace, debug, info, warn, error or off");
  logger->set_level(parsed);
  spdlog::set_default_logger(logger);
}

bool enabled(Level level) {
  return spdlog::default_logger_raw()->should_log(to_spdlog(level));
}

void write(Level level, const std::string& message) {
  spdlog::default_logger_raw()->log(to_spdlog(level), "{}", message);
}

std::string format(std::string_view pattern, std::initializer_list<Argument> arguments) {
  std::string result;
  auto next = arguments.begin();
  size_t position = 0;
  while (position < pattern.size()) {
    const size_t open = pattern.find('{', position);
    const size_t close = open == std::string_view::npos ? open : pattern.find('}', open);
    if (close == std::string_view::npos) break;
    result.append(pattern.substr(position, open - position));
    const auto spec = pattern.substr(open + 1, close - open - 1);
    if (next == arguments.end() || (!spec.empty() && spec.front() != ':')) {
      result.append(pattern.substr(open, close - open + 1));  // not a placeholder we fill
    } else {
      std::ostringstream out;
      if (!spec.empty()) apply_spec(spec.substr(1), out);
      next->print(out);
      result += out.str();
      ++next;
    }
    position = close + 1;
  }
  if (position < pattern.size()) result.append(pattern.substr(position));
  return result;
}

}  // namespace sarseg::log
