// 8-bit RGB images: reading photos (BMP, PNG) and writing PNG quicklooks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace sarseg::io {

struct RgbImage {
  int height = 0;
  int width = 0;
  std::vector<uint8_t> rgb;  // row-major, 3 bytes per pixel
};

// BMP (uncompressed 24/32-bit) or PNG, by content; UserError naming the file otherwise.
RgbImage read_image(const std::filesystem::path& path);
// Atomic write.
void write_png(const std::filesystem::path& path, const RgbImage& image);

}  // namespace sarseg::io
