#pragma once
// Bayesian biased matrix factorisation by Gibbs sampling (BPMF, Salakhutdinov & Mnih 2008, with
// the user and item biases as one more Gaussian coordinate of each vector): the `mcmc` solver of
// `mf` and `svdpp`. Predictions are averaged over the posterior samples; the average of the samples' dot
// products p_u^s . q_i^s is itself one dot product of the concatenated samples, so the result
// is an ordinary factor model of samples x factors dimensions.
#include <cstdint>
#include <vector>

#include "reckon/core/csr_matrix.hpp"
#include "reckon/models/factor_model.hpp"

namespace reckon::detail {

struct GibbsOptions {
  int factors = 10;
  int burn_in = 20;       // sweeps discarded
  int samples = 100;      // sweeps averaged
  double precision = 2;   // of the rating noise (1 / variance)
  std::uint64_t seed = 42;
};

struct GibbsResult {
  FactorMatrix users, items;  // n x (samples * factors); users scaled by 1 / samples
  std::vector<float> user_bias, item_bias;  // posterior means
};

// `ratings` users x items; `mu` the global mean rating.
GibbsResult gibbs_mf(const CsrMatrix& ratings, float mu, const GibbsOptions& options);

// Bayesian SVD++: r_ui = mu + b_u + b_i + q_i . (p_u + |N(u)|^-1/2 sum_{j in N(u)} y_j), the
// implicit factors y_j sampled one item at a time. `users` holds p_u + the implicit part (as
// SvdppModel stores them); `implicit` gets the y_j samples, scaled by 1 / samples like `users`.
GibbsResult gibbs_svdpp(const CsrMatrix& ratings, float mu, const GibbsOptions& options,
                        FactorMatrix& implicit);

}  // namespace reckon::detail
