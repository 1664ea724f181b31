// PyTorch .pth: the zip layout (data.pkl, data/<key>, version, byteorder) and, through it, the
// unpickler and the storages it describes.
#include "fuzz_support.h"
#include "sarseg/weights/state_dict.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const sarseg::fuzz::MemFile file(data, size);
  sarseg::fuzz::refusals_only([&] { sarseg::weights::read_pth(file.path()); });
  return 0;
}
