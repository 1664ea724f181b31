// Fetching weight files (libcurl; http, https and file URLs) into place atomically, hash checked.
#pragma once

#include <filesystem>
#include <string>

#include "sarseg/weights/weight_sets.h"

namespace sarseg::weights {

// Downloads `url` to `target` through a temporary file beside it. UserError (naming the URL)
// when the build has no libcurl or the transfer fails; `target` is untouched then.
void download_file(const std::string& url, const std::filesystem::path& target);

// As download_file, but the file only replaces `target` when its sha256 matches `set`.
void download_verified(const std::string& url, const std::filesystem::path& target,
                       const WeightSet& set);

}  // namespace sarseg::weights
