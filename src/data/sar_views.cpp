#include "sarseg/data/sar_views.h"

#include <algorithm>
#include <cmath>

#include "sarseg/util/strings.h"

namespace sarseg::data {
namespace {

constexpr double kPi = 3.14159265358979323846;

// A standard normal draw (Box-Muller; the library's distributions differ between platforms).
double standard_normal(Rng& rng) {
  const double u1 = 1.0 - rng.uniform();  // (0, 1]
  const double u2 = rng.uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
}

// The validity of every pixel of the crop as a plane: carried through resampling (nearest) and
// the flips with the input, so gain and speckle find the valid pixels of the view.
std::vector<uint8_t> validity_plane(const PreparedScene& scene, int64_t row, int64_t col,
                                    int64_t crop) {
  std::vector<uint8_t> plane(static_cast<size_t>(crop * crop));
  for (int64_t r = 0; r < crop; ++r)
    for (int64_t c = 0; c < crop; ++c)
      plane[static_cast<size_t>(r * crop + c)] =
          scene.sample_valid.count(row + r, col + c, 1, 1) > 0 ? 1 : 0;
  return plane;
}

}  // namespace

std::vector<RadiometricChannel> radiometric_channels(const Normalization& normalization) {
  std::vector<RadiometricChannel> channels;
  for (size_t b = 0; b < normalization.bands.size(); ++b) {
    RadiometricChannel channel;
    channel.db = b < normalization.units.size() && !normalization.units[b].empty()
                     ? normalization.units[b] == "dB"
                     : ends_with(normalization.bands[b], "_db");
    channel.mean = b < normalization.mean.size() ? normalization.mean[b] : 0.0;
    channel.std =
        b < normalization.std.size() && normalization.std[b] > 0 ? normalization.std[b] : 1.0;
    channels.push_back(channel);
  }
  return channels;
}

double gamma_unit_mean(double shape, Rng& rng) {
  if (shape < 1.0) {
    // Gamma(a) = Gamma(a + 1) * U^(1/a).
    const double boosted = gamma_unit_mean(shape + 1.0, rng) * (shape + 1.0);
    const double u = 1.0 - rng.uniform();
    return boosted * std::pow(u, 1.0 / shape) / shape;
  }
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  while (true) {
    const double x = standard_normal(rng);
    const double v0 = 1.0 + c * x;
    if (v0 <= 0.0) continue;
    const double v = v0 * v0 * v0;
    const double u = 1.0 - rng.uniform();
    if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v / shape;
  }
}

Patch make_sar_view(const PreparedScene& scene, int64_t row, int64_t col, int64_t region,
                    const SarViewOptions& options, const std::vector<RadiometricChannel>& channels,
                    Rng& rng) {
  // Always the same number of draws before the per-pixel noise, whatever is switched off.
  const double side_u = rng.uniform();
  const double top_u = rng.uniform();
  const double left_u = rng.uniform();
  const bool flip_rows = rng.coin();
  const bool flip_cols = rng.coin();
  const int rot = static_cast<int>(rng.uniform_int(0, 3));
  const double gain_u = rng.uniform();

  const double fraction = std::clamp(options.min_crop_fraction, 0.0, 1.0) +
                          (1.0 - std::clamp(options.min_crop_fraction, 0.0, 1.0)) * side_u;
  const int64_t crop = std::clamp<int64_t>(
      static_cast<int64_t>(std::lround(fraction * static_cast<double>(region))), 1, region);
  const int64_t top = row + static_cast<int64_t>(top_u * static_cast<double>(region - crop + 1));
  const int64_t left = col + static_cast<int64_t>(left_u * static_cast<double>(region - crop + 1));

  Patch patch = extract_patch(scene, top, left, crop);
  patch.labels = {validity_plane(scene, top, left, crop)};
  if (crop != options.view_size) patch = resize_patch(patch, options.view_size);
  flip_rotate(patch, options.flips && flip_rows, options.flips && flip_cols,
              options.rot90 ? rot : 0);

  const double gain_db = options.gain_db * (2.0 * gain_u - 1.0);
  const int64_t n = patch.size;
  const std::vector<uint8_t>& valid = patch.labels.front();
  for (int64_t c = 0; c < patch.channels && c < static_cast<int64_t>(channels.size()); ++c) {
    const RadiometricChannel& channel = channels[static_cast<size_t>(c)];
    if (!channel.db) continue;
    float* plane = patch.input.data() + static_cast<size_t>(c * n * n);
    for (int64_t i = 0; i < n * n; ++i) {
      if (!valid[static_cast<size_t>(i)]) continue;
      // Multiplying linear intensity by g is adding 10 log10(g) dB; in z-score units / std.
      double offset_db = gain_db;
      if (options.speckle_looks > 0.0)
        offset_db += 10.0 * std::log10(gamma_unit_mean(options.speckle_looks, rng));
      plane[i] += static_cast<float>(offset_db / channel.std);
    }
  }
  patch.labels.clear();
  return patch;
}

Patch make_plain_view(const PreparedScene& scene, int64_t row, int64_t col, int64_t region,
                      int64_t view_size) {
  Patch patch = extract_patch(scene, row, col, region);
  patch.labels.clear();
  if (region != view_size) patch = resize_patch(patch, view_size);
  return patch;
}

}  // namespace sarseg::data
