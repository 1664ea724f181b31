// The YAML config reader and the --set parser (util/config): flatten_yaml on the whole input and
// parse_assignment on each line, then every typed value parser on every value found.
#include <vector>

#include "fuzz_support.h"
#include "sarseg/util/config.h"

namespace {

void parse_as_every_type(const sarseg::config::Setting& setting) {
  using sarseg::fuzz::refusals_only;
  using namespace sarseg::config;
  const std::string where = setting.source + ": " + setting.key;
  refusals_only([&] {
    bool v;
    parse_value(setting.value, where, v);
  });
  refusals_only([&] {
    int v;
    parse_value(setting.value, where, v);
  });
  refusals_only([&] {
    int64_t v;
    parse_value(setting.value, where, v);
  });
  refusals_only([&] {
    uint64_t v;
    parse_value(setting.value, where, v);
  });
  refusals_only([&] {
    double v;
    parse_value(setting.value, where, v);
    // What the config writer prints must read back.
    double back;
    parse_value(format_value(v), where, back);
  });
  refusals_only([&] {
    std::string v;
    parse_value(setting.value, where, v);
  });
  refusals_only([&] {
    std::vector<int64_t> v;
    parse_value(setting.value, where, v);
  });
  refusals_only([&] {
    std::vector<double> v;
    parse_value(setting.value, where, v);
  });
  refusals_only([&] {
    std::vector<std::string> v;
    parse_value(setting.value, where, v);
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(sarseg::fuzz::as_text(data, size));
  sarseg::fuzz::refusals_only([&] {
    for (const auto& setting : sarseg::config::flatten_yaml(text, "fuzz.yaml"))
      parse_as_every_type(setting);
  });
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find('\n', start), text.size());
    const std::string line = text.substr(start, end - start);
    sarseg::fuzz::refusals_only(
        [&] { parse_as_every_type(sarseg::config::parse_assignment(line, "--set")); });
    start = end + 1;
  }
  return 0;
}
