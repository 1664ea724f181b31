// Process facts used by benchmarks and progress reports.
#pragma once

#include <cstdint>
#include <string>

namespace sarseg {

// Peak resident set size of this process so far, in bytes (getrusage).
int64_t peak_rss_bytes();
// Current resident set size in bytes (/proc/self/statm).
int64_t current_rss_bytes();
// One line describing the CPU (model name, cores) for benchmark reports.
std::string cpu_description();

}  // namespace sarseg
