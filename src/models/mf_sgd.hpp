#pragma once
// The `sgd` solver of `mf`: biased matrix factorisation r_ui = mu + b_u + b_i + p_u . q_i by
// stochastic gradient descent with per-row AdaGrad steps (as LIBMF: one squared-gradient
// accumulator per user and per item, so that a row seen often takes smaller steps), over the
// ratings in a shuffled order, in parallel (lock-free updates over tasks handed out
// dynamically; with thousands of rows two threads rarely touch the same row at once).
#include <cstdint>
#include <vector>

#include "reckon/core/csr_matrix.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/models/factor_model.hpp"

namespace reckon::detail {

struct SgdOptions {
  int epochs = 15;
  int max_epochs = 60;          // with validation: epochs go on while the held-out ratings improve
  float learning_rate = 0.05f;  // AdaGrad's base step
  float decay = 1.0f;           // base step multiplier after each epoch
  // L2 on the factors: a row with n ratings is penalised (regularization * n +
  // prior_regularization) |x|^2. The first part grows with the data, as in ALS-WR; the second
  // is a prior that does not, and shrinks the rows with few ratings hardest.
  float regularization = 0.03f;
  float prior_regularization = 6.0f;
  float bias_regularization = 0.02f;
  // This share of the ratings is held out (0: none, exactly `epochs` epochs). After `epochs`,
  // the fit goes on up to `max_epochs` while their RMSE improves, stopping when it has not for
  // `patience` epochs and going back to the best of the epochs from `epochs` on. Sparse data,
  // whose factors take longer to grow from their small start, gets the epochs it needs; data
  // that would overfit stops where the defaults were tuned.
  double validation = 0.02;
  int patience = 3;
  int threads = 1;
  std::uint64_t seed = 42;
};

struct SgdResult {
  int epochs = 0;              // run
  int best_epoch = 0;          // kept
  double validation_rmse = 0;  // of the held-out ratings at the kept epoch (0: none held out)
};

// Fits `users`, `items` (initialised by the caller) and the biases (zero) to `ratings` (users x
// items) around the global mean `mu`.
SgdResult sgd_mf(const CsrMatrix& ratings, float mu, const SgdOptions& options, FactorMatrix& users,
                 FactorMatrix& items, std::vector<float>& user_bias, std::vector<float>& item_bias,
                 Progress& progress);

}  // namespace reckon::detail
