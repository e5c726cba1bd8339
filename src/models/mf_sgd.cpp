#include "mf_sgd.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "reckon/core/error.hpp"
#include "reckon/core/random.hpp"

namespace reckon::detail {
namespace {

struct Rating {
  index_t user, item;
  float value;
};

// Bins per side of the rating grid: a bin's factor rows (and their accumulators) within ~128 KB
// of cache on either side, at least 2 bins per thread so that tasks are small next to an
// epoch (a thread that loses its core holds up little at the end), and blocks of no fewer than
// ~2,000 ratings on average.
index_t grid_bins(const CsrMatrix& m, Eigen::Index f, int threads) {
  constexpr double kBinBytes = 128 * 1024;
  const double row_bytes = static_cast<double>(f + 2) * sizeof(float);
  const double by_cache =
      std::ceil(static_cast<double>(std::max(m.rows(), m.cols())) * row_bytes / kBinBytes);
  const double by_threads = 2.0 * std::max(1, threads);
  const double by_size = std::floor(std::sqrt(static_cast<double>(m.nnz()) / 2000.0));
  return static_cast<index_t>(std::max(1.0, std::min(std::max(by_cache, by_threads), by_size)));
}

// One AdaGrad step of a factor row pair on error `e`. `gp`/`gq` hold the rows' accumulated
// mean squared gradients (starting at 1, as LIBMF); the step uses the accumulator from before
// this gradient, then adds it.
inline void step_factors(float* __restrict p, float* __restrict q, Eigen::Index f, float e,
                         float reg_p, float reg_q, float lr, float& gp, float& gq) {
  const float sp = lr / std::sqrt(gp), sq = lr / std::sqrt(gq);
  float np = 0, nq = 0;
#pragma omp simd reduction(+ : np, nq)
  for (Eigen::Index k = 0; k < f; ++k) {
    const float dp = reg_p * p[k] - e * q[k];
    const float dq = reg_q * q[k] - e * p[k];
    np += dp * dp;
    nq += dq * dq;
    p[k] -= sp * dp;
    q[k] -= sq * dq;
  }
  gp += np / static_cast<float>(f);
  gq += nq / static_cast<float>(f);
}

inline void step_bias(float& b, float e, float reg, float lr, float& g) {
  const float d = reg * b - e;
  b -= lr / std::sqrt(g) * d;
  g += d * d;
}

double rmse_of(std::span<const Rating> ratings, float mu, const FactorMatrix& users,
               const FactorMatrix& items, const std::vector<float>& user_bias,
               const std::vector<float>& item_bias) {
  double sum = 0;
  for (const Rating& x : ratings) {
    const double e = x.value - (mu + user_bias[x.user] + item_bias[x.item] +
                                users.row(x.user).dot(items.row(x.item)));
    sum += e * e;
  }
  return std::sqrt(sum / static_cast<double>(std::max<std::size_t>(1, ratings.size())));
}

}  // namespace

SgdResult sgd_mf(const CsrMatrix& m, float mu, const SgdOptions& o, FactorMatrix& users,
                 FactorMatrix& items, std::vector<float>& user_bias, std::vector<float>& item_bias,
                 Progress& progress) {
  const Eigen::Index f = users.cols();
  Rng rng(o.seed);
  // A random share of the ratings held out to stop on (early stopping), the rest in a grid of
  // blocks, each block in a random order: a block touches one bin of user rows and one of item
  // rows, small enough to stay in the core's cache, where ratings in one random order over the
  // whole matrix had every update wait on memory (LIBMF's blocking, Zhuang et al. 2013). The
  // blocks are the tasks. Bins are ranges of ids (ids are in order of first appearance, not of
  // taste), so that two threads in different bins do not write to one cache line of the biases
  // and accumulators: bins dealt at random made the two-thread fit no faster than one thread.
  const index_t bins = grid_bins(m, f, o.threads);
  auto bin_of = [&](index_t k, index_t n) {
    return static_cast<std::size_t>(static_cast<std::int64_t>(k) * bins / n);
  };
  const auto blocks = static_cast<std::size_t>(bins) * static_cast<std::size_t>(bins);
  auto block_of = [&](index_t u, index_t i) {
    return bin_of(u, m.rows()) * static_cast<std::size_t>(bins) + bin_of(i, m.cols());
  };
  std::vector<bool> held(static_cast<std::size_t>(m.nnz()), false);
  std::vector<Rating> validation;
  std::vector<std::size_t> start(blocks + 1, 0);
  std::vector<index_t> user_count(static_cast<std::size_t>(m.rows()), 0),
      item_count(static_cast<std::size_t>(m.cols()), 0);
  for (index_t u = 0; u < m.rows(); ++u) {
    const auto cols = m.row_indices(u);
    const auto vals = m.row_values(u);
    for (std::size_t k = 0; k < cols.size(); ++k) {
      const auto at = static_cast<std::size_t>(m.indptr()[u]) + k;
      if (o.validation > 0 && rng.uniform() < o.validation) {
        held[at] = true;
        validation.push_back({u, cols[k], vals[k]});
        continue;
      }
      ++start[block_of(u, cols[k]) + 1];
      ++user_count[u];
      ++item_count[cols[k]];
    }
  }
  std::partial_sum(start.begin(), start.end(), start.begin());
  std::vector<Rating> ratings(start.back());
  {
    std::vector<std::size_t> fill(start.begin(), start.end() - 1);
    for (index_t u = 0; u < m.rows(); ++u) {
      const auto cols = m.row_indices(u);
      const auto vals = m.row_values(u);
      for (std::size_t k = 0; k < cols.size(); ++k)
        if (!held[static_cast<std::size_t>(m.indptr()[u]) + k])
          ratings[fill[block_of(u, cols[k])]++] = {u, cols[k], vals[k]};
    }
  }
  for (std::size_t b = 0; b < blocks; ++b)
    rng.shuffle(std::span<Rating>(ratings.data() + start[b], start[b + 1] - start[b]));
  std::vector<std::size_t> order(blocks);
  std::iota(order.begin(), order.end(), std::size_t{0});

  std::vector<float> g_user(static_cast<std::size_t>(m.rows()), 1.0f),
      g_item(static_cast<std::size_t>(m.cols()), 1.0f),
      g_user_bias(static_cast<std::size_t>(m.rows()), 1.0f),
      g_item_bias(static_cast<std::size_t>(m.cols()), 1.0f);
  const float reg = o.regularization, breg = o.bias_regularization;
  // Each row's penalty is regularization * n + prior_regularization over its n ratings; spread
  // over its updates, each step of a row applies reg + prior / n.
  auto per_step = [&](const std::vector<index_t>& counts) {
    std::vector<float> out(counts.size());
    for (std::size_t k = 0; k < counts.size(); ++k)
      out[k] = reg + o.prior_regularization / static_cast<float>(std::max<index_t>(1, counts[k]));
    return out;
  };
  const std::vector<float> reg_user = per_step(user_count), reg_item = per_step(item_count);

  // The best epoch from `epochs` on, on the held-out ratings, kept to go back to.
  SgdResult result;
  FactorMatrix best_users, best_items;
  std::vector<float> best_user_bias, best_item_bias;
  double best = std::numeric_limits<double>::infinity();
  int since_best = 0;
  float lr = o.learning_rate;
  const int last = validation.empty() ? o.epochs : std::max(o.epochs, o.max_epochs);
  for (int e = 0; e < last; ++e) {
    rng.shuffle(std::span<std::size_t>(order));
#pragma omp parallel for schedule(dynamic, 1) num_threads(std::max(1, o.threads))
    for (std::size_t t = 0; t < blocks; ++t) {
      const std::size_t b = order[t];
      for (std::size_t r = start[b]; r < start[b + 1]; ++r) {
        const Rating& x = ratings[r];
        float* p = users.row(x.user).data();
        float* q = items.row(x.item).data();
        const float err =
            x.value -
            (mu + user_bias[x.user] + item_bias[x.item] +
             Eigen::Map<const Eigen::VectorXf>(p, f).dot(Eigen::Map<const Eigen::VectorXf>(q, f)));
        step_bias(user_bias[x.user], err, breg, lr, g_user_bias[x.user]);
        step_bias(item_bias[x.item], err, breg, lr, g_item_bias[x.item]);
        step_factors(p, q, f, err, reg_user[x.user], reg_item[x.item], lr, g_user[x.user],
                     g_item[x.item]);
      }
    }
    lr *= o.decay;
    result.epochs = e + 1;
    progress.update(static_cast<double>(e + 1));
    if (validation.empty() || e + 1 < o.epochs) continue;
    const double v = rmse_of(validation, mu, users, items, user_bias, item_bias);
    if (v < best) {
      best = v;
      result.best_epoch = e + 1;
      result.validation_rmse = v;
      since_best = 0;
      best_users = users, best_items = items;
      best_user_bias = user_bias, best_item_bias = item_bias;
    } else if (++since_best >= o.patience) {
      break;
    }
  }
  progress.finish();
  if (result.best_epoch > 0 && result.best_epoch < result.epochs) {
    users = std::move(best_users), items = std::move(best_items);
    user_bias = std::move(best_user_bias), item_bias = std::move(best_item_bias);
  }
  if (result.best_epoch == 0) result.best_epoch = result.epochs;
  auto finite = [](const std::vector<float>& v) {
    return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
  };
  RECKON_CHECK(users.allFinite() && items.allFinite() && finite(user_bias) && finite(item_bias),
               "mf (sgd): the fit diverged (factors are no longer finite numbers); lower "
               "learning_rate (now {})",
               o.learning_rate);
  return result;
}

}  // namespace reckon::detail
