// Deterministic random numbers for the simulator.
//
// std::mt19937_64 is specified bit-for-bit by the C++ standard, but std::normal_distribution and
// std::gamma_distribution are not (each standard library uses its own algorithm), so the
// distributions are written here: the same seed gives the same scene on every platform.
#pragma once

#include <cstdint>
#include <random>
#include <string_view>

namespace sarseg::synth {

// SplitMix64 finaliser: a fast, well-mixed 64-bit hash.
inline uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Hash of a seed and two integer coordinates (used for per-cell randomness without storage).
inline uint64_t hash_cell(uint64_t seed, int64_t a, int64_t b) {
  return mix64(seed ^ mix64(static_cast<uint64_t>(a) * 0x632be59bd9b4e019ULL ^
                            mix64(static_cast<uint64_t>(b) + 0x2545f4914f6cdd1dULL)));
}

// Uniform in [0, 1) from the top 53 bits of a hash.
inline double unit_from_hash(uint64_t h) {
  return static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0);
}

// Seed of an independent stream named `stream` derived from `seed` (FNV-1a of the name, mixed).
uint64_t derive_seed(uint64_t seed, std::string_view stream);

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  // Independent stream for one component of the simulator.
  Rng(uint64_t seed, std::string_view stream) : engine_(derive_seed(seed, stream)) {}

  uint64_t next() { return engine_(); }
  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0); }
  double uniform(double low, double high) { return low + (high - low) * uniform(); }
  // Integer in [low, high].
  int64_t uniform_int(int64_t low, int64_t high);
  // Standard normal (Marsaglia polar method; the second value is kept for the next call).
  double normal();
  double normal(double mean, double stddev) { return mean + stddev * normal(); }
  // Gamma(shape, scale 1) by Marsaglia & Tsang (2000); shape < 1 by the boost u^(1/shape).
  double gamma(double shape);
  // Index drawn with probability proportional to `weights[i]` (n entries, sum > 0).
  int choose(const double* weights, int n);

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

// Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9).
double inverse_normal_cdf(double p);

}  // namespace sarseg::synth
