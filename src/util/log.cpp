#include "sarseg/util/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include "sarseg/util/error.h"

namespace sarseg::log {

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

}  // namespace sarseg::log
