#include "sarseg/io/image.h"

#include <png.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"

namespace sarseg::io {
namespace {

uint32_t read_u32(const std::string& bytes, size_t offset) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i)
    v = (v << 8) | static_cast<uint8_t>(bytes[offset + static_cast<size_t>(i)]);
  return v;
}
uint16_t read_u16(const std::string& bytes, size_t offset) {
  return static_cast<uint16_t>(static_cast<uint8_t>(bytes[offset]) |
                               (static_cast<uint8_t>(bytes[offset + 1]) << 8));
}

// Position of the lowest set bit and the width of a BI_BITFIELDS channel mask.
void mask_shift(uint32_t mask, int& shift, int& bits) {
  shift = 0;
  bits = 0;
  if (mask == 0) return;
  while (((mask >> shift) & 1u) == 0)
    ++shift;
  while (shift + bits < 32 && ((mask >> (shift + bits)) & 1u) != 0)
    ++bits;
}

uint8_t extract_channel(uint32_t pixel, uint32_t mask) {
  int shift = 0, bits = 0;
  mask_shift(mask, shift, bits);
  if (bits == 0) return 0;
  const uint32_t value = (pixel & mask) >> shift;
  const uint32_t max_value = bits >= 32 ? 0xffffffffu : ((1u << bits) - 1u);
  return static_cast<uint8_t>((value * 255u + max_value / 2) / max_value);
}

RgbImage decode_bmp(const std::string& bytes, const std::filesystem::path& path) {
  const std::string where = "image '" + path.string() + "'";
  require(bytes.size() >= 54, where + " is a truncated BMP (no header)");
  const uint32_t data_offset = read_u32(bytes, 10);
  const uint32_t header_size = read_u32(bytes, 14);
  require(header_size >= 40, where + ": BMP header version (size " + std::to_string(header_size) +
                                 ") is not supported; save it as a Windows V3+ BMP or PNG");
  const auto width = static_cast<int32_t>(read_u32(bytes, 18));
  const auto signed_height = static_cast<int32_t>(read_u32(bytes, 22));
  const uint16_t bits_per_pixel = read_u16(bytes, 28);
  const uint32_t compression = read_u32(bytes, 30);
  require(
      width > 0 && signed_height != 0 && width < (1 << 16) && std::abs(signed_height) < (1 << 16),
      where + " has an invalid size " + std::to_string(width) + "x" +
          std::to_string(signed_height));
  require(bits_per_pixel == 24 || bits_per_pixel == 32,
          where + " is a " + std::to_string(bits_per_pixel) +
              "-bit BMP; only uncompressed 24/32-bit BMP is supported, convert it to PNG");
  uint32_t masks[3] = {0x00ff0000u, 0x0000ff00u, 0x000000ffu};
  if (compression == 3 || compression == 6) {  // BI_BITFIELDS / BI_ALPHABITFIELDS
    require(bits_per_pixel == 32, where + ": bitfield compression with 24 bits is not supported");
    // Masks follow a 40-byte header, or live inside V4/V5 headers at the same offset.
    require(bytes.size() >= 14 + 40 + 12, where + " is truncated (no colour masks)");
    for (int i = 0; i < 3; ++i)
      masks[i] = read_u32(bytes, 14 + 40 + 4 * static_cast<size_t>(i));
  } else {
    require(compression == 0, where + " is a compressed BMP (compression " +
                                  std::to_string(compression) +
                                  "); only uncompressed BMP is supported, convert it to PNG");
  }
  const bool bottom_up = signed_height > 0;
  const int height = std::abs(signed_height);
  const size_t bytes_per_pixel = bits_per_pixel / 8;
  const size_t row_stride = (static_cast<size_t>(width) * bytes_per_pixel + 3) / 4 * 4;
  require(data_offset <= bytes.size() &&
              bytes.size() - data_offset >= row_stride * static_cast<size_t>(height - 1) +
                                                static_cast<size_t>(width) * bytes_per_pixel,
          where + " is truncated: pixel data is shorter than " + std::to_string(width) + "x" +
              std::to_string(height) + " pixels");

  RgbImage image;
  image.width = width;
  image.height = height;
  image.rgb.resize(static_cast<size_t>(width) * static_cast<size_t>(height) * 3);
  for (int row = 0; row < height; ++row) {
    const int source_row = bottom_up ? height - 1 - row : row;
    const size_t line = data_offset + static_cast<size_t>(source_row) * row_stride;
    uint8_t* out = image.rgb.data() + static_cast<size_t>(row) * static_cast<size_t>(width) * 3;
    for (int col = 0; col < width; ++col) {
      const size_t p = line + static_cast<size_t>(col) * bytes_per_pixel;
      if (bits_per_pixel == 24 || compression == 0) {  // stored as B, G, R[, X]
        out[3 * col + 0] = static_cast<uint8_t>(bytes[p + 2]);
        out[3 * col + 1] = static_cast<uint8_t>(bytes[p + 1]);
        out[3 * col + 2] = static_cast<uint8_t>(bytes[p + 0]);
      } else {
        const uint32_t pixel = read_u32(bytes, p);
        for (int c = 0; c < 3; ++c)
          out[3 * col + c] = extract_channel(pixel, masks[c]);
      }
    }
  }
  return image;
}

RgbImage decode_png(const std::string& bytes, const std::filesystem::path& path) {
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, bytes.data(), bytes.size())) {
    const std::string message = png.message;
    png_image_free(&png);
    throw UserError("image '" + path.string() + "' is not a readable PNG (" + message + ")");
  }
  png.format = PNG_FORMAT_RGB;
  RgbImage image;
  image.width = static_cast<int>(png.width);
  image.height = static_cast<int>(png.height);
  image.rgb.resize(PNG_IMAGE_SIZE(png));
  if (!png_image_finish_read(&png, nullptr, image.rgb.data(), 0, nullptr)) {
    const std::string message = png.message;
    png_image_free(&png);
    throw UserError("image '" + path.string() + "' is a damaged PNG (" + message + ")");
  }
  return image;
}

}  // namespace

RgbImage read_image(const std::filesystem::path& path) {
  const std::string bytes = read_file(path);
  static const char kPngSignature[] = "\x89PNG\r\n\x1a\n";
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), kPngSignature, 8) == 0) {
    return decode_png(bytes, path);
  }
  if (bytes.size() >= 2 && bytes[0] == 'B' && bytes[1] == 'M') return decode_bmp(bytes, path);
  throw UserError("image '" + path.string() +
                  "' is neither PNG nor BMP; convert it to PNG or uncompressed BMP");
}

void write_png(const std::filesystem::path& path, const RgbImage& image) {
  require(image.width > 0 && image.height > 0,
          "cannot write '" + path.string() + "': the image is empty");
  require(
      image.rgb.size() == static_cast<size_t>(image.width) * static_cast<size_t>(image.height) * 3,
      "cannot write '" + path.string() + "': pixel buffer does not match " +
          std::to_string(image.width) + "x" + std::to_string(image.height));
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width);
  png.height = static_cast<png_uint_32>(image.height);
  png.format = PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  if (!png_image_write_to_memory(&png, nullptr, &size, 0, image.rgb.data(), 0, nullptr)) {
    throw UserError("cannot encode PNG '" + path.string() + "': " + png.message);
  }
  std::string buffer(size, '\0');
  if (!png_image_write_to_memory(&png, buffer.data(), &size, 0, image.rgb.data(), 0, nullptr)) {
    throw UserError("cannot encode PNG '" + path.string() + "': " + png.message);
  }
  buffer.resize(size);
  write_file_atomically(path, buffer);
}

}  // namespace sarseg::io
