#include "sarseg/train/ssl_losses.h"

#include <cmath>
#include <cstdio>

#include "sarseg/util/error.h"

namespace sarseg::train {
namespace {

// The off-diagonal elements of a square matrix, flattened.
torch::Tensor off_diagonal(const torch::Tensor& m) {
  const int64_t n = m.size(0);
  return m.flatten().slice(0, 0, n * n - 1).view({n - 1, n + 1}).slice(1, 1).flatten();
}

void check_pair(const torch::Tensor& z1, const torch::Tensor& z2, const char* what) {
  TORCH_CHECK(z1.dim() == 2 && z1.sizes() == z2.sizes(), what,
              ": embeddings must be two [N, D] tensors of the same shape");
  TORCH_CHECK(z1.size(0) >= 2, what, ": needs a batch of at least 2 samples");
}

std::string figure(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", value);
  return buffer;
}

}  // namespace

SslLossTerms vicreg_loss(const torch::Tensor& z1, const torch::Tensor& z2,
                         const VicregWeights& weights) {
  check_pair(z1, z2, "vicreg_loss");
  const int64_t n = z1.size(0);
  const int64_t d = z1.size(1);
  const torch::Tensor invariance = torch::mse_loss(z1, z2);
  const torch::Tensor x = z1 - z1.mean(0);
  const torch::Tensor y = z2 - z2.mean(0);
  const torch::Tensor std_x = torch::sqrt(x.var(0) + weights.epsilon);
  const torch::Tensor std_y = torch::sqrt(y.var(0) + weights.epsilon);
  const torch::Tensor variance = torch::relu(weights.std_target - std_x).mean() / 2 +
                                 torch::relu(weights.std_target - std_y).mean() / 2;
  const torch::Tensor cov_x = x.t().mm(x) / static_cast<double>(n - 1);
  const torch::Tensor cov_y = y.t().mm(y) / static_cast<double>(n - 1);
  const torch::Tensor covariance = off_diagonal(cov_x).pow(2).sum() / static_cast<double>(d) +
                                   off_diagonal(cov_y).pow(2).sum() / static_cast<double>(d);
  SslLossTerms terms;
  terms.total = weights.invariance * invariance + weights.variance * variance +
                weights.covariance * covariance;
  terms.invariance = invariance.item<double>();
  terms.variance = variance.item<double>();
  terms.covariance = covariance.item<double>();
  return terms;
}

SslLossTerms barlow_twins_loss(const torch::Tensor& z1, const torch::Tensor& z2, double lambda) {
  check_pair(z1, z2, "barlow_twins_loss");
  const double n = static_cast<double>(z1.size(0));
  const auto standardise = [](const torch::Tensor& z) {
    const torch::Tensor centred = z - z.mean(0);
    return centred / torch::sqrt(centred.pow(2).mean(0) + 1e-5);
  };
  const torch::Tensor c = standardise(z1).t().mm(standardise(z2)) / n;
  const torch::Tensor on_diagonal = (torch::diagonal(c) - 1).pow(2).sum();
  const torch::Tensor off = off_diagonal(c).pow(2).sum();
  SslLossTerms terms;
  terms.total = on_diagonal + lambda * off;
  terms.invariance = on_diagonal.item<double>();
  terms.variance = off.item<double>();
  return terms;
}

EmbeddingStats measure_embeddings(const torch::Tensor& z_in) {
  TORCH_CHECK(z_in.dim() == 2 && z_in.size(0) >= 2,
              "measure_embeddings: needs [N, D] embeddings with N >= 2");
  const torch::Tensor z = z_in.detach().to(torch::kCPU, torch::kDouble);
  EmbeddingStats stats;
  stats.samples = z.size(0);
  stats.dimensions = z.size(1);
  const torch::Tensor std = z.std(0);
  stats.mean_std = std.mean().item<double>();
  stats.min_std = std.min().item<double>();
  stats.max_std = std.max().item<double>();
  const auto* values = std.data_ptr<double>();
  stats.per_dimension_std.assign(values, values + std.numel());

  const torch::Tensor norms = z.norm(2, 1, /*keepdim=*/true).clamp_min(1e-12);
  stats.normalised_std =
      (z / norms).std(0).mean().item<double>() * std::sqrt(static_cast<double>(stats.dimensions));

  const torch::Tensor centred = z - z.mean(0);
  const torch::Tensor singular = torch::linalg_svdvals(centred);
  const double total = singular.sum().item<double>();
  // Rounding noise of a constant embedding has singular values too: below this share of the
  // embeddings' own size the centred part counts as nothing.
  const double scale = z.norm().item<double>();
  if (total <= 1e-9 * std::max(scale, 1e-30) || total <= 0.0) {
    stats.effective_rank = 0.0;
  } else {
    const torch::Tensor p = singular / total;
    const torch::Tensor entropy = -(p * torch::log(p.clamp_min(1e-30))).sum();
    stats.effective_rank = std::exp(entropy.item<double>());
  }
  return stats;
}

std::string collapse_problem(const EmbeddingStats& stats, const CollapseThresholds& thresholds) {
  std::string problem;
  if (stats.normalised_std < thresholds.min_normalised_std)
    problem = "the embeddings are nearly constant (normalised std " + figure(stats.normalised_std) +
              " < " + figure(thresholds.min_normalised_std) + ", mean per-dimension std " +
              figure(stats.mean_std) + ")";
  if (stats.effective_rank < thresholds.min_effective_rank)
    problem += std::string(problem.empty() ? "" : "; ") + "the embeddings span almost one " +
               "direction (effective rank " + figure(stats.effective_rank) + " < " +
               figure(thresholds.min_effective_rank) + " of at most " +
               std::to_string(std::min(stats.samples, stats.dimensions)) + ")";
  return problem;
}

}  // namespace sarseg::train
