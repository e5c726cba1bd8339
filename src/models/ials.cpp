#include "reckon/models/ials.hpp"

#include <omp.h>
#include <spdlog/spdlog.h>

#include <Eigen/Cholesky>
#include <Eigen/Dense>
#include <cmath>

#include "reckon/core/distributed.hpp"
#include "reckon/core/error.hpp"
#include "reckon/core/prefetch.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/core/threads.hpp"

namespace reckon {

std::vector<ParamSpec> IalsModel::param_specs() {
  return {
      {"factors", ParamType::kInt, "64", 1, 4096, "latent factors"},
      {"iterations", ParamType::kInt, "15", 1, 1000, "ALS sweeps (users then items)"},
      {"regularization", ParamType::kFloat, "10", 0, 1e6, "L2 penalty on the factors"},
      {"alpha", ParamType::kFloat, "50", 0, 1e6, "confidence slope: c = 1 + alpha * weight"},
      {"solver",
       ParamType::kString,
       "cg",
       0,
       -1,
       "cg (a few warm-started CG steps) or cholesky (exact)",
       {"cg", "cholesky"}},
      {"cg_steps", ParamType::kInt, "3", 1, 100, "conjugate-gradient steps per solve"},
      {"init_scale", ParamType::kFloat, "0.01", 0, 10, "standard deviation of the initial factors"},
      {"reg_exponent", ParamType::kFloat, "0.5", 0, 2,
       "frequency-scaled regularisation: a row with n interactions gets regularization * "
       "n^exponent "
       "(1 = ALS-WR, Zhou et al. 2008)"},
  };
}

namespace {

using Vec = Eigen::VectorXf;

// Per-row settings of one half-step.
struct HalfStep {
  float alpha, base_reg, reg_exponent;
  int cg_steps;
  float reg(std::size_t n) const {
    return base_reg * std::pow(static_cast<float>(n), reg_exponent);
  }
};

// The exact solve of one row: A = YtY + reg I + sum (c - 1) y y^T, b = sum c y.
void solve_row_cholesky(const CsrMatrix& m, const FactorMatrix& y, const Eigen::MatrixXf& yty,
                        const HalfStep& h, index_t u, Eigen::MatrixXf& a, Vec& b,
                        Eigen::Map<Vec> xu) {
  const auto items = m.row_indices(u);
  const auto values = m.row_values(u);
  a = yty;
  a.diagonal().array() += h.reg(items.size());
  b.setZero();
  for (std::size_t k = 0; k < items.size(); ++k) {
    const float c = 1.0f + h.alpha * values[k];
    const auto yi = y.row(items[k]).transpose();
    a.selfadjointView<Eigen::Lower>().rankUpdate(yi, c - 1.0f);
    b.noalias() += c * yi;
  }
  xu = a.selfadjointView<Eigen::Lower>().llt().solve(b);
}

// How many gathered rows ahead the gather prefetches.
constexpr Eigen::Index kAhead = 8;

// Warm-started conjugate gradient for a block of rows in lock step, so that the dense part of
// every CG step (YtY times the search directions) is one matrix product for the block instead
// of one matrix-vector product per row (perf: that product was a third of the fit, and the
// gathers of the rows' factors most of the rest). Each row's factors y_i are gathered once into
// a contiguous buffer and reused by all the steps.
class BlockCg {
 public:
  explicit BlockCg(Eigen::Index f) : f_(f) {}

  // The gathered factors of block row r.
  auto rows_of(Eigen::Index r) const {
    return gathered_.middleRows(offsets_[r], offsets_[r + 1] - offsets_[r]);
  }

  // Solves rows `rows` (none empty) of `x` against `y`: a few CG steps warm-started from the
  // current x, for A = YtY + reg I + sum (c - 1) y y^T and b = sum c y over each row of `m`.
  void solve(const CsrMatrix& m, const FactorMatrix& y, const Eigen::MatrixXf& yty,
             const HalfStep& h, std::span<const index_t> rows, FactorMatrix& x) {
    const auto nb = static_cast<Eigen::Index>(rows.size());
    offsets_.assign(1, 0);
    for (index_t u : rows) offsets_.push_back(offsets_.back() + m.row_size(u));
    const Eigen::Index total = offsets_.back();
    gathered_.resize(total, f_);
    c1_.resize(total);
    t_.resize(total);
    reg_.resize(nb);
    xb_.resize(nb, f_);
    // The gather reads rows of y at random: it waited on memory (perf: 70% of this function
    // on the copy) until each row was prefetched a few rows ahead.
    const col_t* first = m.row_indices(rows.front()).data();
    const col_t* last = m.row_indices(rows.back()).data() + m.row_size(rows.back());
    const bool contiguous = last - first == total;  // consecutive rows: one index range
    for (Eigen::Index r = 0; r < nb; ++r) {
      const index_t u = rows[static_cast<std::size_t>(r)];
      const auto items = m.row_indices(u);
      const auto values = m.row_values(u);
      for (std::size_t k = 0; k < items.size(); ++k) {
        const Eigen::Index at = offsets_[r] + static_cast<Eigen::Index>(k);
        if (contiguous && at + kAhead < total)
          prefetch_floats(y.row(first[at + kAhead]).data(), f_);
        gathered_.row(at) = y.row(items[k]);
        c1_[at] = h.alpha * values[k];
      }
      reg_[r] = h.reg(items.size());
      xb_.row(r) = x.row(u);
    }
    // r = b - A x, with b = sum c y = sum (1 + c1) y.
    rb_.noalias() = xb_ * yty;  // negated below, row by row
    for (Eigen::Index r = 0; r < nb; ++r) {
      const auto g = rows_of(r);
      const auto c1 = c1_.segment(offsets_[r], g.rows());
      auto t = t_.segment(offsets_[r], g.rows());  // slices of one buffer: no allocation per row
      t.noalias() = g * xb_.row(r).transpose();
      t = (1.0f + c1.array() - c1.array() * t.array()).matrix();
      rb_.row(r) = -rb_.row(r) - reg_[r] * xb_.row(r);
      rb_.row(r).noalias() += t.transpose() * g;
    }
    pb_ = rb_;
    rs_ = rb_.rowwise().squaredNorm();
    active_.assign(static_cast<std::size_t>(nb), true);
    for (int step = 0; step < h.cg_steps; ++step) {
      bool any = false;
      for (Eigen::Index r = 0; r < nb; ++r) {
        if (active_[r] && !(rs_[r] > 1e-20f)) active_[r] = false;
        if (!active_[r]) pb_.row(r).setZero();
        any = any || active_[r];
      }
      if (!any) break;
      apb_.noalias() = pb_ * yty;
      for (Eigen::Index r = 0; r < nb; ++r) {
        if (!active_[r]) continue;
        const auto g = rows_of(r);
        const auto c1 = c1_.segment(offsets_[r], g.rows());
        auto t = t_.segment(offsets_[r], g.rows());
        t.noalias() = g * pb_.row(r).transpose();
        t.array() *= c1.array();
        apb_.row(r) += reg_[r] * pb_.row(r);
        apb_.row(r).noalias() += t.transpose() * g;
        const float pap = pb_.row(r).dot(apb_.row(r));
        if (pap <= 0) {
          active_[r] = false;
          continue;
        }
        const float step_size = rs_[r] / pap;
        xb_.row(r) += step_size * pb_.row(r);
        rb_.row(r) -= step_size * apb_.row(r);
        const float rs_new = rb_.row(r).squaredNorm();
        pb_.row(r) = rb_.row(r) + (rs_new / rs_[r]) * pb_.row(r);
        rs_[r] = rs_new;
      }
    }
    for (Eigen::Index r = 0; r < nb; ++r) x.row(rows[static_cast<std::size_t>(r)]) = xb_.row(r);
  }

 private:
  Eigen::Index f_;
  std::vector<Eigen::Index> offsets_;
  FactorMatrix gathered_, xb_, rb_, pb_, apb_;
  Vec c1_, reg_, rs_, t_;
  std::vector<bool> active_;
};

// Rows per CG block, and the largest row gathered with others (a longer row, the most popular
// item of a large catalogue, is solved alone: its gather is as large as the row).
constexpr index_t kCgBlock = 64;
constexpr index_t kGatherLimit = 1 << 20;  // floats: 4 MB

// Y^T Y: on one process, of every row; distributed, each rank's share of the rows (the ranks
// share y's rows as `shares` says) summed over the ranks.
Eigen::MatrixXf gram(const FactorMatrix& y, Communicator* comm,
                     std::span<const std::int64_t> shares, int threads) {
  if (!comm) return gram_matrix(y, threads);
  const auto r = static_cast<std::size_t>(comm->rank());
  Eigen::MatrixXf g = gram_matrix(y.middleRows(shares[r], shares[r + 1] - shares[r]), threads);
  comm->sum(std::span<float>(g.data(), static_cast<std::size_t>(g.size())));
  return g;
}

// One half-step: solve rows [first, last) of `x` (rows of `m`) against the fixed factors `y`.
void solve_rows(const CsrMatrix& m, const FactorMatrix& y, const Eigen::MatrixXf& yty,
                FactorMatrix& x, const HalfStep& h, bool cholesky, int threads, index_t first,
                index_t last) {
  const Eigen::Index f = y.cols();
  const index_t blocks = (last - first + kCgBlock - 1) / kCgBlock;
#pragma omp parallel num_threads(threads)
  {
    Vec b(f);
    Eigen::MatrixXf a(f, f);
    BlockCg cg(f);
    std::vector<index_t> rows, heavy;
#pragma omp for schedule(dynamic, 4)
    for (index_t blk = 0; blk < blocks; ++blk) {
      rows.clear();
      heavy.clear();
      const index_t start = first + blk * kCgBlock;
      for (index_t u = start; u < std::min(last, start + kCgBlock); ++u) {
        if (m.row_size(u) == 0) {
          x.row(u).setZero();
        } else if (cholesky) {
          solve_row_cholesky(m, y, yty, h, u, a, b, Eigen::Map<Vec>(x.row(u).data(), f));
        } else if (m.row_size(u) * f > kGatherLimit) {
          heavy.push_back(u);
        } else {
          rows.push_back(u);
        }
      }
      if (!rows.empty()) cg.solve(m, y, yty, h, rows, x);
      for (index_t u : heavy) cg.solve(m, y, yty, h, std::span<const index_t>(&u, 1), x);
    }
  }
}

}  // namespace

void IalsModel::fit(const Dataset& train, const Params& params, FitContext& ctx) {
  const auto f = params.get_int("factors");
  const auto iterations = params.get_int("iterations");
  alpha_ = static_cast<float>(params.get_float("alpha"));
  regularization_ = static_cast<float>(params.get_float("regularization"));
  reg_exponent_ = static_cast<float>(params.get_float("reg_exponent"));
  const bool cholesky = params.get_string("solver") == "cholesky";
  const int cg_steps = static_cast<int>(params.get_int("cg_steps"));
  const int threads = ctx.threads > 0 ? ctx.threads : omp_get_max_threads();
  const float scale = static_cast<float>(params.get_float("init_scale"));

  const CsrMatrix& ui = train.interactions;
  const CsrMatrix iu = ui.transposed();
  user_factors_.resize(ui.rows(), f);
  item_factors_.resize(ui.cols(), f);
  random_init(user_factors_, scale, ctx.seed);
  random_init(item_factors_, scale, ctx.seed + 1);
  remember_history_sizes(ui);

  const HalfStep half{alpha_, regularization_, reg_exponent_, cg_steps};
  // Distributed (mpirun ... --distributed): every rank starts from the same factors (same
  // seed), solves its share of the users, then every rank gets every user's new factors; the
  // same for the items. The Gram matrices are each rank's share summed. So each half-step
  // computes what one process would, up to the order of the Gram's sums.
  Communicator* comm = distributed();
  if (comm && comm->size() < 2) comm = nullptr;
  const int ranks = comm ? comm->size() : 1, rank = comm ? comm->rank() : 0;
  const std::vector<std::int64_t> user_shares = balanced_shares(ui.indptr(), ranks);
  const std::vector<std::int64_t> item_shares = balanced_shares(iu.indptr(), ranks);
  const double comm_before = comm ? comm->seconds_communicating() : 0;
  Progress progress("fit ials", static_cast<double>(iterations), "iterations");
  for (std::int64_t it = 0; it < iterations; ++it) {
    const Eigen::MatrixXf yty = gram(item_factors_, comm, item_shares, threads);
    solve_rows(ui, item_factors_, yty, user_factors_, half, cholesky, threads, user_shares[rank],
               user_shares[rank + 1]);
    if (comm) comm->gather_rows(user_factors_.data(), user_shares, f);
    const Eigen::MatrixXf xtx = gram(user_factors_, comm, user_shares, threads);
    solve_rows(iu, user_factors_, xtx, item_factors_, half, cholesky, threads, item_shares[rank],
               item_shares[rank + 1]);
    if (comm) comm->gather_rows(item_factors_.data(), item_shares, f);
    progress.update(static_cast<double>(it + 1));
  }
  progress.finish();
  if (comm)
    spdlog::info("ials: rank {} of {}: {} users, {} items; {:.2f} s communicating", rank, ranks,
                 user_shares[rank + 1] - user_shares[rank],
                 item_shares[rank + 1] - item_shares[rank],
                 comm->seconds_communicating() - comm_before);
  yty_ = gram_matrix(item_factors_, threads);
}

void IalsModel::normal_equations(const UserContext& user, Eigen::MatrixXf& a,
                                 Eigen::VectorXf& b) const {
  const Eigen::Index f = item_factors_.cols();
  a = yty_;
  a.diagonal().array() +=
      regularization_ *
      std::pow(static_cast<float>(std::max<std::size_t>(user.history.size(), 1)), reg_exponent_);
  b = Vec::Zero(f);
  // A = YtY + reg + sum (c_i - 1) y_i y_i^T as one rank-n update of the gathered, scaled rows
  // (a blocked product: 4x faster than n rank-1 updates, which the service does per request).
  const auto n = static_cast<Eigen::Index>(user.history.size());
  Eigen::MatrixXf scaled(f, n);
  for (Eigen::Index k = 0; k < n; ++k) {
    const float w = user.weights.empty() ? 1.0f : user.weights[static_cast<std::size_t>(k)];
    const float c = 1.0f + alpha_ * w;
    const auto yi = item_factors_.row(user.history[static_cast<std::size_t>(k)]).transpose();
    if (c >= 1.0f) {
      scaled.col(k) = std::sqrt(c - 1.0f) * yi;
    } else {  // a negative weight: a rank-1 downdate of its own
      scaled.col(k).setZero();
      a.selfadjointView<Eigen::Lower>().rankUpdate(yi, c - 1.0f);
    }
    b.noalias() += c * yi;
  }
  if (n > 0) a.selfadjointView<Eigen::Lower>().rankUpdate(scaled);
}

Eigen::VectorXf IalsModel::fold_in(const UserContext& user) const {
  // The exact least-squares solution for this history: microseconds at 64 factors.
  if (user.history.empty()) return Vec::Zero(item_factors_.cols());
  Eigen::MatrixXf a;
  Vec b;
  normal_equations(user, a, b);
  return a.selfadjointView<Eigen::Lower>().llt().solve(b);
}

std::vector<std::vector<HistoryContribution>> IalsModel::explain_history(
    const UserContext& user, std::span<const index_t> items, std::size_t top) const {
  for (const index_t i : user.history)
    RECKON_CHECK(i >= 0 && i < item_factors_.rows(), "history item index {} out of range", i);
  Eigen::MatrixXf a;
  Vec b;
  normal_equations(user, a, b);
  const auto llt = a.selfadjointView<Eigen::Lower>().llt();
  // z_k = A^-1 y_{items[k]}; history entry h adds c_h (z_k . y_h) to that item's score.
  std::vector<Vec> z(items.size());
  for (std::size_t k = 0; k < items.size(); ++k)
    if (items[k] >= 0 && items[k] < item_factors_.rows())
      z[k] = llt.solve(item_factors_.row(items[k]).transpose());
  return history_contributions(user, items, top, [&](std::size_t h, std::size_t k) {
    if (z[k].size() == 0) return 0.0f;
    const float w = user.weights.empty() ? 1.0f : user.weights[h];
    return (1.0f + alpha_ * w) * z[k].dot(item_factors_.row(user.history[h]).transpose());
  });
}

void IalsModel::save_extra(BinaryWriter& w) const {
  w.put<float>(alpha_);
  w.put<float>(regularization_);
  w.put<float>(reg_exponent_);
}

void IalsModel::load_extra(BinaryReader& r) {
  alpha_ = r.get<float>();
  regularization_ = r.get<float>();
  reg_exponent_ = r.get<float>();
  yty_ = gram_matrix(item_factors_, thread_budget());
}

}  // namespace reckon
