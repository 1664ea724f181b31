// The SIGRID-3 egg-code decoder (io/chart): one chart record as comma-separated fields
// POLY_TYPE,CT,CA,SA,FA,CB,SB,FB,CC,SC,FC (the order of the attribute table).
#include <vector>

#include "fuzz_support.h"
#include "sarseg/io/chart.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = sarseg::fuzz::as_text(data, size);
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (start <= text.size() && fields.size() < 11) {
    const size_t end = std::min(text.find(',', start), text.size());
    fields.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  fields.resize(11);
  sarseg::io::EggCode code;
  code.poly_type = std::string(fields[0]);
  int* numbers[] = {&code.ct, &code.ca, &code.sa, &code.fa, &code.cb,
                    &code.sb, &code.fb, &code.cc, &code.sc, &code.fc};
  for (size_t i = 0; i < 10; ++i)
    *numbers[i] = sarseg::io::parse_egg_field(fields[i + 1]);
  sarseg::fuzz::refusals_only([&] {
    const auto classes = sarseg::io::egg_code_to_classes(code);
    // Every class is a class of its chart or 255 (docs/formats.md).
    if (!(classes.sic <= 10 || classes.sic == 255) || !(classes.sod <= 5 || classes.sod == 255) ||
        !(classes.floe <= 6 || classes.floe == 255))
      std::abort();
  });
  for (int* number : numbers) {
    sarseg::io::sic_class_of_code(*number);
    sarseg::io::sod_class_of_code(*number);
    sarseg::io::floe_class_of_code(*number);
  }
  return 0;
}
