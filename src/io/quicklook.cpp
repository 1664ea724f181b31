#include "sarseg/io/quicklook.h"

#include <algorithm>
#include <cmath>

#include "sarseg/io/stats.h"
#include "sarseg/util/error.h"

namespace sarseg::io {
namespace {

// 5x7 glyphs for ASCII 32..95 (lower case is drawn as upper case); each row is 5 bits, MSB left.
constexpr uint8_t kFont[64][7] = {
    {0, 0, 0, 0, 0, 0, 0},         // space
    {4, 4, 4, 4, 4, 0, 4},         // !
    {10, 10, 0, 0, 0, 0, 0},       // "
    {10, 31, 10, 10, 31, 10, 0},   // #
    {4, 15, 20, 14, 5, 30, 4},     // $
    {24, 25, 2, 4, 8, 19, 3},      // %
    {8, 20, 20, 8, 21, 18, 13},    // &
    {4, 4, 0, 0, 0, 0, 0},         // '
    {2, 4, 8, 8, 8, 4, 2},         // (
    {8, 4, 2, 2, 2, 4, 8},         // )
    {0, 4, 21, 14, 21, 4, 0},      // *
    {0, 4, 4, 31, 4, 4, 0},        // +
    {0, 0, 0, 0, 12, 4, 8},        // ,
    {0, 0, 0, 31, 0, 0, 0},        // -
    {0, 0, 0, 0, 0, 12, 12},       // .
    {0, 1, 2, 4, 8, 16, 0},        // /
    {14, 17, 19, 21, 25, 17, 14},  // 0
    {4, 12, 4, 4, 4, 4, 14},       // 1
    {14, 17, 1, 2, 4, 8, 31},      // 2
    {31, 2, 4, 2, 1, 17, 14},      // 3
    {2, 6, 10, 18, 31, 2, 2},      // 4
    {31, 16, 30, 1, 1, 17, 14},    // 5
    {6, 8, 16, 30, 17, 17, 14},    // 6
    {31, 1, 2, 4, 8, 8, 8},        // 7
    {14, 17, 17, 14, 17, 17, 14},  // 8
    {14, 17, 17, 15, 1, 2, 12},    // 9
    {0, 12, 12, 0, 12, 12, 0},     // :
    {0, 12, 12, 0, 12, 4, 8},      // ;
    {2, 4, 8, 16, 8, 4, 2},        // <
    {0, 0, 31, 0, 31, 0, 0},       // =
    {8, 4, 2, 1, 2, 4, 8},         // >
    {14, 17, 1, 2, 4, 0, 4},       // ?
    {14, 17, 1, 13, 21, 21, 14},   // @
    {14, 17, 17, 17, 31, 17, 17},  // A
    {30, 17, 17, 30, 17, 17, 30},  // B
    {14, 17, 16, 16, 16, 17, 14},  // C
    {28, 18, 17, 17, 17, 18, 28},  // D
    {31, 16, 16, 30, 16, 16, 31},  // E
    {31, 16, 16, 30, 16, 16, 16},  // F
    {14, 17, 16, 23, 17, 17, 15},  // G
    {17, 17, 17, 31, 17, 17, 17},  // H
    {14, 4, 4, 4, 4, 4, 14},       // I
    {7, 2, 2, 2, 2, 18, 12},       // J
    {17, 18, 20, 24, 20, 18, 17},  // K
    {16, 16, 16, 16, 16, 16, 31},  // L
    {17, 27, 21, 21, 17, 17, 17},  // M
    {17, 17, 25, 21, 19, 17, 17},  // N
    {14, 17, 17, 17, 17, 17, 14},  // O
    {30, 17, 17, 30, 16, 16, 16},  // P
    {14, 17, 17, 17, 21, 18, 13},  // Q
    {30, 17, 17, 30, 20, 18, 17},  // R
    {15, 16, 16, 14, 1, 1, 30},    // S
    {31, 4, 4, 4, 4, 4, 4},        // T
    {17, 17, 17, 17, 17, 17, 14},  // U
    {17, 17, 17, 17, 17, 10, 4},   // V
    {17, 17, 17, 21, 21, 21, 10},  // W
    {17, 17, 10, 4, 10, 17, 17},   // X
    {17, 17, 17, 10, 4, 4, 4},     // Y
    {31, 1, 2, 4, 8, 16, 31},      // Z
    {14, 8, 8, 8, 8, 8, 14},       // [
    {0, 16, 8, 4, 2, 1, 0},        // backslash
    {14, 2, 2, 2, 2, 2, 14},       // ]
    {4, 10, 17, 0, 0, 0, 0},       // ^
    {0, 0, 0, 0, 0, 0, 31},        // _
};

constexpr int kGlyphWidth = 6;  // 5 pixels + 1 spacing
constexpr int kGlyphHeight = 7;

// Scale factor so that neither side exceeds max_side.
int shrink_factor(int64_t height, int64_t width, int max_side) {
  if (max_side <= 0) return 1;
  const int64_t longest = std::max(height, width);
  return static_cast<int>(std::max<int64_t>(1, (longest + max_side - 1) / max_side));
}

Rgb categorical(int index) {
  static const Rgb kColours[] = {{31, 119, 180},  {255, 127, 14}, {44, 160, 44},   {214, 39, 40},
                                 {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127},
                                 {188, 189, 34},  {23, 190, 207}, {174, 199, 232}, {255, 187, 120}};
  return kColours[static_cast<size_t>(index) % (sizeof(kColours) / sizeof(kColours[0]))];
}

}  // namespace

RgbImage blank_image(int height, int width, Rgb colour) {
  RgbImage image;
  image.height = height;
  image.width = width;
  image.rgb.resize(static_cast<size_t>(height) * static_cast<size_t>(width) * 3);
  for (size_t i = 0; i < image.rgb.size(); i += 3) {
    image.rgb[i] = colour[0];
    image.rgb[i + 1] = colour[1];
    image.rgb[i + 2] = colour[2];
  }
  return image;
}

void fill_rect(RgbImage& canvas, int top, int left, int height, int width, Rgb colour) {
  for (int r = std::max(0, top); r < std::min(canvas.height, top + height); ++r) {
    for (int c = std::max(0, left); c < std::min(canvas.width, left + width); ++c) {
      uint8_t* p = &canvas.rgb[(static_cast<size_t>(r) * static_cast<size_t>(canvas.width) +
                                static_cast<size_t>(c)) *
                               3];
      p[0] = colour[0];
      p[1] = colour[1];
      p[2] = colour[2];
    }
  }
}

void paste(RgbImage& canvas, const RgbImage& image, int top, int left) {
  for (int r = 0; r < image.height; ++r) {
    const int cr = top + r;
    if (cr < 0 || cr >= canvas.height) continue;
    for (int c = 0; c < image.width; ++c) {
      const int cc = left + c;
      if (cc < 0 || cc >= canvas.width) continue;
      const size_t from =
          (static_cast<size_t>(r) * static_cast<size_t>(image.width) + static_cast<size_t>(c)) * 3;
      const size_t to =
          (static_cast<size_t>(cr) * static_cast<size_t>(canvas.width) + static_cast<size_t>(cc)) *
          3;
      std::copy_n(&image.rgb[from], 3, &canvas.rgb[to]);
    }
  }
}

int text_width(std::string_view text, int scale) {
  return static_cast<int>(text.size()) * kGlyphWidth * scale;
}

int draw_text(RgbImage& canvas, int top, int left, std::string_view text, Rgb colour, int scale) {
  int x = left;
  for (char raw : text) {
    int ch = static_cast<unsigned char>(raw);
    if (ch >= 'a' && ch <= 'z') ch -= 'a' - 'A';
    if (ch < 32 || ch > 95) ch = '?';
    const uint8_t* glyph = kFont[ch - 32];
    for (int row = 0; row < kGlyphHeight; ++row) {
      for (int col = 0; col < 5; ++col) {
        if (glyph[row] & (16 >> col))
          fill_rect(canvas, top + row * scale, x + col * scale, scale, scale, colour);
      }
    }
    x += kGlyphWidth * scale;
  }
  return x - left;
}

Palette palette_for_label(std::string_view label_name, int class_count) {
  Palette palette;
  if (label_name == "SIC") {
    for (int c = 0; c <= 10; ++c) {
      const double t = c / 10.0;  // open water (dark blue) -> 10/10 (white)
      palette.colours.push_back({static_cast<uint8_t>(10 + t * 245),
                                 static_cast<uint8_t>(40 + t * 215),
                                 static_cast<uint8_t>(110 + t * 145)});
      palette.names.push_back(c == 0 ? "0 open water" : std::to_string(c) + "/10");
    }
  } else if (label_name == "SOD") {
    palette.colours = {{10, 40, 110},  {240, 120, 200}, {150, 60, 220},
                       {250, 220, 40}, {60, 200, 80},   {200, 40, 40}};
    palette.names = {"open water",      "new ice",          "young ice",
                     "thin first-year", "thick first-year", "old ice"};
  } else if (label_name == "FLOE") {
    palette.colours = {{10, 40, 110}, {255, 200, 150}, {255, 150, 80}, {230, 90, 40},
                       {180, 40, 40}, {120, 20, 60},   {240, 240, 240}};
    palette.names = {"open water", "cake ice",  "small floe", "medium floe",
                     "big floe",   "vast floe", "icebergs"};
  } else {
    for (int c = 0; c < std::max(class_count, 1); ++c) {
      palette.colours.push_back(categorical(c));
      palette.names.push_back("class " + std::to_string(c));
    }
    if (class_count == 2) palette.names = {"water", "ice"};
  }
  while (static_cast<int>(palette.colours.size()) < class_count) {
    palette.colours.push_back(categorical(static_cast<int>(palette.colours.size())));
    palette.names.push_back("class " + std::to_string(palette.colours.size() - 1));
  }
  return palette;
}

RgbImage colour_class_map(const LabelRaster& labels, const Palette& palette, int max_side) {
  const int factor = shrink_factor(labels.height, labels.width, max_side);
  const int height = static_cast<int>((labels.height + factor - 1) / factor);
  const int width = static_cast<int>((labels.width + factor - 1) / factor);
  RgbImage image = blank_image(height, width, palette.fill);
  for (int r = 0; r < height; ++r) {
    for (int c = 0; c < width; ++c) {
      const uint8_t v =
          labels.at(static_cast<int64_t>(r) * factor, static_cast<int64_t>(c) * factor);
      const Rgb colour = v < palette.colours.size() ? palette.colours[v] : palette.fill;
      std::copy(
          colour.begin(), colour.end(),
          &image
               .rgb[(static_cast<size_t>(r) * static_cast<size_t>(width) + static_cast<size_t>(c)) *
                    3]);
    }
  }
  return image;
}

RgbImage sar_false_colour(const Scene& scene, int max_side) {
  const Band* hh = scene.find_band("hh_db");
  const Band* hv = scene.find_band("hv_db");
  require(hh != nullptr || !scene.bands.empty(), "scene '" + scene.id + "' has no bands to draw");
  if (!hh) hh = &scene.bands[0];
  if (!hv) hv = scene.bands.size() > 1 ? &scene.bands[1] : hh;
  FloatRaster difference(scene.height, scene.width);
  for (size_t i = 0; i < difference.data.size(); ++i)
    difference.data[i] = hh->pixels.data[i] - hv->pixels.data[i];
  const FloatRaster* channels[3] = {&hh->pixels, &hv->pixels, &difference};
  double low[3], high[3];
  for (int k = 0; k < 3; ++k) {
    const auto stats = compute_band_statistics(*channels[k], scene.valid, {2, 98});
    low[k] = stats.percentiles[0].second;
    high[k] = stats.percentiles[1].second;
    if (!(high[k] > low[k])) high[k] = low[k] + 1;
  }
  const int factor = shrink_factor(scene.height, scene.width, max_side);
  const int height = static_cast<int>((scene.height + factor - 1) / factor);
  const int width = static_cast<int>((scene.width + factor - 1) / factor);
  RgbImage image = blank_image(height, width, {0, 0, 0});
  for (int r = 0; r < height; ++r) {
    for (int c = 0; c < width; ++c) {
      const int64_t sr = static_cast<int64_t>(r) * factor, sc = static_cast<int64_t>(c) * factor;
      if (!scene.is_valid(sr, sc)) continue;
      uint8_t* p =
          &image
               .rgb[(static_cast<size_t>(r) * static_cast<size_t>(width) + static_cast<size_t>(c)) *
                    3];
      for (int k = 0; k < 3; ++k) {
        const double v = (channels[k]->at(sr, sc) - low[k]) / (high[k] - low[k]);
        p[k] = static_cast<uint8_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255.0));
      }
    }
  }
  return image;
}

RgbImage legend_image(const Palette& palette, const std::string& title,
                      const std::vector<bool>& present) {
  std::vector<std::pair<Rgb, std::string>> entries;
  for (size_t c = 0; c < palette.colours.size(); ++c) {
    if (!present.empty() && (c >= present.size() || !present[c])) continue;
    entries.emplace_back(palette.colours[c], std::to_string(c) + " " + palette.names[c]);
  }
  entries.emplace_back(palette.fill, "255 " + palette.fill_name);
  const int row_height = 14, swatch = 10, margin = 6;
  int width = text_width(title) + 2 * margin;
  for (const auto& [colour, name] : entries)
    width = std::max(width, margin * 2 + swatch + 6 + text_width(name));
  const int height = margin * 2 + row_height * (static_cast<int>(entries.size()) + 1);
  RgbImage image = blank_image(height, width);
  draw_text(image, margin, margin, title, {0, 0, 0});
  int top = margin + row_height;
  for (const auto& [colour, name] : entries) {
    fill_rect(image, top, margin, swatch, swatch, {0, 0, 0});
    fill_rect(image, top + 1, margin + 1, swatch - 2, swatch - 2, colour);
    draw_text(image, top + 2, margin + swatch + 6, name, {0, 0, 0});
    top += row_height;
  }
  return image;
}

QuicklookPanel class_map_panel(const LabelRaster& labels, const std::string& label_name,
                               const std::string& title, int max_side, int min_classes) {
  const auto histogram = class_histogram(labels);
  int class_count = min_classes;
  for (int c = 0; c < 255; ++c)
    if (histogram[static_cast<size_t>(c)] > 0) class_count = std::max(class_count, c + 1);
  const Palette palette = palette_for_label(label_name, std::max(class_count, 1));
  std::vector<bool> present(palette.colours.size(), false);
  for (size_t c = 0; c < present.size() && c < 255; ++c)
    present[c] = histogram[c] > 0;
  return {title, colour_class_map(labels, palette, max_side),
          legend_image(palette, label_name, present)};
}

QuicklookPanel sar_panel(const Scene& scene, int max_side) {
  return {"HH/HV false colour", sar_false_colour(scene, max_side), RgbImage{}};
}

RgbImage compose_quicklook(const std::string& title, const std::vector<QuicklookPanel>& panels) {
  const int margin = 8, title_height = 14;
  int width = margin, height = 0;
  for (const auto& panel : panels) {
    width += std::max(panel.image.width, panel.legend.width) + margin;
    height = std::max(height, panel.image.height + panel.legend.height);
  }
  RgbImage canvas = blank_image(height + 2 * title_height + 3 * margin,
                                std::max(width, margin * 2 + text_width(title)));
  draw_text(canvas, margin / 2, margin, title, {0, 0, 0});
  const int top = margin + title_height;
  int left = margin;
  for (const auto& panel : panels) {
    draw_text(canvas, top, left, panel.title, {0, 0, 0});
    paste(canvas, panel.image, top + title_height, left);
    if (panel.legend.width > 0)
      paste(canvas, panel.legend, top + title_height + margin + panel.image.height, left);
    left += std::max(panel.image.width, panel.legend.width) + margin;
  }
  return canvas;
}

RgbImage scene_quicklook(const Scene& scene, const std::string& label_name, int max_side) {
  std::string chosen = label_name;
  if (chosen.empty()) {
    for (const char* candidate : {"SOD", "SIC", "FLOE", "classes"}) {
      if (scene.labels.count(candidate)) {
        chosen = candidate;
        break;
      }
    }
    if (chosen.empty() && !scene.labels.empty()) chosen = scene.labels.begin()->first;
  } else {
    require(scene.labels.count(chosen) != 0,
            "scene '" + scene.id + "' has no label '" + chosen + "'");
  }
  std::vector<QuicklookPanel> panels{sar_panel(scene, max_side)};
  if (!chosen.empty())
    panels.push_back(class_map_panel(scene.labels.at(chosen), chosen, chosen, max_side));
  return compose_quicklook(scene.id, panels);
}

}  // namespace sarseg::io
