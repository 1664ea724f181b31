// Scenes at a coarser grid (data.downsample): every f x f block of pixels becomes one pixel.
//
//   io::Scene small = io::downsample_scene(scene, 10);   // 5000 x 5000 -> 500 x 500
//
// The output grid is ceil(height / f) x ceil(width / f); a last, ragged block (when f does not
// divide the side) uses the pixels it has. Rules, per block:
//   bands in dB (units "dB")  the mean in linear intensity, 10^(dB/10), of the block's valid,
//                             finite pixels, converted back to dB: multilooking. Averaging the dB
//                             values instead would be the mean of a logarithm, which lies below
//                             the logarithm of the mean (Jensen), so it would bias the block
//                             low, more so the more the block varies; SAR looks are averaged in
//                             intensity. 0 dB and 10 dB give 10 log10(5.5) = 7.40 dB, not 5 dB.
//   other bands               the arithmetic mean of the valid, finite pixels (incidence angle,
//                             distance map, derived bands, z-scored bands: a z-score is not an
//                             intensity); NaN when there is none.
//   validity                  valid when at least `min_valid_share` of the block's pixels are
//                             valid (kMinValidShare, a half, for training; a share of 0 means any
//                             valid pixel). A scene without a mask (all valid) keeps none.
//   labels (charts)           the most frequent value among the block's labelled pixels (not
//                             255), ties to the smaller value; 255 when fewer than
//                             kMinLabelledShare (a half) of the block's pixels are labelled.
// The geotransform's pixel size and pixel_spacing_m grow by f (the origin stays); the 2 km grids
// and the geolocation subgrid are kept as read: they are located by the scene's extent and pixel
// spacing, which do not change.
//
// Back to the native grid (a prediction made on the small scene, for scoring and output):
// coarse pixel k is centred at native coordinate (k + 0.5) f - 0.5 (the align_corners = false
// convention), and a native pixel takes the bilinear interpolation of its (up to) four
// neighbouring coarse centres, clamped at the edges (a ragged last block is treated as whole).
// Only valid coarse pixels enter, their weights renormalised; with none of the four valid, the
// block holding the pixel. Probabilities are interpolated and the class map is the argmax of the
// interpolated probabilities (ties to the smaller class); regression maps, which have no
// probabilities, take the value of the block holding the pixel. Inference downsamples with a
// share of 0 (any valid pixel makes a valid block), so that every valid native pixel lies in a
// valid block and gets a prediction: the score counts the native pixels.
#pragma once

#include <cstdint>

#include "sarseg/io/prediction_output.h"
#include "sarseg/io/scene.h"

namespace sarseg::io {

// Share of valid pixels a block needs to be valid (training and validation scenes).
inline constexpr double kMinValidShare = 0.5;
// Share of labelled pixels a block needs to keep a label.
inline constexpr double kMinLabelledShare = 0.5;

// `scene` at a grid `factor` times coarser (factor 1: a copy). UserError when factor < 1.
Scene downsample_scene(const Scene& scene, int64_t factor, double min_valid_share = kMinValidShare);

// Native coordinate x in coarse-grid coordinates: (x + 0.5) / factor - 0.5.
inline double coarse_coordinate(int64_t x, int64_t factor) {
  return (static_cast<double>(x) + 0.5) / static_cast<double>(factor) - 0.5;
}

// `coarse` (valid where `coarse_valid` is set; empty = everywhere) bilinearly interpolated onto
// the height x width native grid of which it is the `factor` downsampling; NaN where no coarse
// pixel is usable.
FloatRaster upsample_bilinear(const FloatRaster& coarse, const Raster<uint8_t>& coarse_valid,
                              int64_t factor, int64_t height, int64_t width);

// A head's prediction on the downsampled scene brought to the native grid whose valid pixels are
// `native_valid` (its size is the native size): class map, probabilities (kept when
// `probabilities`; classification class maps are taken from them, so the coarse prediction must
// hold them) and uncertainty rasters; 255 (NaN) at invalid native pixels.
LabelPrediction upsample_prediction(const LabelPrediction& coarse,
                                    const Raster<uint8_t>& coarse_valid, int64_t factor,
                                    const Raster<uint8_t>& native_valid, bool probabilities);

}  // namespace sarseg::io
