#include "reckon/models/bpr.hpp"

#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

#include "reckon/core/error.hpp"
#include "reckon/core/prefetch.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/core/random.hpp"

namespace reckon {

std::vector<ParamSpec> BprModel::param_specs() {
  return {
      {"factors", ParamType::kInt, "64", 1, 4096, "latent factors"},
      {"epochs", ParamType::kInt, "100", 1, 100000,
       "passes, each drawing as many triples as interactions"},
      {"learning_rate", ParamType::kFloat, "0.05", 0, 10, "SGD step"},
      {"regularization", ParamType::kFloat, "0.002", 0, 100,
       "L2 penalty on the factors and biases"},
      {"negatives",
       ParamType::kString,
       "uniform",
       0,
       -1,
       "how unseen items are drawn: uniform or popularity",
       {"uniform", "popularity"}},
      {"init_scale", ParamType::kFloat, "0.01", 0, 10, "standard deviation of the initial factors"},
      {"sampling",
       ParamType::kString,
       "user",
       0,
       -1,
       "how (user, seen item) pairs are drawn: interaction (uniform over interactions) or user "
       "(every user weighs the same: users in random order, each drawing its share of the "
       "epoch's samples from its own items)",
       {"interaction", "user"}},
  };
}

namespace {

// One SGD step on the triple (u, i, j): raises x_ui - x_uj. `p` is the user's vector.
inline void step(float* p, float* qi, float* qj, float& bi, float& bj, Eigen::Index f, float lr,
                 float reg) {
  // The dot product through Eigen: vectorised with several accumulators (a plain loop is a
  // serial chain of f dependent adds without -ffast-math).
  using V = Eigen::Map<const Eigen::VectorXf>;
  const float x = bi - bj + V(p, f).dot(V(qi, f) - V(qj, f));
  const float z = 1.0f / (1.0f + std::exp(x));  // sigmoid(-x): the gradient scale
  for (Eigen::Index k = 0; k < f; ++k) {
    const float pu = p[k], a = qi[k], b = qj[k];
    p[k] += lr * (z * (a - b) - reg * pu);
    qi[k] += lr * (z * pu - reg * a);
    qj[k] += lr * (-z * pu - reg * b);
  }
  bi += lr * (z - reg * bi);
  bj += lr * (-z - reg * bj);
}

// One draw of (user, seen item, unseen item), filled in over the stages of a batch; `pos` and
// `j_pos` are the places in the CSR arrays that the seen and (popularity) unseen items come from.
struct Sample {
  index_t u = 0, pos = 0, i = 0, j = 0, j_pos = 0;
};

constexpr index_t kBatch = 16;
// The work of one task of an epoch: a few milliseconds either way.
constexpr index_t kUsersPerTask = 256;
constexpr index_t kSamplesPerTask = 1 << 14;

inline void prefetch(const void* p) { __builtin_prefetch(p, 0, 3); }

// All cache lines of a factor row, for writing.
inline void prefetch_row(const float* p, Eigen::Index f) { prefetch_floats<true>(p, f); }

// What the binary search for an unseen item in a row of `size` indices will read: the whole
// row when short (the usual case), else the first levels of the search.
inline void prefetch_search(const col_t* row, index_t size) {
  if (size <= 64) {
    for (index_t k = 0; k < size; k += 8) prefetch(row + k);
    prefetch(row + size - 1);
  } else {
    for (index_t k = 1; k < 8; ++k) prefetch(row + size * k / 8);
  }
}

bool seen(std::span<const col_t> row, index_t j) {
  return std::binary_search(row.begin(), row.end(), j);
}

}  // namespace

void BprModel::fit(const Dataset& train, const Params& params, FitContext& ctx) {
  const auto f = params.get_int("factors");
  const auto epochs = params.get_int("epochs");
  learning_rate_ = static_cast<float>(params.get_float("learning_rate"));
  regularization_ = static_cast<float>(params.get_float("regularization"));
  const bool popularity = params.get_string("negatives") == "popularity";
  const bool by_user = params.get_string("sampling") == "user";
  const int threads = ctx.threads > 0 ? ctx.threads : omp_get_max_threads();
  const CsrMatrix& m = train.interactions;
  RECKON_CHECK(m.nnz() > 0, "bpr: no interactions to learn from");
  user_factors_.resize(m.rows(), f);
  item_factors_.resize(m.cols(), f);
  random_init(user_factors_, static_cast<float>(params.get_float("init_scale")), ctx.seed);
  random_init(item_factors_, static_cast<float>(params.get_float("init_scale")), ctx.seed + 1);
  item_bias_.assign(static_cast<std::size_t>(m.cols()), 0.0f);
  remember_history_sizes(m);
  const std::vector<index_t> row_of = m.row_ids();
  const index_t* rows = row_of.data();
  std::vector<index_t> active;  // users with at least one interaction
  for (index_t u = 0; u < m.rows(); ++u)
    if (m.row_size(u) > 0) active.push_back(u);
  const index_t n_items = m.cols();
  // Popularity sampling draws the item of a random interaction: proportional to its count.
  const col_t* indices = m.indices().data();
  const index_t* indptr = m.indptr().data();

  // Samples per user and epoch when every user weighs the same (sampling=user).
  const double per_user = static_cast<double>(m.nnz()) / static_cast<double>(active.size());

  Progress progress("fit bpr", static_cast<double>(epochs), "epochs");
  for (std::int64_t e = 0; e < epochs; ++e) {
    const float lr = learning_rate_;
    const std::uint64_t epoch_seed = ctx.seed ^ (static_cast<std::uint64_t>(e) << 20);
    if (by_user) Rng(epoch_seed).shuffle(std::span<index_t>(active));
    // The epoch is cut into tasks handed out one at a time (dynamic), each with a generator
    // seeded by the task, not the thread: a thread that loses its core to another process
    // holds up one task, not a static half of the epoch (which doubled the fit beside a busy
    // core), and the draws do not depend on which thread ran what.
    const index_t tasks =
        by_user ? (static_cast<index_t>(active.size()) + kUsersPerTask - 1) / kUsersPerTask
                : (m.nnz() + kSamplesPerTask - 1) / kSamplesPerTask;
#pragma omp parallel num_threads(threads)
    {
      Rng rng(0);
      // Each step touches three random factor rows and, before that, a random place of the CSR
      // arrays: a chain of cache misses that left the cores waiting on memory (perf: 90% of the
      // time on the loads). Samples are drawn a batch at a time in stages, each stage
      // prefetching what the next one reads, so that the misses of a batch overlap.
      std::array<Sample, kBatch> batch;
      auto draw_negatives = [&](index_t len) {
        for (index_t b = 0; b < len; ++b) {
          Sample& x = batch[b];
          if (popularity) {
            x.j_pos = static_cast<index_t>(rng.below(static_cast<std::uint64_t>(m.nnz())));
            prefetch(&indices[x.j_pos]);
          } else {
            x.j = static_cast<index_t>(rng.below(static_cast<std::uint64_t>(n_items)));
            prefetch_row(item_factors_.row(x.j).data(), f);
          }
        }
      };
      // The batch's (u, pos) are drawn: read the items, then step.
      auto run = [&](index_t len) {
        for (index_t b = 0; b < len; ++b) {
          Sample& x = batch[b];
          x.i = indices[x.pos];
          prefetch_row(item_factors_.row(x.i).data(), f);
          if (popularity) {
            x.j = indices[x.j_pos];
            prefetch_row(item_factors_.row(x.j).data(), f);
          }
        }
        for (index_t b = 0; b < len; ++b) {
          const Sample& x = batch[b];
          const auto row = m.row_indices(x.u);
          if (static_cast<index_t>(row.size()) >= n_items) continue;
          index_t j = x.j;
          while (seen(row, j))  // rare: a user has seen few of the items
            j = popularity ? indices[rng.below(static_cast<std::uint64_t>(m.nnz()))]
                           : static_cast<index_t>(rng.below(static_cast<std::uint64_t>(n_items)));
          step(user_factors_.row(x.u).data(), item_factors_.row(x.i).data(),
               item_factors_.row(j).data(), item_bias_[x.i], item_bias_[j], f, lr, regularization_);
        }
      };
#pragma omp for schedule(dynamic, 1)
      for (index_t task = 0; task < tasks; ++task) {
        rng = Rng(epoch_seed ^ static_cast<std::uint64_t>(task + 1) * 0x9E3779B97F4A7C15ull);
        if (by_user) {
          // Users in a fresh random order each epoch, each drawing its share of the epoch's
          // samples in one go (the count rounded at random, so every user weighs the same): the
          // user's row and history stay in cache, only the two item rows of a step are far.
          const auto users = static_cast<index_t>(active.size());
          const index_t lo = task * kUsersPerTask, hi = std::min(users, lo + kUsersPerTask);
          for (index_t a = lo; a < hi; ++a) {
            const index_t u = active[a];
            const index_t begin = indptr[u], size = indptr[u + 1] - begin;
            auto count = static_cast<index_t>(per_user);
            if (rng.uniform() < per_user - static_cast<double>(count)) ++count;
            prefetch_row(user_factors_.row(u).data(), f);
            for (index_t s0 = 0; s0 < count; s0 += kBatch) {
              const index_t len = std::min(kBatch, count - s0);
              for (index_t b = 0; b < len; ++b) {
                batch[b].u = u;
                batch[b].pos =
                    begin + static_cast<index_t>(rng.below(static_cast<std::uint64_t>(size)));
              }
              draw_negatives(len);
              run(len);
            }
          }
        } else {
          const index_t n = std::min(kSamplesPerTask, m.nnz() - task * kSamplesPerTask);
          for (index_t s0 = 0; s0 < n; s0 += kBatch) {
            const index_t len = std::min(kBatch, n - s0);
            for (index_t b = 0; b < len; ++b) {
              Sample& x = batch[b];
              x.pos = static_cast<index_t>(rng.below(static_cast<std::uint64_t>(m.nnz())));
              prefetch(&rows[x.pos]);
              prefetch(&indices[x.pos]);
            }
            draw_negatives(len);
            for (index_t b = 0; b < len; ++b) {
              Sample& x = batch[b];
              x.u = rows[x.pos];
              prefetch_row(user_factors_.row(x.u).data(), f);
              prefetch_search(indices + indptr[x.u], indptr[x.u + 1] - indptr[x.u]);
            }
            run(len);
          }
        }
      }
    }
    progress.update(static_cast<double>(e + 1));
  }
  progress.finish();
}

Eigen::VectorXf BprModel::fold_in(const UserContext& user) const {
  // The same SGD on the user's vector alone, item factors fixed, negatives drawn from a
  // generator seeded by the history (so the same history always gives the same vector).
  const Eigen::Index f = item_factors_.cols();
  Eigen::VectorXf p = Eigen::VectorXf::Zero(f);
  if (user.history.empty()) return p;
  std::vector<index_t> sorted(user.history.begin(), user.history.end());
  std::sort(sorted.begin(), sorted.end());
  std::uint64_t key = 1469598103934665603ull;
  for (index_t i : sorted) key = (key ^ static_cast<std::uint64_t>(i)) * 1099511628211ull;
  Rng rng(key);
  const index_t n_items = item_factors_.rows();
  if (static_cast<index_t>(sorted.size()) >= n_items) return p;
  std::vector<float> qi(static_cast<std::size_t>(f)), qj(static_cast<std::size_t>(f));
  const int passes = 50;
  for (int pass = 0; pass < passes; ++pass) {
    for (std::size_t s = 0; s < sorted.size(); ++s) {
      const index_t i = sorted[rng.below(sorted.size())];
      index_t j;
      do j = static_cast<index_t>(rng.below(static_cast<std::uint64_t>(n_items)));
      while (std::binary_search(sorted.begin(), sorted.end(), j));
      // Copies: the item factors stay fixed.
      std::copy(item_factors_.row(i).data(), item_factors_.row(i).data() + f, qi.begin());
      std::copy(item_factors_.row(j).data(), item_factors_.row(j).data() + f, qj.begin());
      float bi = item_bias_[i], bj = item_bias_[j];
      step(p.data(), qi.data(), qj.data(), bi, bj, f, learning_rate_, regularization_);
    }
  }
  return p;
}

void BprModel::save_extra(BinaryWriter& w) const {
  w.put_vector(item_bias_);
  w.put<float>(learning_rate_);
  w.put<float>(regularization_);
}

void BprModel::validate_extra(const Dataset& train) const {
  RECKON_CHECK(static_cast<index_t>(item_bias_.size()) == train.num_items(),
               "bpr has {} item biases for {} items", item_bias_.size(), train.num_items());
}

void BprModel::load_extra(BinaryReader& r) {
  item_bias_ = r.get_vector<float>();
  learning_rate_ = r.get<float>();
  regularization_ = r.get<float>();
  RECKON_CHECK(static_cast<Eigen::Index>(item_bias_.size()) == item_factors_.rows(),
               "{}: corrupt bpr model", r.what());
}

}  // namespace reckon
