// Logging: spdlog to stderr. Modules log through spdlog's default logger.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace sarseg::log {

// Sets up the default logger; `level` is one of trace, debug, info, warn, error, off.
void init(const std::string& level);

}  // namespace sarseg::log
