// The decoder registry. A new decoder is one file in this folder defining its DecoderInfo, plus
// one line below and one in src/models/CMakeLists.txt. (An explicit list, not static
// self-registration: the linker drops unreferenced objects of a static library.)
#include "sarseg/models/decoders.h"

#include "decoder_parts.h"
#include "sarseg/util/error.h"
#include "sarseg/util/find.h"
#include "sarseg/util/strings.h"

namespace sarseg::models {

const std::vector<DecoderInfo>& decoder_registry() {
  static const std::vector<DecoderInfo> registry = {
      detail::deeplabv3_decoder(),
      detail::unet_decoder(),
      detail::plain_unet_decoder(),
  };
  return registry;
}

std::vector<std::string> decoder_names() {
  return registered_names(decoder_registry());
}

const DecoderInfo& find_decoder(const std::string& name) {
  return find_registered(decoder_registry(), name, "decoder");
}

void check_decoder_name(const std::string& name) {
  find_decoder(name);
}

}  // namespace sarseg::models
