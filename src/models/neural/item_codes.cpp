#include "reckon/models/neural/item_codes.hpp"

#include <Eigen/Cholesky>

#include <algorithm>
#include <cmath>

#include "reckon/core/error.hpp"
#include "reckon/core/random.hpp"
#include "reckon/core/threads.hpp"

namespace reckon {

void ItemCodeModel::carve_validation(const CsrMatrix& x, double share, std::uint64_t seed,
                                     CsrMatrix& fit, CsrMatrix& valid) {
  RECKON_CHECK(x.nnz() > 0, "{}: the training data has no ratings", name());
  Rng rng(seed ^ 0xa070ULL);
  std::vector<index_t> fu, fi, vu, vi;
  std::vector<float> fv, vv;
  double sum = 0;
  for (index_t u = 0; u < x.rows(); ++u) {
    const auto items = x.row_indices(u);
    const auto values = x.row_values(u);
    for (std::size_t k = 0; k < items.size(); ++k) {
      sum += values[k];
      const bool held = share > 0 && rng.uniform() < share;
      (held ? vu : fu).push_back(u);
      (held ? vi : fi).push_back(items[k]);
      (held ? vv : fv).push_back(values[k]);
    }
  }
  mean_ = static_cast<float>(sum / static_cast<double>(x.nnz()));
  fit = CsrMatrix::from_coordinates(x.rows(), x.cols(), fu, fi, fv, {}, DedupPolicy::kLast);
  valid = CsrMatrix::from_coordinates(x.rows(), x.cols(), vu, vi, vv, {}, DedupPolicy::kLast);
}

void ItemCodeModel::set_codes(const std::vector<float>& codes, index_t hidden, const CsrMatrix& x,
                              float lambda, const neural::TrainingRun& run) {
  RECKON_ASSERT(codes.size() == static_cast<std::size_t>(x.cols() * hidden));
  lambda_ = lambda;
  run_ = run;
  // Codes with a column of ones and rows with the bias: scores are one inner product.
  const Eigen::Index h = hidden;
  item_factors_.resize(x.cols(), h + 1);
  user_factors_.resize(x.rows(), h + 1);
  for (Eigen::Index i = 0; i < x.cols(); ++i) {
    for (Eigen::Index j = 0; j < h; ++j)
      item_factors_(i, j) = codes[static_cast<std::size_t>(i * h + j)];
    item_factors_(i, h) = 1.0f;
  }
  const int threads = std::max(1, thread_budget());
#pragma omp parallel for schedule(dynamic, 16) num_threads(threads)
  for (Eigen::Index u = 0; u < x.rows(); ++u) {
    UserContext c;
    c.history = x.row_indices(u);
    c.weights = x.row_values(u);
    user_factors_.row(u) = fold_in(c).transpose();
  }
  remember_history_sizes(x);
}

Eigen::VectorXf ItemCodeModel::fold_in(const UserContext& user) const {
  // min sum over the history (r - w . h_i - b)^2 + lambda/2 |w|^2: training's problem for one
  // output row, the bias unpenalised but for a small ridge that keeps an empty history solvable
  // (it then predicts 0 everywhere; the recommender gives such a user the fallback).
  const Eigen::Index f = item_factors_.cols();
  Eigen::MatrixXf a = Eigen::MatrixXf::Identity(f, f) * (lambda_ / 2 + 1e-3f);
  a(f - 1, f - 1) = 1e-3f;
  Eigen::VectorXf b = Eigen::VectorXf::Zero(f);
  for (std::size_t k = 0; k < user.history.size(); ++k) {
    const index_t i = user.history[k];
    if (i < 0 || i >= item_factors_.rows()) continue;
    const float r = user.weights.empty() ? mean_ + 1.0f : user.weights[k];
    const auto q = item_factors_.row(i).transpose();
    a.selfadjointView<Eigen::Lower>().rankUpdate(q);
    b.noalias() += r * q;
  }
  return a.selfadjointView<Eigen::Lower>().llt().solve(b);
}

nlohmann::json ItemCodeModel::describe() const {
  nlohmann::json training = {{"epochs_run", run_.epochs_run},
                             {"best_epoch", run_.best_epoch},
                             {"seconds_per_epoch", run_.seconds_per_epoch}};
  if (std::isfinite(run_.best_validation)) training["validation_rmse"] = run_.best_validation;
  return {{"hidden", item_factors_.cols() - 1}, {"training", training}};
}

void ItemCodeModel::save_extra(BinaryWriter& w) const {
  w.put<float>(lambda_);
  w.put<float>(mean_);
  w.put(run_);
}

void ItemCodeModel::load_extra(BinaryReader& r) {
  lambda_ = r.get<float>();
  mean_ = r.get<float>();
  run_ = r.get<neural::TrainingRun>();
  RECKON_CHECK(std::isfinite(lambda_) && lambda_ >= 0 && lambda_ <= 1e6 && std::isfinite(mean_),
               "{}: corrupt {} model", r.what(), name());
  RECKON_CHECK(item_factors_.cols() >= 2, "{}: corrupt {} model: no code", r.what(), name());
}

}  // namespace reckon
