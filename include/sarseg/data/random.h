// Small deterministic random numbers for sampling and augmentation.
//
// Every random decision of the data pipeline is drawn from an Rng seeded by mixing the run seed
// with what is being decided (epoch, sample index, ...), so a batch's content depends only on
// (seed, epoch, index), never on thread timing, and the same on every platform (the standard
// library's distributions are implementation-defined, so they are not used).
#pragma once

#include <cstdint>
#include <initializer_list>

namespace sarseg::data {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  // A seed derived from a base seed and any number of keys (splitmix64 chained).
  static uint64_t mix(uint64_t seed, std::initializer_list<uint64_t> keys);

  uint64_t next();
  // Uniform integer in [low, high] (inclusive).
  int64_t uniform_int(int64_t low, int64_t high);
  // Uniform in [0, 1).
  double uniform();
  bool coin() { return (next() >> 63) != 0; }
  // Standard normal (Box-Muller, two uniforms per value).
  double normal();
  // Gamma(shape, 1), shape > 0 (Marsaglia and Tsang; shape < 1 through Gamma(shape + 1)).
  double gamma(double shape);
  // Beta(a, b) = X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b).
  double beta(double a, double b);

 private:
  uint64_t state_;
};

}  // namespace sarseg::data
