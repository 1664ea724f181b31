#include "sarseg/data/random.h"

namespace sarseg::data {
namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

uint64_t Rng::mix(uint64_t seed, std::initializer_list<uint64_t> keys) {
  uint64_t state = seed;
  uint64_t value = splitmix64(state);
  for (uint64_t key : keys) {
    state = value ^ (key * 0xD1B54A32D192ED03ULL + 0x8CB92BA72F3D8DD7ULL);
    value = splitmix64(state);
  }
  return value;
}

uint64_t Rng::next() {
  return splitmix64(state_);
}

int64_t Rng::uniform_int(int64_t low, int64_t high) {
  if (high <= low) return low;
  const uint64_t range = static_cast<uint64_t>(high - low) + 1;
  // Rejection removes the modulo bias.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % range;
  uint64_t value;
  do {
    value = next();
  } while (value >= limit);
  return low + static_cast<int64_t>(value % range);
}

double Rng::uniform() {
  return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0);
}

}  // namespace sarseg::data
