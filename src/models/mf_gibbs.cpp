#include "mf_gibbs.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Dense>
#include <cmath>
#include <random>

#include "reckon/core/progress.hpp"
#include "reckon/core/random.hpp"

namespace reckon::detail {
namespace {

using Mat = Eigen::MatrixXd;
using VecD = Eigen::VectorXd;

double standard_normal(Rng& r) {  // Box-Muller
  const double u1 = std::max(r.uniform(), 1e-300), u2 = r.uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

struct Hyper {
  VecD mu;
  Mat lambda;
};

// Wishart(W, nu) by the Bartlett decomposition.
Mat sample_wishart(const Mat& w, double nu, std::mt19937_64& gen) {
  const auto d = w.rows();
  const Mat l = w.llt().matrixL();
  Mat a = Mat::Zero(d, d);
  std::normal_distribution<double> n01;
  for (Eigen::Index i = 0; i < d; ++i) {
    std::chi_squared_distribution<double> chi(nu - static_cast<double>(i));
    a(i, i) = std::sqrt(chi(gen));
    for (Eigen::Index j = 0; j < i; ++j) a(i, j) = n01(gen);
  }
  const Mat la = l * a;
  return la * la.transpose();
}

// The Normal-Wishart posterior of the rows of `x` (prior: mu0 = 0, beta0 = 2, nu0 = d, W0 = I).
Hyper sample_hyper(const Mat& x, std::mt19937_64& gen) {
  const auto n = static_cast<double>(x.rows());
  const auto d = x.cols();
  const VecD mean = x.colwise().mean().transpose();
  const Mat centred = x.rowwise() - mean.transpose();
  const Mat scatter = centred.transpose() * centred;
  const double beta0 = 2, beta = beta0 + n, nu = static_cast<double>(d) + n;
  Mat w_inv = Mat::Identity(d, d) + scatter + (beta0 * n / beta) * mean * mean.transpose();
  Mat w = w_inv.llt().solve(Mat::Identity(d, d));
  w = 0.5 * (w + w.transpose());
  Hyper h;
  h.lambda = sample_wishart(w, nu, gen);
  const VecD mu_star = (n / beta) * mean;
  VecD z(d);
  std::normal_distribution<double> n01;
  for (Eigen::Index k = 0; k < d; ++k) z[k] = n01(gen);
  const Eigen::LLT<Mat> llt(beta * h.lambda);
  h.mu = mu_star + llt.matrixU().solve(z);  // covariance (beta lambda)^-1
  return h;
}

// Samples every row of `x` (each row: f factors then the row's bias) given the other side `y`:
// rating - mu - bias_j ~ N(x_r . [y_j factors, 1], 1 / alpha).
// With `offset` (SVD++'s users): the target also loses y_j's factors . offset.row(r).
void sample_rows(const CsrMatrix& m, const Mat& y, float mu, const Hyper& h, double alpha,
                 std::uint64_t seed, Mat& x, const Mat* offset = nullptr) {
  const auto d = x.cols();
  const auto f = d - 1;
  const VecD prior = h.lambda * h.mu;
#pragma omp parallel
  {
    // The row's other side gathered ([y_j factors, 1] per rating), so that the precision is
    // one blocked rank-n update instead of n rank-1 updates.
    Mat g;
    VecD t;
#pragma omp for schedule(dynamic, 16)
    for (index_t r = 0; r < m.rows(); ++r) {
      const auto items = m.row_indices(r);
      const auto values = m.row_values(r);
      const auto n = static_cast<Eigen::Index>(items.size());
      g.resize(n, d);
      t.resize(n);
      for (Eigen::Index k = 0; k < n; ++k) {
        const index_t j = items[k];
        g.row(k).head(f) = y.row(j).head(f);
        g(k, f) = 1.0;
        t[k] = values[k] - mu - y(j, f);
        if (offset) t[k] -= g.row(k).head(f).dot(offset->row(r));
      }
      Mat precision = h.lambda;
      precision.selfadjointView<Eigen::Lower>().rankUpdate(g.transpose(), alpha);
      VecD b = prior;
      b.noalias() += alpha * (g.transpose() * t);
      const Eigen::LLT<Mat> llt(precision.selfadjointView<Eigen::Lower>());
      // Each row its own generator: the same samples whatever the thread count.
      Rng rng(seed ^ (static_cast<std::uint64_t>(r) * 0x9E3779B97F4A7C15ull));
      VecD e(d);
      for (Eigen::Index k = 0; k < d; ++k) e[k] = standard_normal(rng);
      x.row(r) = (llt.solve(b) + llt.matrixU().solve(e)).transpose();
    }
  }
}

}  // namespace

GibbsResult gibbs_mf(const CsrMatrix& ratings, float mu, const GibbsOptions& o) {
  const CsrMatrix t = ratings.transposed();
  const int f = o.factors;
  std::mt19937_64 gen(o.seed);
  Rng init(o.seed + 1);
  Mat users(ratings.rows(), f + 1), items(ratings.cols(), f + 1);
  for (Eigen::Index i = 0; i < users.size(); ++i) users.data()[i] = 0.1 * standard_normal(init);
  for (Eigen::Index i = 0; i < items.size(); ++i) items.data()[i] = 0.1 * standard_normal(init);
  users.col(f).setZero();
  items.col(f).setZero();

  GibbsResult out;
  out.users = FactorMatrix::Zero(ratings.rows(), static_cast<Eigen::Index>(o.samples) * f);
  out.items = FactorMatrix::Zero(ratings.cols(), static_cast<Eigen::Index>(o.samples) * f);
  VecD user_bias = VecD::Zero(ratings.rows()), item_bias = VecD::Zero(ratings.cols());
  const int sweeps = o.burn_in + o.samples;
  Progress progress("fit mf (mcmc)", sweeps, "sweeps");
  double alpha = o.precision > 0 ? o.precision : 2.0;
  for (int s = 0; s < sweeps; ++s) {
    const std::uint64_t sweep_seed = o.seed * 0x2545F4914F6CDD1Dull + static_cast<std::uint64_t>(s);
    sample_rows(ratings, items, mu, sample_hyper(users, gen), alpha, sweep_seed * 2, users);
    sample_rows(t, users, mu, sample_hyper(items, gen), alpha, sweep_seed * 2 + 1, items);
    if (o.precision <= 0) {
      // The noise precision from its posterior, Gamma(1 + N/2, 1 + SSE/2).
      double sse = 0;
      for (index_t u = 0; u < ratings.rows(); ++u) {
        const auto its = ratings.row_indices(u);
        const auto vals = ratings.row_values(u);
        for (std::size_t k = 0; k < its.size(); ++k) {
          const double pred = mu + users(u, f) + items(its[k], f) +
                              users.row(u).head(f).dot(items.row(its[k]).head(f));
          sse += (vals[k] - pred) * (vals[k] - pred);
        }
      }
      std::gamma_distribution<double> g(1.0 + 0.5 * static_cast<double>(ratings.nnz()),
                                        1.0 / (1.0 + 0.5 * sse));
      alpha = g(gen);
    }
    if (s >= o.burn_in) {
      const Eigen::Index at = static_cast<Eigen::Index>(s - o.burn_in) * f;
      out.users.middleCols(at, f) = (users.leftCols(f) / o.samples).cast<float>();
      out.items.middleCols(at, f) = items.leftCols(f).cast<float>();
      user_bias += users.col(f) / o.samples;
      item_bias += items.col(f) / o.samples;
    }
    progress.update(s + 1);
  }
  progress.finish();
  const Eigen::VectorXf ub = user_bias.cast<float>(), ib = item_bias.cast<float>();
  out.user_bias.assign(ub.data(), ub.data() + ub.size());
  out.item_bias.assign(ib.data(), ib.data() + ib.size());
  return out;
}

GibbsResult gibbs_svdpp(const CsrMatrix& ratings, float mu, const GibbsOptions& o,
                        FactorMatrix& implicit) {
  const CsrMatrix t = ratings.transposed();
  const int f = o.factors;
  const index_t nu = ratings.rows(), ni = ratings.cols();
  std::mt19937_64 gen(o.seed);
  Rng init(o.seed + 1);
  Mat users(nu, f + 1), items(ni, f + 1);
  for (Eigen::Index i = 0; i < users.size(); ++i) users.data()[i] = 0.1 * standard_normal(init);
  for (Eigen::Index i = 0; i < items.size(); ++i) items.data()[i] = 0.1 * standard_normal(init);
  users.col(f).setZero();
  items.col(f).setZero();
  Mat y = Mat::Zero(ni, f);  // implicit item factors
  Mat s = Mat::Zero(nu, f);  // s_u = |N(u)|^-1/2 sum_{j in N(u)} y_j
  std::vector<double> norm(static_cast<std::size_t>(nu));
  for (index_t u = 0; u < nu; ++u) {
    const auto n = ratings.row_indices(u).size();
    norm[static_cast<std::size_t>(u)] = n ? 1.0 / std::sqrt(static_cast<double>(n)) : 0.0;
  }

  GibbsResult out;
  out.users = FactorMatrix::Zero(nu, static_cast<Eigen::Index>(o.samples) * f);
  out.items = FactorMatrix::Zero(ni, static_cast<Eigen::Index>(o.samples) * f);
  implicit = FactorMatrix::Zero(ni, static_cast<Eigen::Index>(o.samples) * f);
  VecD user_bias = VecD::Zero(nu), item_bias = VecD::Zero(ni);
  std::vector<Mat> q_u(static_cast<std::size_t>(nu));
  Mat g_u(nu, f);
  Mat effective(nu, f + 1);
  double alpha = o.precision > 0 ? o.precision : 2.0;
  const int sweeps = o.burn_in + o.samples;
  Progress progress("fit svdpp (mcmc)", sweeps, "sweeps");
  for (int sweep = 0; sweep < sweeps; ++sweep) {
    const std::uint64_t seed = o.seed * 0x2545F4914F6CDD1Dull + static_cast<std::uint64_t>(sweep);
    sample_rows(ratings, items, mu, sample_hyper(users, gen), alpha, seed * 3, users, &s);
    effective = users;
    effective.leftCols(f) += s;
    sample_rows(t, effective, mu, sample_hyper(items, gen), alpha, seed * 3 + 1, items);
    // The implicit factors, one item at a time (each changes s_u of the users who rated it):
    // r_ui - mu - b_u - b_i - q_i . (p_u + s_u without y_j) = q_i . y_j / sqrt|N(u)| + noise.
#pragma omp parallel for schedule(dynamic, 64)
    for (index_t u = 0; u < nu; ++u) {
      Mat q = Mat::Zero(f, f);
      VecD g = VecD::Zero(f);
      const auto its = ratings.row_indices(u);
      const auto vals = ratings.row_values(u);
      for (std::size_t k = 0; k < its.size(); ++k) {
        const auto qi = items.row(its[k]).head(f).transpose();
        q.selfadjointView<Eigen::Lower>().rankUpdate(qi);
        g.noalias() += (vals[k] - mu - users(u, f) - items(its[k], f)) * qi;
      }
      q_u[static_cast<std::size_t>(u)] = q.selfadjointView<Eigen::Lower>();
      g_u.row(u) = g.transpose();
    }
    const Hyper hy = sample_hyper(y, gen);
    const VecD prior = hy.lambda * hy.mu;
    Rng rng(seed * 3 + 2);
    for (index_t j = 0; j < ni; ++j) {
      Mat precision = hy.lambda;
      VecD b = prior;
      const auto who = t.row_indices(j);
      const VecD yj = y.row(j).transpose();
      for (index_t u : who) {
        const double w = norm[static_cast<std::size_t>(u)];
        const Mat& q = q_u[static_cast<std::size_t>(u)];
        const VecD base = users.row(u).head(f).transpose() + s.row(u).transpose() - w * yj;
        precision.noalias() += (alpha * w * w) * q;
        b.noalias() += (alpha * w) * (g_u.row(u).transpose() - q * base);
      }
      const Eigen::LLT<Mat> llt(precision);
      VecD e(f);
      for (Eigen::Index k = 0; k < f; ++k) e[k] = standard_normal(rng);
      const VecD fresh = llt.solve(b) + llt.matrixU().solve(e);
      for (index_t u : who)
        s.row(u) += norm[static_cast<std::size_t>(u)] * (fresh - yj).transpose();
      y.row(j) = fresh.transpose();
    }
    if (o.precision <= 0) {
      double sse = 0;
      for (index_t u = 0; u < nu; ++u) {
        const auto its = ratings.row_indices(u);
        const auto vals = ratings.row_values(u);
        const VecD pu = users.row(u).head(f).transpose() + s.row(u).transpose();
        for (std::size_t k = 0; k < its.size(); ++k) {
          const double pred =
              mu + users(u, f) + items(its[k], f) + items.row(its[k]).head(f).dot(pu.transpose());
          sse += (vals[k] - pred) * (vals[k] - pred);
        }
      }
      std::gamma_distribution<double> g(1.0 + 0.5 * static_cast<double>(ratings.nnz()),
                                        1.0 / (1.0 + 0.5 * sse));
      alpha = g(gen);
    }
    if (sweep >= o.burn_in) {
      const Eigen::Index at = static_cast<Eigen::Index>(sweep - o.burn_in) * f;
      out.users.middleCols(at, f) = ((users.leftCols(f) + s) / o.samples).cast<float>();
      out.items.middleCols(at, f) = items.leftCols(f).cast<float>();
      implicit.middleCols(at, f) = (y / o.samples).cast<float>();
      user_bias += users.col(f) / o.samples;
      item_bias += items.col(f) / o.samples;
    }
    progress.update(sweep + 1);
  }
  progress.finish();
  const Eigen::VectorXf ub = user_bias.cast<float>(), ib = item_bias.cast<float>();
  out.user_bias.assign(ub.data(), ub.data() + ub.size());
  out.item_bias.assign(ib.data(), ib.data() + ib.size());
  return out;
}

}  // namespace reckon::detail
