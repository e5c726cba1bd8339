#include "reckon/models/mf.hpp"

#include <omp.h>
#include <spdlog/spdlog.h>

#include <Eigen/Cholesky>
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <numeric>

#include "mf_gibbs.hpp"
#include "mf_sgd.hpp"
#include "reckon/core/error.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/core/random.hpp"

namespace reckon {
namespace {

std::vector<ParamSpec> rating_specs(const char* factors, const char* epochs, const char* lr,
                                    const char* decay, const char* reg, const char* bias_reg) {
  return {
      {"factors", ParamType::kInt, factors, 1, 4096, "latent factors"},
      {"epochs", ParamType::kInt, epochs, 1, 100000, "passes over the ratings"},
      {"learning_rate", ParamType::kFloat, lr, 0, 10, "initial SGD step"},
      {"decay", ParamType::kFloat, decay, 0, 1, "learning rate multiplier after each epoch"},
      {"regularization", ParamType::kFloat, reg, 0, 100, "L2 penalty on factors"},
      {"bias_regularization", ParamType::kFloat, bias_reg, 0, 100, "L2 penalty on biases"},
      {"init_scale", ParamType::kFloat, "0.01", 0, 10, "standard deviation of the initial factors"},
  };
}

// The solvers' own defaults where factors and epochs are 0. sgd's were chosen on validation
// sets carved from the training parts of ML-100K u1 and ML-1M 90/10 (docs/BENCHMARKS.md).
struct SolverDefaults {
  std::int64_t factors, epochs;
};
SolverDefaults defaults_of(const std::string& solver) {
  if (solver == "sgd") return {128, 15};
  if (solver == "als") return {64, 15};
  return {10, 100};  // mcmc: 100 samples after the burn-in
}
}  // namespace

std::vector<ParamSpec> MfModel::param_specs() {
  // The default solver is mcmc (10 factors, 100 samples after 20 sweeps, noise learned): 0.9045
  // RMSE on u1. sgd is the fast one.
  auto specs = rating_specs("0", "0", "0.05", "1", "0.03", "0.02");
  specs[0].min = specs[1].min = 0;
  specs[0].doc = "latent factors (0: the solver's default: sgd 128, als 64, mcmc 10)";
  specs[1].doc =
      "passes over the ratings; sgd: at least (see validation); als: iterations; mcmc: "
      "samples kept (0: the solver's default: sgd 15, als 15, mcmc 100)";
  specs[2].doc = "sgd: AdaGrad's base step (per-row steps shrink as gradients accumulate)";
  specs.push_back({"prior_regularization", ParamType::kFloat, "6", 0, 1e6,
                   "sgd, als: L2 on factors not scaled by counts: a row with n ratings is "
                   "penalised (regularization * n + prior_regularization) |x|^2, which shrinks "
                   "rows with few ratings hardest"});
  specs.push_back({"validation", ParamType::kFloat, "0.02", 0, 0.5,
                   "sgd: share of the training ratings held out; after `epochs` the fit goes on "
                   "(up to max_epochs) while their RMSE improves, and keeps the best epoch, so "
                   "that sparse data, whose factors grow slowly, gets the epochs it needs; 0: "
                   "exactly `epochs` epochs on all ratings"});
  specs.push_back(
      {"max_epochs", ParamType::kInt, "60", 1, 100000, "sgd with validation: the most epochs"});
  specs.push_back(
      {"solver",
       ParamType::kString,
       "mcmc",
       0,
       -1,
       "sgd (fast: parallel blocked SGD with AdaGrad steps); als (alternating ridge regressions "
       "of factors and biases; epochs = ALS iterations); or mcmc (Bayesian MF by Gibbs "
       "sampling, predictions averaged over samples; the most accurate, several times slower; "
       "epochs = samples kept)",
       {"sgd", "als", "mcmc"}});
  specs.push_back({"burn_in", ParamType::kInt, "20", 0, 100000, "mcmc: sweeps discarded first"});
  specs.push_back(
      {"noise_precision", ParamType::kFloat, "0", 0, 1000,
       "mcmc: precision (1/variance) of the rating noise; 0: sampled from its posterior"});
  return specs;
}

bool MfModel::known_unchanged(const UserContext& user) const {
  return user.user && *user.user >= 0 &&
         static_cast<std::size_t>(*user.user) < history_sizes_.size() &&
         static_cast<std::size_t>(history_sizes_[*user.user]) == user.history.size();
}

float MfModel::user_bias(const UserContext& user) const {
  if (known_unchanged(user)) return user_bias_[*user.user];
  if (user.history.empty() || user.weights.empty()) return 0.0f;
  // Shrunk mean residual of the given ratings.
  double sum = 0;
  for (std::size_t k = 0; k < user.history.size(); ++k)
    sum += user.weights[k] - mu_ - item_bias_[user.history[k]];
  return static_cast<float>(sum / (static_cast<double>(user.history.size()) + 5.0));
}

namespace {

// One ALS half-step for biased MF: for each row r of `m` (ratings), solve for [x_r, b_r] given
// the other side's factors `y` and biases `by`: minimise
//   sum_k (v_k - mu - by_k - b_r - x_r . y_k)^2 + (reg * n_r + prior) |x_r|^2 + breg * n_r b_r^2.
void als_rows(const CsrMatrix& m, const FactorMatrix& y, const std::vector<float>& by, float mu,
              float reg, float prior, float breg, int threads, FactorMatrix& x,
              std::vector<float>& bx) {
  const Eigen::Index f = y.cols();
#pragma omp parallel num_threads(threads)
  {
    // The row's other-side factors (and a 1 for the bias) gathered into one matrix, so that
    // A = G^T G is one blocked rank-n update instead of n rank-1 updates (the fit 3x faster at
    // 64 factors on ML-1M).
    Eigen::MatrixXf a(f + 1, f + 1), g;
    Eigen::VectorXf rhs(f + 1), t;
#pragma omp for schedule(dynamic, 16)
    for (index_t r = 0; r < m.rows(); ++r) {
      const auto cols = m.row_indices(r);
      const auto vals = m.row_values(r);
      if (cols.empty()) {
        x.row(r).setZero();
        bx[r] = 0;
        continue;
      }
      const auto n = static_cast<Eigen::Index>(cols.size());
      g.resize(n, f + 1);
      t.resize(n);
      for (Eigen::Index k = 0; k < n; ++k) {
        g.row(k).head(f) = y.row(cols[k]);
        g(k, f) = 1.0f;
        t[k] = vals[k] - mu - by[cols[k]];
      }
      a.setZero();
      a.selfadjointView<Eigen::Lower>().rankUpdate(g.transpose());
      rhs.noalias() = g.transpose() * t;
      a.diagonal().head(f).array() += reg * static_cast<float>(n) + prior;
      a(f, f) += breg * static_cast<float>(n);
      const Eigen::VectorXf sol = a.selfadjointView<Eigen::Lower>().llt().solve(rhs);
      x.row(r) = sol.head(f).transpose();
      bx[r] = sol[f];
    }
  }
}

}  // namespace

void MfModel::initialise(const CsrMatrix& m, Eigen::Index f, const Params& params,
                         const FitContext& ctx) {
  RECKON_CHECK(m.nnz() > 0, "{}: no ratings to learn from", name());
  regularization_ = static_cast<float>(params.get_float("regularization"));
  mu_ = 0;
  for (float v : m.values()) mu_ += v;
  mu_ /= static_cast<float>(m.nnz());
  user_factors_.resize(m.rows(), f);
  item_factors_.resize(m.cols(), f);
  random_init(user_factors_, static_cast<float>(params.get_float("init_scale")), ctx.seed);
  random_init(item_factors_, static_cast<float>(params.get_float("init_scale")), ctx.seed + 1);
  user_bias_.assign(static_cast<std::size_t>(m.rows()), 0.0f);
  item_bias_.assign(static_cast<std::size_t>(m.cols()), 0.0f);
  remember_history_sizes(m);
}

void MfModel::fit(const Dataset& train, const Params& params, FitContext& ctx) {
  const std::string& solver = params.get_string("solver");
  const SolverDefaults defaults = defaults_of(solver);
  const auto f = params.get_int("factors") > 0 ? params.get_int("factors") : defaults.factors;
  const auto epochs = params.get_int("epochs") > 0 ? params.get_int("epochs") : defaults.epochs;
  const float breg = static_cast<float>(params.get_float("bias_regularization"));
  const float prior = static_cast<float>(params.get_float("prior_regularization"));
  const int threads = ctx.threads > 0 ? ctx.threads : omp_get_max_threads();
  const CsrMatrix& m = train.interactions;
  initialise(m, f, params, ctx);
  if (solver == "mcmc") {
    detail::GibbsOptions o;
    o.factors = static_cast<int>(f);
    o.burn_in = static_cast<int>(params.get_int("burn_in"));
    o.samples = static_cast<int>(epochs);
    o.precision = params.get_float("noise_precision");
    o.seed = ctx.seed;
    auto g = detail::gibbs_mf(m, mu_, o);
    user_factors_ = std::move(g.users);
    item_factors_ = std::move(g.items);
    user_bias_ = std::move(g.user_bias);
    item_bias_ = std::move(g.item_bias);
    return;
  }
  if (solver == "als") {
    const CsrMatrix t = m.transposed();
    Progress progress("fit mf (als)", static_cast<double>(epochs), "iterations");
    for (std::int64_t e = 0; e < epochs; ++e) {
      als_rows(m, item_factors_, item_bias_, mu_, regularization_, prior, breg, threads,
               user_factors_, user_bias_);
      als_rows(t, user_factors_, user_bias_, mu_, regularization_, prior, breg, threads,
               item_factors_, item_bias_);
      progress.update(static_cast<double>(e + 1));
    }
    progress.finish();
    return;
  }
  detail::SgdOptions o;
  o.epochs = static_cast<int>(epochs);
  o.learning_rate = static_cast<float>(params.get_float("learning_rate"));
  o.decay = static_cast<float>(params.get_float("decay"));
  o.regularization = regularization_;
  o.prior_regularization = prior;
  o.bias_regularization = breg;
  o.validation = params.get_float("validation");
  o.max_epochs = static_cast<int>(params.get_int("max_epochs"));
  o.threads = threads;
  o.seed = ctx.seed;
  Progress progress("fit mf (sgd)", static_cast<double>(epochs), "epochs");
  const detail::SgdResult r =
      detail::sgd_mf(m, mu_, o, user_factors_, item_factors_, user_bias_, item_bias_, progress);
  if (o.validation > 0 && ctx.verbose)
    spdlog::info("mf (sgd): kept epoch {} of {} (held-out RMSE {:.4f})", r.best_epoch, r.epochs,
                 r.validation_rmse);
}

Eigen::VectorXf MfModel::ridge_fold_in(const UserContext& user,
                                       const Eigen::VectorXf& offset) const {
  const Eigen::Index f = item_factors_.cols();
  if (user.history.empty()) return Eigen::VectorXf::Zero(f);
  const float bu = user_bias(user);
  Eigen::MatrixXf a = Eigen::MatrixXf::Identity(f, f) *
                      (regularization_ * static_cast<float>(user.history.size()) + 1e-3f);
  Eigen::VectorXf b = Eigen::VectorXf::Zero(f);
  for (std::size_t k = 0; k < user.history.size(); ++k) {
    const index_t i = user.history[k];
    // Without ratings (weights) a liked item counts as one above the mean.
    const float r = user.weights.empty() ? mu_ + 1.0f : user.weights[k];
    const auto q = item_factors_.row(i).transpose();
    a.selfadjointView<Eigen::Lower>().rankUpdate(q);
    b.noalias() += (r - mu_ - bu - item_bias_[i] - q.dot(offset)) * q;
  }
  return a.selfadjointView<Eigen::Lower>().llt().solve(b);
}

Eigen::VectorXf MfModel::fold_in(const UserContext& user) const {
  return ridge_fold_in(user, Eigen::VectorXf::Zero(item_factors_.cols()));
}

std::vector<std::vector<HistoryContribution>> MfModel::explain_history(
    const UserContext& user, std::span<const index_t> items, std::size_t top) const {
  for (const index_t i : user.history)
    RECKON_CHECK(i >= 0 && i < item_factors_.rows(), "history item index {} out of range", i);
  RECKON_CHECK(user.weights.empty() || user.weights.size() == user.history.size(),
               "{} weights for a history of {}", user.weights.size(), user.history.size());
  // The fold-in is p = z + A^-1 sum_h (r_h - mu - b_u - b_h - q_h.z) q_h with A = lambda I +
  // sum_h q_h q_h^T and z = sum_h z_h (svdpp's implicit part; 0 for mf). With zeta_k =
  // A^-1 q_k, item k's q_k.p splits exactly into per-entry terms
  //   r'_h (q_h . zeta_k) + lambda (z_h . zeta_k),
  // since q_k - sum_h (q_h . zeta_k) q_h = lambda zeta_k.
  const Eigen::Index f = item_factors_.cols();
  const float lambda = regularization_ * static_cast<float>(user.history.size()) + 1e-3f;
  Eigen::MatrixXf a = Eigen::MatrixXf::Identity(f, f) * lambda;
  for (const index_t i : user.history)
    a.selfadjointView<Eigen::Lower>().rankUpdate(item_factors_.row(i).transpose());
  const auto llt = a.selfadjointView<Eigen::Lower>().llt();
  const float bu = user_bias(user);
  std::vector<float> residual(user.history.size());
  std::vector<Eigen::VectorXf> implicit(user.history.size());
  for (std::size_t h = 0; h < user.history.size(); ++h) {
    const index_t i = user.history[h];
    const float r = user.weights.empty() ? mu_ + 1.0f : user.weights[h];
    residual[h] = r - mu_ - bu - item_bias_[i];
    implicit[h] = implicit_term(user, h);
  }
  std::vector<Eigen::VectorXf> zeta(items.size());
  for (std::size_t k = 0; k < items.size(); ++k)
    if (items[k] >= 0 && items[k] < item_factors_.rows())
      zeta[k] = llt.solve(item_factors_.row(items[k]).transpose());
  return history_contributions(user, items, top, [&](std::size_t h, std::size_t k) {
    if (zeta[k].size() == 0) return 0.0f;
    float c = residual[h] * item_factors_.row(user.history[h]).dot(zeta[k].transpose());
    if (implicit[h].size() != 0) c += lambda * implicit[h].dot(zeta[k]);
    return c;
  });
}

void MfModel::save_extra(BinaryWriter& w) const {
  w.put<float>(mu_);
  w.put<float>(regularization_);
  w.put_vector(user_bias_);
  w.put_vector(item_bias_);
}

void MfModel::validate_extra(const Dataset& train) const {
  RECKON_CHECK(static_cast<index_t>(user_bias_.size()) == train.num_users() &&
                   static_cast<index_t>(item_bias_.size()) == train.num_items(),
               "{} has {} user and {} item biases for {} users and {} items", name(),
               user_bias_.size(), item_bias_.size(), train.num_users(), train.num_items());
}

void MfModel::load_extra(BinaryReader& r) {
  mu_ = r.get<float>();
  regularization_ = r.get<float>();
  user_bias_ = r.get_vector<float>();
  item_bias_ = r.get_vector<float>();
  RECKON_CHECK(static_cast<Eigen::Index>(user_bias_.size()) == user_factors_.rows() &&
                   static_cast<Eigen::Index>(item_bias_.size()) == item_factors_.rows(),
               "{}: corrupt rating model", r.what());
}

// Default: Bayesian SVD++ (10 factors, 100 samples after 20 sweeps): 0.8988 RMSE on ML-100K u1;
// sgd does best with -p factors=100 -p epochs=60 (0.9091).
std::vector<ParamSpec> SvdppModel::param_specs() {
  auto specs = rating_specs("10", "100", "0.005", "0.98", "0.05", "0.05");
  specs.push_back({"solver",
                   ParamType::kString,
                   "mcmc",
                   0,
                   -1,
                   "sgd, or mcmc (Bayesian SVD++ by Gibbs sampling, predictions averaged over "
                   "samples; epochs = samples kept)",
                   {"sgd", "mcmc"}});
  specs.push_back({"burn_in", ParamType::kInt, "20", 0, 100000, "mcmc: sweeps discarded first"});
  specs.push_back(
      {"noise_precision", ParamType::kFloat, "0", 0, 1000,
       "mcmc: precision (1/variance) of the rating noise; 0: sampled from its posterior"});
  return specs;
}

Eigen::VectorXf SvdppModel::implicit_part(std::span<const col_t> history) const {
  Eigen::VectorXf z = Eigen::VectorXf::Zero(y_.cols());
  if (history.empty()) return z;
  for (index_t j : history) z += y_.row(j).transpose();
  return z / std::sqrt(static_cast<float>(history.size()));
}

void SvdppModel::fit(const Dataset& train, const Params& params, FitContext& ctx) {
  const auto f = params.get_int("factors");
  const auto epochs = params.get_int("epochs");
  float lr = static_cast<float>(params.get_float("learning_rate"));
  const float decay = static_cast<float>(params.get_float("decay"));
  const float breg = static_cast<float>(params.get_float("bias_regularization"));
  const CsrMatrix& m = train.interactions;
  initialise(m, f, params, ctx);
  if (params.get_string("solver") == "mcmc") {
    detail::GibbsOptions o;
    o.factors = static_cast<int>(f);
    o.burn_in = static_cast<int>(params.get_int("burn_in"));
    o.samples = static_cast<int>(epochs);
    o.precision = params.get_float("noise_precision");
    o.seed = ctx.seed;
    auto g = detail::gibbs_svdpp(m, mu_, o, y_);
    user_factors_ = std::move(g.users);
    item_factors_ = std::move(g.items);
    user_bias_ = std::move(g.user_bias);
    item_bias_ = std::move(g.item_bias);
    return;
  }
  y_.resize(m.cols(), f);
  random_init(y_, static_cast<float>(params.get_float("init_scale")), ctx.seed + 2);
  Rng rng(ctx.seed);
  std::vector<index_t> users(static_cast<std::size_t>(m.rows()));
  std::iota(users.begin(), users.end(), 0);
  std::vector<std::size_t> order;
  Eigen::VectorXf z(f), grad_z(f), pz(f);
  Progress progress("fit svdpp", static_cast<double>(epochs), "epochs");
  for (std::int64_t e = 0; e < epochs; ++e) {
    rng.shuffle(std::span<index_t>(users));
    for (index_t u : users) {
      const auto items = m.row_indices(u);
      const auto values = m.row_values(u);
      if (items.empty()) continue;
      const float norm = 1.0f / std::sqrt(static_cast<float>(items.size()));
      // z = |N(u)|^-1/2 sum y_j, kept fixed during the user's ratings; its gradient is
      // accumulated and applied to every y_j once per user (the usual efficient SVD++ update).
      z = implicit_part(items);
      grad_z.setZero();
      order.resize(items.size());
      std::iota(order.begin(), order.end(), 0);
      rng.shuffle(std::span<std::size_t>(order));
      auto p = user_factors_.row(u);
      for (std::size_t o : order) {
        const index_t i = items[o];
        auto q = item_factors_.row(i);
        pz = p.transpose() + z;
        const float pred = mu_ + user_bias_[u] + item_bias_[i] + q.dot(pz.transpose());
        const float err = values[o] - pred;
        user_bias_[u] += lr * (err - breg * user_bias_[u]);
        item_bias_[i] += lr * (err - breg * item_bias_[i]);
        const Eigen::VectorXf q_old = q.transpose();
        q += lr * (err * pz.transpose() - regularization_ * q);
        p += lr * (err * q_old.transpose() - regularization_ * p);
        grad_z += err * q_old;
      }
      for (index_t j : items) {
        auto y = y_.row(j);
        y += lr * (norm * grad_z.transpose() - regularization_ * y);
      }
    }
    lr *= decay;
    progress.update(static_cast<double>(e + 1));
  }
  progress.finish();
  // Fold the implicit part into the stored user vectors: scoring a known user is then a plain
  // dot product (score_batch), and fold_in() adds it for changed histories.
  for (index_t u = 0; u < m.rows(); ++u)
    user_factors_.row(u) += implicit_part(m.row_indices(u)).transpose();
}

Eigen::VectorXf SvdppModel::fold_in(const UserContext& user) const {
  // The implicit part from what the user rated, plus the explicit part by ridge regression.
  const Eigen::VectorXf z = implicit_part(user.history);
  return z + ridge_fold_in(user, z);
}

Eigen::VectorXf SvdppModel::implicit_term(const UserContext& user, std::size_t h) const {
  return y_.row(user.history[h]).transpose() / std::sqrt(static_cast<float>(user.history.size()));
}

void SvdppModel::save_extra(BinaryWriter& w) const {
  MfModel::save_extra(w);
  write_factor_matrix(w, y_);
}

void SvdppModel::validate_extra(const Dataset& train) const {
  MfModel::validate_extra(train);
  RECKON_CHECK(y_.rows() == train.num_items(), "svdpp has implicit factors for {} items, not {}",
               y_.rows(), train.num_items());
}

void SvdppModel::load_extra(BinaryReader& r) {
  MfModel::load_extra(r);
  y_ = read_factor_matrix(r);
  RECKON_CHECK(y_.rows() == item_factors_.rows() && y_.cols() == item_factors_.cols(),
               "{}: corrupt svdpp model", r.what());
}

}  // namespace reckon
