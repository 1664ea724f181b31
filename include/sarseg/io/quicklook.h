// Colour images for people: false-colour SAR, coloured class maps with legends, tiny text.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sarseg/io/image.h"
#include "sarseg/io/scene.h"

namespace sarseg::io {

using Rgb = std::array<uint8_t, 3>;

struct Palette {
  std::vector<Rgb> colours;        // by class value
  std::vector<std::string> names;  // by class value (legend text)
  Rgb fill{0, 0, 0};               // colour of 255 / classes beyond `colours`
  std::string fill_name = "no label";
};

// SIC: ten-step water-blue -> white ramp; SOD, FLOE: AI4Arctic class names; anything else
// ("classes", ...): a distinct categorical palette for `class_count` classes.
Palette palette_for_label(std::string_view label_name, int class_count);

// Colours a class map (255 and unknown values get palette.fill). `max_side` > 0 shrinks the map
// (nearest) so that neither side exceeds it.
RgbImage colour_class_map(const LabelRaster& labels, const Palette& palette, int max_side = 0);

// False colour R = HH, G = HV, B = HH - HV, each stretched between its 2nd and 98th
// percentile over valid pixels; invalid pixels black. Uses hh_db/hv_db (any units).
RgbImage sar_false_colour(const Scene& scene, int max_side = 0);

// A legend: one swatch + name per class that `present` marks (or all when empty).
RgbImage legend_image(const Palette& palette, const std::string& title,
                      const std::vector<bool>& present = {});

// One picture of a quicklook: an image with its title and (for class maps) a legend below it.
struct QuicklookPanel {
  std::string title;
  RgbImage image;
  RgbImage legend;  // empty (width 0) for none
};

// A class map coloured with the palette of `label_name`, with a legend of the classes present.
// The palette covers the classes present, and at least `min_classes`.
QuicklookPanel class_map_panel(const LabelRaster& labels, const std::string& label_name,
                               const std::string& title, int max_side, int min_classes = 0);
// The HH/HV false colour (sar_false_colour).
QuicklookPanel sar_panel(const Scene& scene, int max_side);
// Panels side by side under a title line: the one quicklook layout of sarseg.
RgbImage compose_quicklook(const std::string& title, const std::vector<QuicklookPanel>& panels);

// The SAR false colour beside `label_name` (default: SOD, SIC, FLOE, classes, first label) with
// its legend below; only the SAR panel when the scene has no labels.
RgbImage scene_quicklook(const Scene& scene, const std::string& label_name = "",
                         int max_side = 768);

// Drawing helpers.
RgbImage blank_image(int height, int width, Rgb colour = {255, 255, 255});
void paste(RgbImage& canvas, const RgbImage& image, int top, int left);
void fill_rect(RgbImage& canvas, int top, int left, int height, int width, Rgb colour);
// 5x7 bitmap font (ASCII 32..126, lower case drawn as upper case); returns the text width.
int draw_text(RgbImage& canvas, int top, int left, std::string_view text, Rgb colour,
              int scale = 1);
int text_width(std::string_view text, int scale = 1);

}  // namespace sarseg::io
