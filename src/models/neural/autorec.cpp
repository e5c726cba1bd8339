#include "reckon/models/neural/autorec.hpp"

#include <Eigen/Cholesky>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "reckon/core/error.hpp"
#include "reckon/core/random.hpp"
#include "reckon/core/threads.hpp"
#include "trainers.hpp"

namespace reckon {

std::vector<ParamSpec> AutoRecModel::param_specs() {
  return {
      {"hidden", ParamType::kInt, "500", 1, 1 << 16, "units of the code (the paper: 500)"},
      // 100: the best validation RMSE (5% of ML-100K u1.base) of 1, 20, 100, 300 and 1000.
      {"lambda", ParamType::kFloat, "100", 0, 1e6,
       "L2 weight of the encoder and decoder weights (lambda/2 |W|^2 per pass over the items)"},
      {"epochs", ParamType::kInt, "500", 1, 100000, "the most passes over the items"},
      {"patience", ParamType::kInt, "20", 0, 100000,
       "stop after this many epochs without a better validation RMSE (0: run every epoch)"},
      {"batch_size", ParamType::kInt, "64", 1, 1 << 20, "items per update"},
      {"learning_rate", ParamType::kFloat, "0.001", 1e-7, 1, "Adam's step size"},
      {"validation", ParamType::kFloat, "0.05", 0, 0.5,
       "share of the ratings held out of training for early stopping (0: none)"},
  };
}

void AutoRecModel::fit(const Dataset& train, const Params& params, FitContext& ctx) {
  neural::AutoRecOptions o;
  o.hidden = params.get_int("hidden");
  o.lambda = params.get_float("lambda");
  o.epochs = static_cast<int>(params.get_int("epochs"));
  o.patience = static_cast<int>(params.get_int("patience"));
  o.batch_size = params.get_int("batch_size");
  o.learning_rate = params.get_float("learning_rate");
  const CsrMatrix& x = train.interactions;
  RECKON_CHECK(x.nnz() > 0, "autorec: the training data has no ratings");
  if (!train.explicit_ratings && ctx.verbose)
    spdlog::warn("autorec: the data's values are not ratings; it predicts them all the same");

  // A random share of the ratings held out to stop on, never the test set.
  const double share = params.get_float("validation");
  Rng rng(ctx.seed ^ 0xa070ULL);
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
  lambda_ = static_cast<float>(o.lambda);
  const CsrMatrix fit_part = CsrMatrix::from_coordinates(x.rows(), x.cols(), fu, fi, fv, {},
                                                         DedupPolicy::kLast);
  const CsrMatrix valid = CsrMatrix::from_coordinates(x.rows(), x.cols(), vu, vi, vv, {},
                                                      DedupPolicy::kLast);
  neural::TrainedAutoRec t = neural::train_autorec(x, fit_part, valid, o, ctx);
  run_ = t.run;

  // Codes with a column of ones and rows with the bias: scores are one inner product.
  const Eigen::Index h = o.hidden;
  item_factors_.resize(x.cols(), h + 1);
  user_factors_.resize(x.rows(), h + 1);
  for (Eigen::Index i = 0; i < x.cols(); ++i) {
    for (Eigen::Index j = 0; j < h; ++j) item_factors_(i, j) = t.item_codes[static_cast<std::size_t>(i * h + j)];
    item_factors_(i, h) = 1.0f;
  }
  // Each user's output row is then solved exactly for the final codes (the ridge regression
  // training approximates by gradient steps): a training user and the same history folded in
  // get the same row, and the rows are the decoder's optimum for the codes.
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

Eigen::VectorXf AutoRecModel::fold_in(const UserContext& user) const {
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

nlohmann::json AutoRecModel::describe() const {
  nlohmann::json training = {{"epochs_run", run_.epochs_run},
                             {"best_epoch", run_.best_epoch},
                             {"seconds_per_epoch", run_.seconds_per_epoch}};
  if (std::isfinite(run_.best_validation)) training["validation_rmse"] = run_.best_validation;
  return {{"hidden", item_factors_.cols() - 1}, {"training", training}};
}

void AutoRecModel::save_extra(BinaryWriter& w) const {
  w.put<float>(lambda_);
  w.put<float>(mean_);
  w.put(run_);
}

void AutoRecModel::load_extra(BinaryReader& r) {
  lambda_ = r.get<float>();
  mean_ = r.get<float>();
  run_ = r.get<neural::TrainingRun>();
  RECKON_CHECK(std::isfinite(lambda_) && lambda_ >= 0 && lambda_ <= 1e6 && std::isfinite(mean_),
               "{}: corrupt autorec model", r.what());
  RECKON_CHECK(item_factors_.cols() >= 2, "{}: corrupt autorec model: no code", r.what());
}

}  // namespace reckon
