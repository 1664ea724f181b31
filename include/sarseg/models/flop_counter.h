// FLOPs counted from the layers that actually run: every aten::convolution and matrix product
// (addmm/mm/bmm) executed on the calling thread while a function runs, from their input shapes.
// A multiply-add counts as 2 FLOPs; element-wise ops (BatchNorm, ReLU, pooling, upsampling) are
// not counted (they are a few percent of a CNN's arithmetic).
#pragma once

#include <cstdint>
#include <functional>

namespace sarseg::models {

struct FlopCount {
  double convolution = 0.0;  // FLOPs in convolutions
  double matmul = 0.0;       // FLOPs in matrix products (Linear layers)
  int64_t convolution_calls = 0;
  int64_t matmul_calls = 0;
  int64_t uncounted_calls = 0;  // convolutions / products whose inputs were not recorded
  double total() const { return convolution + matmul; }
};

// Runs `fn` once and counts its convolution and matrix-product FLOPs (forward ops only; wrap a
// forward pass). Not re-entrant: one count at a time per process.
FlopCount count_flops(const std::function<void()>& fn);

}  // namespace sarseg::models
