// Non-contrastive self-supervised objectives on two batches of embeddings of the same samples
// (z1[i] and z2[i] are two views of sample i), and the collapse monitor's measures.
//
//   auto terms = vicreg_loss(z1, z2, VicregWeights{});        // terms.total.backward()
//   auto stats = measure_embeddings(z);                       // std per dimension, effective rank
//
// VICReg (Bardes, Ponce, LeCun 2022) and Barlow Twins (Zbontar et al. 2021) need no negatives and
// no large batches, so they train on a CPU with batches of 16-32.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace sarseg::train {

struct VicregWeights {
  double invariance = 25.0;  // lambda: mean squared distance between the two views
  double variance = 25.0;    // mu: hinge keeping each dimension's std above `std_target`
  double covariance = 1.0;   // nu: squared off-diagonal covariances, per dimension
  double std_target = 1.0;   // gamma
  double epsilon = 1e-4;     // inside the square root of the variance
};

struct SslLossTerms {
  torch::Tensor total;  // differentiable
  // Unweighted parts: VICReg invariance / variance / covariance; Barlow Twins on-diagonal /
  // off-diagonal (then `covariance` is 0).
  double invariance = 0;
  double variance = 0;
  double covariance = 0;
};

// z1, z2: [N, D], N >= 2. The reference implementation's terms (facebookresearch/vicreg):
//   invariance = mean((z1 - z2)^2)
//   variance   = (mean_d relu(gamma - sqrt(var_d(z1) + eps)) + the same for z2) / 2 (unbiased var)
//   covariance = (sum_{i != j} C1_ij^2 + sum_{i != j} C2_ij^2) / D, C = centred z^T z / (N - 1)
//   total      = lambda invariance + mu variance + nu covariance
SslLossTerms vicreg_loss(const torch::Tensor& z1, const torch::Tensor& z2,
                         const VicregWeights& weights);

// Barlow Twins: each dimension standardised over the batch (biased std, eps 1e-5, as BatchNorm
// without affine), C = z1n^T z2n / N, total = sum_i (1 - C_ii)^2 + lambda sum_{i != j} C_ij^2.
// The parts are reported as invariance = on-diagonal sum, variance = off-diagonal sum.
SslLossTerms barlow_twins_loss(const torch::Tensor& z1, const torch::Tensor& z2, double lambda);

// What the collapse monitor logs about a batch of embeddings z [N, D].
struct EmbeddingStats {
  int64_t samples = 0;
  int64_t dimensions = 0;
  double mean_std = 0;  // per-dimension std (unbiased), averaged over dimensions
  double min_std = 0;
  double max_std = 0;
  // Per-dimension std of the L2-normalised rows times sqrt(D): about 1 for embeddings spread over
  // the sphere, 0 for a constant embedding, whatever their scale.
  double normalised_std = 0;
  // exp(entropy of the normalised singular values of the centred z) (RankMe): 1 = one direction,
  // up to min(N, D); 0 when the centred embeddings vanish.
  double effective_rank = 0;
  std::vector<double> per_dimension_std;
};
EmbeddingStats measure_embeddings(const torch::Tensor& z);

// When embeddings count as collapsed (the pretrain options hold the thresholds).
struct CollapseThresholds {
  double min_normalised_std = 0.05;
  double min_effective_rank = 1.5;
};
// "" when healthy, else what collapsed, with the figures.
std::string collapse_problem(const EmbeddingStats& stats, const CollapseThresholds& thresholds);

}  // namespace sarseg::train
