#include "sarseg/io/image.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "support/test_support.h"

namespace sarseg::io {
namespace {

void put_u32(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    s[at + static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// A minimal BMP with a 40-byte header: `height` > 0 means bottom-up rows.
std::string make_bmp(int width, int height, int bits, const std::vector<uint8_t>& rgb_top_down) {
  const int rows = std::abs(height);
  const size_t bpp = static_cast<size_t>(bits / 8);
  const size_t stride = (static_cast<size_t>(width) * bpp + 3) / 4 * 4;
  std::string s(54 + stride * static_cast<size_t>(rows), '\0');
  s[0] = 'B';
  s[1] = 'M';
  put_u32(s, 2, static_cast<uint32_t>(s.size()));
  put_u32(s, 10, 54);
  put_u32(s, 14, 40);
  put_u32(s, 18, static_cast<uint32_t>(width));
  put_u32(s, 22, static_cast<uint32_t>(height));
  s[26] = 1;
  s[28] = static_cast<char>(bits);
  for (int r = 0; r < rows; ++r) {
    const int file_row = height > 0 ? rows - 1 - r : r;
    for (int c = 0; c < width; ++c) {
      const size_t p = 54 + static_cast<size_t>(file_row) * stride + static_cast<size_t>(c) * bpp;
      const size_t q =
          (static_cast<size_t>(r) * static_cast<size_t>(width) + static_cast<size_t>(c)) * 3;
      s[p + 0] = static_cast<char>(rgb_top_down[q + 2]);
      s[p + 1] = static_cast<char>(rgb_top_down[q + 1]);
      s[p + 2] = static_cast<char>(rgb_top_down[q + 0]);
    }
  }
  return s;
}

std::vector<uint8_t> pattern(int width, int height) {
  std::vector<uint8_t> rgb(static_cast<size_t>(width * height * 3));
  for (size_t i = 0; i < rgb.size(); ++i)
    rgb[i] = static_cast<uint8_t>((i * 37 + 11) % 256);
  return rgb;
}

TEST(Image, ReadsBmp24And32BottomUpAndTopDown) {
  testing::TempDir dir;
  const int w = 5, h = 3;  // odd width exercises row padding
  const auto rgb = pattern(w, h);
  for (int bits : {24, 32}) {
    for (int sign : {1, -1}) {
      const auto path = dir / ("p" + std::to_string(bits) + "_" + std::to_string(sign) + ".bmp");
      write_file_atomically(path, make_bmp(w, sign * h, bits, rgb));
      const RgbImage image = read_image(path);
      EXPECT_EQ(image.width, w);
      EXPECT_EQ(image.height, h);
      EXPECT_EQ(image.rgb, rgb) << bits << " bits, sign " << sign;
    }
  }
}

TEST(Image, ReadsSharedCatBmp) {
  const auto path = testing::shared_dir() / "pretrained/test_images/cat.bmp";
  const RgbImage image = read_image(path);
  // Size and one pixel straight from the file header/bytes: 24-bit, bottom-up, BGR.
  const std::string bytes = read_file(path);
  auto u32 = [&](size_t at) {
    return static_cast<uint32_t>(static_cast<uint8_t>(bytes[at])) |
           static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 1])) << 8 |
           static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 2])) << 16 |
           static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 3])) << 24;
  };
  const int width = static_cast<int>(u32(18));
  const int height = static_cast<int>(u32(22));
  ASSERT_EQ(image.width, width);
  ASSERT_EQ(image.height, height);
  EXPECT_EQ(width, 512);
  const size_t stride = (static_cast<size_t>(width) * 3 + 3) / 4 * 4;
  const size_t first_pixel_of_top_row = u32(10) + stride * static_cast<size_t>(height - 1);
  EXPECT_EQ(image.rgb[0], static_cast<uint8_t>(bytes[first_pixel_of_top_row + 2]));
  EXPECT_EQ(image.rgb[1], static_cast<uint8_t>(bytes[first_pixel_of_top_row + 1]));
  EXPECT_EQ(image.rgb[2], static_cast<uint8_t>(bytes[first_pixel_of_top_row + 0]));
}

TEST(Image, PngRoundTrip) {
  testing::TempDir dir;
  RgbImage image;
  image.width = 7;
  image.height = 4;
  image.rgb = pattern(7, 4);
  write_png(dir / "a.png", image);
  const RgbImage back = read_image(dir / "a.png");
  EXPECT_EQ(back.width, 7);
  EXPECT_EQ(back.height, 4);
  EXPECT_EQ(back.rgb, image.rgb);
}

TEST(Image, RejectsBadFilesNamingThem) {
  testing::TempDir dir;
  write_file_atomically(dir / "x.png", "not an image at all");
  try {
    read_image(dir / "x.png");
    FAIL() << "expected UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("x.png"), std::string::npos);
  }
  std::string bmp = make_bmp(4, 4, 24, pattern(4, 4));
  write_file_atomically(dir / "t.bmp", bmp.substr(0, bmp.size() - 10));
  EXPECT_THROW(read_image(dir / "t.bmp"), UserError);
  write_file_atomically(dir / "t.png", "\x89PNG\r\n\x1a\n garbage");
  EXPECT_THROW(read_image(dir / "t.png"), UserError);
  EXPECT_THROW(read_image(dir / "missing.png"), UserError);
  RgbImage empty;
  EXPECT_THROW(write_png(dir / "e.png", empty), UserError);
  EXPECT_FALSE(std::filesystem::exists(dir / "e.png"));
}

}  // namespace
}  // namespace sarseg::io
