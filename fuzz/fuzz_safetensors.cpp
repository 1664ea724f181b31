// safetensors: the 8-byte header length, the JSON header, dtypes, shapes and data offsets.
#include "fuzz_support.h"
#include "sarseg/weights/state_dict.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const sarseg::fuzz::MemFile file(data, size);
  sarseg::fuzz::refusals_only([&] { sarseg::weights::read_safetensors(file.path()); });
  return 0;
}
