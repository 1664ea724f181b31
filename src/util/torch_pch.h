// Precompiled header shared by every module that uses torch.
#pragma once
#include <torch/torch.h>

// LibTorch 2.x puts its own fmt on the include path; spdlog built against Debian's fmt then fails
// to compile. Logging goes through sarseg/util/log.h, which keeps spdlog inside sarseg_util.
#if defined(SPDLOG_FMT_EXTERNAL) || defined(SPDLOG_COMPILED_LIB)
#error "spdlog's usage requirements reached a torch translation unit: link spdlog PRIVATE only"
#endif
