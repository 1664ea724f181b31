// The strict unpickler on its own (data.pkl of a .pth), storages stood in by zeros.
#include "fuzz_support.h"
#include "unpickler.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto storage = [](const std::string&, torch::ScalarType type, int64_t numel) {
    // read_pth checks numel against the zip entry's size; here nothing backs it, so keep it small.
    sarseg::require(numel >= 0 && numel <= (int64_t{1} << 16), "storage too large for fuzzing");
    return torch::zeros({numel}, torch::TensorOptions().dtype(type));
  };
  sarseg::fuzz::refusals_only([&] {
    sarseg::weights::detail::unpickle_state(sarseg::fuzz::as_text(data, size), storage, "data.pkl");
  });
  return 0;
}
