// Two views of one SAR region for self-supervised pretraining (train/pretrain.h), in plain C++
// like the rest of the data pipeline (augment.h).
//
//   auto radiometry = data::radiometric_channels(normalization);   // which inputs are in dB
//   data::Rng rng(data::Rng::mix(seed, {epoch, index, view}));
//   data::Patch view = data::make_sar_view(scene, row, col, region, options, radiometry, rng);
//
// A view is a random square crop of the region (side drawn in [min_crop_fraction, 1] of the
// region, anywhere inside it), resampled to view_size, flipped and rotated by quarter turns, then
// given a gain in dB and re-sampled speckle. Every geometric step moves all input channels
// together, the incidence-angle plane included: each pixel keeps the angle it was imaged at, so
// the link between backscatter and incidence angle survives the augmentation. Gain and speckle
// touch only the dB channels, never incidence angle or other non-backscatter bands. There is no
// colour jitter and no swapping of polarisations: HH and HV stay what they are.
#pragma once

#include <cstdint>
#include <vector>

#include "sarseg/data/augment.h"
#include "sarseg/data/dataset.h"
#include "sarseg/data/normalization.h"
#include "sarseg/data/random.h"

namespace sarseg::data {

struct SarViewOptions {
  int64_t view_size = 64;          // side of a view in pixels (the encoder's input)
  double min_crop_fraction = 0.5;  // a view's crop side is drawn in [this, 1] x the region side
  bool flips = true;               // up-down and left-right flips
  bool rot90 = true;               // quarter turns
  double gain_db = 1.0;            // a gain drawn in [-gain_db, +gain_db] dB per view; 0 = off
  double speckle_looks = 4.0;      // multiplicative Gamma(L, 1/L) noise per pixel; 0 = off
};

// How a normalised input channel maps back to physical units: z = (value - mean) / std.
struct RadiometricChannel {
  bool db = false;  // backscatter in dB (gain and speckle apply)
  double mean = 0;
  double std = 1;
};

// One entry per input channel of `normalization`: a band is in dB when its recorded unit is "dB"
// or, without recorded units, when its name ends in "_db".
std::vector<RadiometricChannel> radiometric_channels(const Normalization& normalization);

// A Gamma(shape, 1/shape) draw (mean 1, variance 1/shape): the intensity ratio of speckle with
// `shape` looks (Marsaglia and Tsang; shape < 1 through the u^(1/shape) boost). shape > 0.
double gamma_unit_mean(double shape, Rng& rng);

// One augmented view of the `region` x `region` window at (row, col) of `scene` (the window must
// lie inside the scene). Pixels outside the scene's valid area keep their value (0, the mean):
// gain and speckle are applied to valid pixels only. The result has channels x view_size^2
// inputs and no labels.
Patch make_sar_view(const PreparedScene& scene, int64_t row, int64_t col, int64_t region,
                    const SarViewOptions& options, const std::vector<RadiometricChannel>& channels,
                    Rng& rng);

// The un-augmented view of the region: the whole window resampled to view_size (what the
// collapse monitor embeds).
Patch make_plain_view(const PreparedScene& scene, int64_t row, int64_t col, int64_t region,
                      int64_t view_size);

}  // namespace sarseg::data
