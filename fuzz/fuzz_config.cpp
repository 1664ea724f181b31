// The YAML config reader and the --set parser (util/config): flatten_yaml on the whole input and
// parse_assignment on each line, then every typed value parser on every value found.
#include <vector>

#include "fuzz_support.h"
#include "sarseg/util/config.h"

namespace {

// The value parsed as a T: only a refusal (UserError) may come out.
template <typename T>
void parse_as(const std::string& value, const std::string& where) {
  sarseg::fuzz::refusals_only([&] {
    T v;
    sarseg::config::parse_value(value, where, v);
  });
}

void parse_as_every_type(const sarseg::config::Setting& setting) {
  using namespace sarseg::config;
  const std::string where = setting.source + ": " + setting.key;
  parse_as<bool>(setting.value, where);
  parse_as<int>(setting.value, where);
  parse_as<int64_t>(setting.value, where);
  parse_as<uint64_t>(setting.value, where);
  sarseg::fuzz::refusals_only([&] {
    double v;
    parse_value(setting.value, where, v);
    // What the config writer prints must read back.
    double back;
    parse_value(format_value(v), where, back);
  });
  parse_as<std::string>(setting.value, where);
  parse_as<std::vector<int64_t>>(setting.value, where);
  parse_as<std::vector<double>>(setting.value, where);
  parse_as<std::vector<std::string>>(setting.value, where);
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
