#include "reckon/models/hybrid.hpp"

#include <omp.h>
#include <spdlog/spdlog.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <numeric>

#include "reckon/core/error.hpp"
#include "reckon/core/prefetch.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/core/random.hpp"

namespace reckon {

namespace {

enum Loss : std::uint8_t { kWarp = 0, kBpr = 1, kLogistic = 2, kWarpKos = 3 };

Loss parse_loss(const std::string& s) {
  if (s == "bpr") return kBpr;
  if (s == "logistic") return kLogistic;
  if (s == "warp-kos") return kWarpKos;
  return kWarp;
}

// LightFM's cap on one WARP step's rank weight, for stability.
constexpr float kMaxLoss = 10.0f;
// WARP's weight for a violation found on the `sampled`-th draw among n items: the log of the
// estimated rank, floor((n - 1) / sampled), capped at kMaxLoss.
inline float warp_rank_weight(index_t n, index_t sampled) {
  const double w = std::log(
      std::max(1.0, std::floor(static_cast<double>(n - 1) / static_cast<double>(sampled))));
  return std::min(kMaxLoss, static_cast<float>(w));
}

// Unseen items a fold-in step draws at most (training uses max_sampled as given).
constexpr index_t kMaxFoldinCandidates = 100;

using FloatMap = Eigen::Map<Eigen::VectorXf>;
using ConstFloatMap = Eigen::Map<const Eigen::VectorXf>;

}  // namespace

std::vector<ParamSpec> HybridModel::param_specs() {
  return {
      {"factors", ParamType::kInt, "64", 1, 1024, "latent factors"},
      {"epochs", ParamType::kInt, "30", 1, 100000, "passes over the interactions"},
      {"loss",
       ParamType::kString,
       "warp",
       0,
       -1,
       "warp (sample unseen items until one outranks the seen one; weight by the estimated "
       "rank), warp-kos (WARP on the k-th best of n of a user's items), bpr (one unseen item "
       "per seen one) or logistic (seen items against one sampled unseen item as 0)",
       {"warp", "warp-kos", "bpr", "logistic"}},
      {"optimizer",
       ParamType::kString,
       "adagrad",
       0,
       -1,
       "per-parameter steps: adagrad (learning_rate over the root of the summed squared "
       "gradients) or adadelta (rho, epsilon; no learning rate)",
       {"adagrad", "adadelta"}},
      {"learning_rate", ParamType::kFloat, "0.05", 1e-6, 10, "adagrad step"},
      {"rho", ParamType::kFloat, "0.95", 0, 0.999999, "adadelta decay"},
      {"epsilon", ParamType::kFloat, "1e-6", 1e-12, 1, "adadelta epsilon"},
      {"regularization", ParamType::kFloat, "0", 0, 10,
       "L2 penalty on the embeddings and biases touched by a step"},
      {"max_sampled", ParamType::kInt, "10", 1, 100000,
       "warp: unseen items drawn at most per seen one"},
      {"kos_k", ParamType::kInt, "5", 1, 10000, "warp-kos: the k-th best of the n drawn is used"},
      {"kos_n", ParamType::kInt, "10", 1, 10000, "warp-kos: seen items drawn per user"},
      {"user_ids", ParamType::kBool, "true", 0, -1,
       "each user has its own embedding (false: users are their features alone)"},
      {"item_ids", ParamType::kBool, "true", 0, -1,
       "each item has its own embedding (false: items are their features alone)"},
      {"columns", ParamType::kString, "", 0, -1,
       "item feature columns, comma-separated (default: every column except ids, URLs, ISBNs, "
       "image links and label columns with a label for most items; \"none\": ids only)"},
      {"user_columns", ParamType::kString, "none", 0, -1,
       "user feature columns, comma-separated, e.g. age,gender,occupation (\"\": every usable "
       "one; default none: demographics dilute a known user's own embedding, ML-100K u1 "
       "recall@20 0.274 -> 0.216 with them; name them to serve users by demographics)"},
      {"numeric", ParamType::kString, "buckets", 0, -1,
       "numeric columns: buckets (one feature per quantile bucket) or raw (one value scaled "
       "to [0, 1])",
       {"buckets", "raw"}},
      {"buckets", ParamType::kInt, "10", 2, 1000, "numeric: quantile buckets"},
      {"min_df", ParamType::kInt, "2", 1, 1e9, "text: a term must appear in this many rows"},
      {"max_terms", ParamType::kInt, "10000", 1, 1e7, "text: the most frequent terms kept"},
      {"normalize", ParamType::kBool, "true", 0, -1,
       "scale each user's and item's feature weights (id included) to sum to 1, as LightFM's "
       "datasets do"},
      {"label_weights", ParamType::kBool, "true", 0, -1,
       "labels weigh the weights the data gives them (goodbooks: 1 + ln of a tag's count), "
       "else 1"},
      {"idf", ParamType::kBool, "true", 0, -1,
       "scale each feature by its inverse document frequency, log((1 + n) / (1 + df)) + 1, "
       "before normalising: a tag every book has weighs less than its author"},
      {"weighting", ParamType::kString, "values", 0, -1,
       "sample weights: values (the prepared interaction weights, scaled to mean 1) or none",
       {"values", "none"}},
      {"foldin_steps", ParamType::kInt, "3000", 0, 100000,
       "SGD steps when folding in a new history (spread over its items: a short history is "
       "passed over many times, a long one a few)"},
  };
}

namespace {

// One side (users or items) while training: feature rows (id first, then the encoded
// features), and per feature an embedding, a bias and the optimizer's accumulators.
struct Side {
  CsrMatrix rows;        // entities x features, normalised weights
  FactorMatrix e;        // features x f
  FactorMatrix g2, u2;   // adagrad: summed squared gradients; adadelta: their running means
  std::vector<float> b, bg2, bu2;
  bool ids_only = false;  // every row is its id alone, weight 1: no need to read `rows`
};

struct Optimizer {
  bool adadelta = false;
  float lr = 0.05f, rho = 0.95f, eps = 1e-6f, reg = 0;

  // One step on embedding row k (and its bias) of `s` with gradient `grad` scaled by w;
  // `tmp` holds f floats. Whole rows as Eigen arrays: vectorised square roots and divisions
  // (a scalar loop of std::sqrt is not, for errno's sake).
  void step(Side& s, index_t k, float w, const float* grad, float bias_grad, Eigen::Index f,
            float* tmp) const {
    using A = Eigen::Map<Eigen::ArrayXf>;
    using CA = Eigen::Map<const Eigen::ArrayXf>;
    A e(s.e.row(k).data(), f), g2(s.g2.row(k).data(), f), g(tmp, f);
    g = w * CA(grad, f);
    if (reg > 0) g += reg * e;
    if (!adadelta) {
      e -= lr * g / g2.sqrt();
      g2 += g.square();
      const float gb = w * bias_grad + reg * s.b[k];
      s.b[k] -= lr * gb / std::sqrt(s.bg2[k]);
      s.bg2[k] += gb * gb;
      return;
    }
    A u2(s.u2.row(k).data(), f);
    g2 = rho * g2 + (1 - rho) * g.square();
    g *= (u2 + eps).sqrt() / (g2 + eps).sqrt();  // now the update
    u2 = rho * u2 + (1 - rho) * g.square();
    e -= g;
    const float gb = w * bias_grad + reg * s.b[k];
    s.bg2[k] = rho * s.bg2[k] + (1 - rho) * gb * gb;
    const float d = std::sqrt(s.bu2[k] + eps) / std::sqrt(s.bg2[k] + eps) * gb;
    s.bu2[k] = rho * s.bu2[k] + (1 - rho) * d * d;
    s.b[k] -= d;
  }

  // The same step for every feature of entity r.
  void update(Side& s, index_t r, const float* grad, float bias_grad, Eigen::Index f,
              float* tmp) const {
    if (s.ids_only) return step(s, r, 1.0f, grad, bias_grad, f, tmp);
    const auto fs = s.rows.row_indices(r);
    const auto ws = s.rows.row_values(r);
    for (std::size_t k = 0; k < fs.size(); ++k) step(s, fs[k], ws[k], grad, bias_grad, f, tmp);
  }
};

// Entity r's representation: the weighted sum of its feature embeddings, summed into `buf`,
// or its one embedding row itself when it has only its id (no copy: most items of a pure CF
// fit, and every negative WARP draws). `bias` receives the summed bias.
inline const float* represent(const Side& s, index_t r, float* buf, float& bias,
                              Eigen::Index f) {
  if (s.ids_only) {
    bias = s.b[r];
    return s.e.row(r).data();
  }
  const auto fs = s.rows.row_indices(r);
  const auto ws = s.rows.row_values(r);
  if (fs.size() == 1 && ws[0] == 1.0f) {
    bias = s.b[fs[0]];
    return s.e.row(fs[0]).data();
  }
  FloatMap v(buf, f);
  v.setZero();
  bias = 0;
  for (std::size_t k = 0; k < fs.size(); ++k) {
    v += ws[k] * s.e.row(fs[k]).transpose();
    bias += ws[k] * s.b[fs[k]];
  }
  return buf;
}

// a . b, inlined: 16 lanes of partial sums that the compiler keeps in vector registers (Eigen's
// dot product was a call per candidate, a tenth of the fit).
inline float dot_product(const float* a, const float* b, Eigen::Index f) {
  float acc[16] = {};
  Eigen::Index k = 0;
  for (; k + 16 <= f; k += 16)
    for (int l = 0; l < 16; ++l) acc[l] += a[k + l] * b[k + l];
  float sum = 0;
  for (; k < f; ++k) sum += a[k] * b[k];
  for (int l = 0; l < 16; ++l) sum += acc[l];
  return sum;
}

// The embedding and accumulator rows of entity r's features, ahead of a step that writes them
// (the rows are read at random: the hardware cannot guess them; perf: most of the fit waited on
// these loads).
inline void prefetch_entity(const Side& s, index_t r, Eigen::Index f, bool accumulators) {
  if (s.ids_only) {
    prefetch_floats<true>(s.e.row(r).data(), f);
    if (accumulators) prefetch_floats<true>(s.g2.row(r).data(), f);
    return;
  }
  const auto fs = s.rows.row_indices(r);
  for (const index_t k : fs) {
    prefetch_floats<true>(s.e.row(k).data(), f);
    if (accumulators) prefetch_floats<true>(s.g2.row(k).data(), f);
  }
}

// Feature rows: the id (when used) then the encoded features, weights scaled to sum to 1.
CsrMatrix feature_rows(index_t n, bool ids, const CsrMatrix& encoded, bool normalize) {
  const index_t offset = ids ? n : 0;
  std::vector<index_t> indptr{0};
  std::vector<col_t> indices;
  std::vector<float> values;
  indptr.reserve(static_cast<std::size_t>(n) + 1);
  for (index_t r = 0; r < n; ++r) {
    const std::size_t first = values.size();
    if (ids) {
      indices.push_back(static_cast<col_t>(r));
      values.push_back(1.0f);
    }
    const auto fs = encoded.row_indices(r);
    const auto vs = encoded.row_values(r);
    for (std::size_t k = 0; k < fs.size(); ++k) {
      indices.push_back(static_cast<col_t>(offset + fs[k]));
      values.push_back(vs[k]);
    }
    if (normalize) {
      // Absolute values: embedding components may be negative.
      double sum = 0;
      for (std::size_t k = first; k < values.size(); ++k) sum += std::abs(values[k]);
      if (sum > 0)
        for (std::size_t k = first; k < values.size(); ++k)
          values[k] = static_cast<float>(values[k] / sum);
    }
    indptr.push_back(static_cast<index_t>(indices.size()));
  }
  return CsrMatrix(n, offset + encoded.cols(), std::move(indptr), std::move(indices),
                   std::move(values));
}

// The encoded features scaled by their IDF (or 1); `scale` receives the factor per feature, for
// the features of rows encoded later (a new item, a stranger).
CsrMatrix scaled(const CsrMatrix& encoded, bool idf, std::vector<float>& scale) {
  const auto n = static_cast<double>(encoded.rows());
  scale.assign(static_cast<std::size_t>(encoded.cols()), 1.0f);
  if (!idf) return encoded;
  const std::vector<index_t> df = encoded.column_counts();
  for (std::size_t k = 0; k < scale.size(); ++k)
    scale[k] = static_cast<float>(std::log((1.0 + n) / (1.0 + static_cast<double>(df[k]))) + 1.0);
  std::vector<float> v(encoded.values().begin(), encoded.values().end());
  for (std::size_t e = 0; e < v.size(); ++e) v[e] *= scale[encoded.indices()[e]];
  return encoded.with_values(std::move(v));
}

void init_side(Side& s, Eigen::Index f, bool adadelta, Rng& rng) {
  const index_t n = s.rows.cols();
  s.e.resize(n, f);
  // LightFM's initialisation: uniform in (-0.5, 0.5) / f.
  for (Eigen::Index k = 0; k < s.e.size(); ++k)
    s.e.data()[k] = static_cast<float>((rng.uniform() - 0.5) / static_cast<double>(f));
  const float start = adadelta ? 0.0f : 1.0f;
  s.g2.setConstant(n, f, start);
  s.b.assign(static_cast<std::size_t>(n), 0.0f);
  s.bg2.assign(static_cast<std::size_t>(n), start);
  if (adadelta) {
    s.u2.setZero(n, f);
    s.bu2.assign(static_cast<std::size_t>(n), 0.0f);
  }
}

// The encoder options of the model's parameters for one side; "none" uses no columns.
FeatureEncoderOptions encoder_options(const Params& params, const std::string& columns,
                                      std::string_view side) {
  FeatureEncoderOptions o;
  o.side = side;
  o.columns = columns;
  o.numeric_raw = params.get_string("numeric") == "raw";
  o.buckets = static_cast<int>(params.get_int("buckets"));
  o.min_df = params.get_int("min_df");
  o.max_terms = static_cast<std::size_t>(params.get_int("max_terms"));
  o.label_weights = params.get_bool("label_weights");
  return o;
}

void fit_encoder(FeatureEncoder& enc, const FeatureTable& table, const Params& params,
                 const std::string& key, std::string_view side) {
  const std::string& columns = params.get_string(key);
  if (columns == "none") {
    enc = FeatureEncoder();
    return;
  }
  enc.fit(table, encoder_options(params, columns, side), "hybrid");
}

inline bool seen(std::span<const col_t> row, index_t j) {
  return std::binary_search(row.begin(), row.end(), j);
}

inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

}  // namespace

void HybridModel::fit(const Dataset& train, const Params& params, FitContext& ctx) {
  const auto f = static_cast<Eigen::Index>(params.get_int("factors"));
  const auto epochs = params.get_int("epochs");
  const Loss loss = parse_loss(params.get_string("loss"));
  loss_ = loss;
  Optimizer opt;
  opt.adadelta = params.get_string("optimizer") == "adadelta";
  opt.lr = static_cast<float>(params.get_float("learning_rate"));
  opt.rho = static_cast<float>(params.get_float("rho"));
  opt.eps = static_cast<float>(params.get_float("epsilon"));
  opt.reg = static_cast<float>(params.get_float("regularization"));
  learning_rate_ = opt.lr;
  regularization_ = opt.reg;
  max_sampled_ = static_cast<std::int32_t>(params.get_int("max_sampled"));
  foldin_steps_ = static_cast<std::int32_t>(params.get_int("foldin_steps"));
  const auto kos_k = params.get_int("kos_k"), kos_n = params.get_int("kos_n");
  user_ids_ = params.get_bool("user_ids");
  item_ids_ = params.get_bool("item_ids");
  normalize_ = params.get_bool("normalize");
  const bool weighted = params.get_string("weighting") == "values";
  const int threads = ctx.threads > 0 ? ctx.threads : omp_get_max_threads();

  const CsrMatrix& m = train.interactions;
  const index_t n_users = m.rows(), n_items = m.cols();
  RECKON_CHECK(m.nnz() > 0, "hybrid: no interactions to learn from");
  RECKON_CHECK(n_items >= 2, "hybrid: needs at least two items");
  fit_encoder(item_encoder_, train.item_features, params, "columns", "item");
  fit_encoder(user_encoder_, train.user_features, params, "user_columns", "user");
  RECKON_CHECK(item_ids_ || item_encoder_.size() > 0,
               "hybrid: item_ids=false needs item features, and the items have none (import "
               "item metadata with --items, or name columns with -p columns=...)");
  RECKON_CHECK(user_ids_ || user_encoder_.size() > 0,
               "hybrid: user_ids=false needs user features, and the users have none (import "
               "them with --users, or name columns with -p user_columns=...)");

  Side users, items;
  const bool idf = params.get_bool("idf");
  users.rows = feature_rows(n_users, user_ids_,
                            scaled(user_encoder_.encode(train.user_features), idf, user_scale_),
                            normalize_);
  items.rows = feature_rows(n_items, item_ids_,
                            scaled(item_encoder_.encode(train.item_features), idf, item_scale_),
                            normalize_);
  users.ids_only = user_ids_ && users.rows.nnz() == n_users;
  items.ids_only = item_ids_ && items.rows.nnz() == n_items;
  Rng init(ctx.seed);
  init_side(users, f, opt.adadelta, init);
  init_side(items, f, opt.adadelta, init);
  remember_history_sizes(m);

  // Sample weights: the prepared interaction weights scaled to mean 1, so that the step size
  // means the same whatever the weights' scale.
  std::vector<float> weight(m.values().begin(), m.values().end());
  if (weighted) {
    double sum = 0;
    for (const float v : weight) sum += v;
    const double mean = sum / static_cast<double>(weight.size());
    RECKON_CHECK(mean > 0 && std::isfinite(mean),
                 "hybrid: the interaction weights have mean {}; use -p weighting=none", mean);
    for (auto& v : weight) v = static_cast<float>(std::max(0.0, v / mean));
  } else {
    std::fill(weight.begin(), weight.end(), 1.0f);
  }
  const std::vector<index_t> row_of = m.row_ids();
  std::vector<index_t> active;
  for (index_t u = 0; u < n_users; ++u)
    if (m.row_size(u) > 0) active.push_back(u);
  std::vector<index_t> order(loss == kWarpKos ? active.size() : static_cast<std::size_t>(m.nnz()));
  if (loss == kWarpKos)
    order = active;
  else
    std::iota(order.begin(), order.end(), index_t{0});
  constexpr index_t kPerTask = 4096;  // samples (or users for warp-kos) per task
  const auto total = static_cast<index_t>(order.size());
  const index_t tasks = (total + kPerTask - 1) / kPerTask;
  // Negatives are drawn from the items with training interactions only: an item nobody has
  // seen yet (a new book in the catalogue) is no evidence against anything, and drawing it
  // would teach the model to push its features down, the features a cold item is scored by.
  std::vector<index_t> warm;
  {
    const std::vector<index_t> counts = m.column_counts();
    for (index_t i = 0; i < n_items; ++i)
      if (counts[i] > 0) warm.push_back(i);
  }
  const bool all_warm = static_cast<index_t>(warm.size()) == n_items;
  const auto n_warm = static_cast<index_t>(warm.size());
  RECKON_CHECK(n_warm >= 2, "hybrid: needs at least two items with interactions");
  const auto warp_weight = [n_warm](index_t sampled) { return warp_rank_weight(n_warm, sampled); };

  Progress progress("fit hybrid", static_cast<double>(epochs), "epochs");
  for (std::int64_t e = 0; e < epochs; ++e) {
    const std::uint64_t epoch_seed = ctx.seed ^ (static_cast<std::uint64_t>(e + 1) << 24);
    Rng(epoch_seed).shuffle(std::span<index_t>(order));
#pragma omp parallel num_threads(threads)
    {
      Rng rng(0);
      std::vector<float> buf(static_cast<std::size_t>(7 * f));
      float* pb = buf.data();
      float* qib = pb + f;
      float* qjb = qib + f;
      float* gp = qjb + f;
      float* gi = gp + f;
      float* gj = gi + f;
      float* tmp = gj + f;
      const float *p = nullptr, *qi = nullptr, *qj = nullptr;
      std::vector<std::pair<float, index_t>> kos;
      auto dot = [f](const float* a, const float* b) { return dot_product(a, b, f); };
      // A pair step: raise (u, i) over (u, j) with strength `l` (the loss's derivative). The
      // gradients are taken before any row changes (p, qi, qj may be the rows themselves).
      auto pair_update = [&](index_t u, index_t i, index_t j, float l) {
        FloatMap(gp, f) = l * (ConstFloatMap(qj, f) - ConstFloatMap(qi, f));
        FloatMap(gi, f) = -l * ConstFloatMap(p, f);
        FloatMap(gj, f) = l * ConstFloatMap(p, f);
        opt.update(users, u, gp, 0.0f, f, tmp);
        opt.update(items, i, gi, -l, f, tmp);
        opt.update(items, j, gj, l, f, tmp);
      };
      // WARP against positive i (already represented in p, qi with prediction `pos`).
      auto draw = [&] {
        const auto k = static_cast<index_t>(rng.below(static_cast<std::uint64_t>(n_warm)));
        return all_warm ? k : warm[k];
      };
      auto warp = [&](index_t u, index_t i, float pos, float w) {
        const auto row = m.row_indices(u);
        // Candidates are drawn kAhead steps ahead and their rows prefetched while the earlier
        // ones are scored: a late epoch scores most of the max_sampled candidates, each a
        // random row far away in memory.
        constexpr index_t kAhead = 4;
        index_t ring[kAhead];
        const index_t first = std::min<index_t>(kAhead, max_sampled_);
        for (index_t a = 0; a < first; ++a) {
          ring[a] = draw();
          prefetch_entity(items, ring[a], f, false);
        }
        for (index_t sampled = 1; sampled <= max_sampled_; ++sampled) {
          index_t& slot = ring[(sampled - 1) % kAhead];
          const index_t j = slot;
          if (sampled + kAhead <= max_sampled_) {
            slot = draw();
            prefetch_entity(items, slot, f, false);
          }
          float jb;
          qj = represent(items, j, qjb, jb, f);
          if (jb + dot(p, qj) > pos - 1.0f) {
            if (seen(row, j)) continue;
            pair_update(u, i, j, std::min(kMaxLoss, w * warp_weight(sampled)));
            return;
          }
        }
      };
      auto unseen = [&](index_t u) {
        const auto row = m.row_indices(u);
        index_t j;
        do j = draw();
        while (seen(row, j));
        return j;
      };
#pragma omp for schedule(dynamic, 1)
      for (index_t task = 0; task < tasks; ++task) {
        rng = Rng(epoch_seed ^ static_cast<std::uint64_t>(task + 1) * 0x9E3779B97F4A7C15ull);
        const index_t lo = task * kPerTask, hi = std::min(total, lo + kPerTask);
        for (index_t s = lo; s < hi; ++s) {
          float ub, ib, jb;
          if (loss == kWarpKos) {
            // The k-th best by score of n of the user's items drawn at random.
            const index_t u = order[s];
            const auto row = m.row_indices(u);
            if (static_cast<index_t>(row.size()) >= n_warm) continue;
            p = represent(users, u, pb, ub, f);
            kos.clear();
            const index_t draws = std::min<index_t>(kos_n, static_cast<index_t>(row.size()));
            for (index_t d = 0; d < draws; ++d) {
              const index_t pos = m.indptr()[u] + static_cast<index_t>(rng.below(row.size()));
              qi = represent(items, m.indices()[pos], qib, ib, f);
              kos.emplace_back(ib + dot(p, qi), pos);
            }
            const auto kth = static_cast<std::size_t>(std::min<index_t>(kos_k, draws) - 1);
            std::nth_element(kos.begin(), kos.begin() + static_cast<std::ptrdiff_t>(kth),
                             kos.end(), [](const auto& a, const auto& b) { return a > b; });
            const index_t pos = kos[kth].second;
            const index_t i = m.indices()[pos];
            qi = represent(items, i, qib, ib, f);
            warp(u, i, ib + dot(p, qi), weight[pos]);
            continue;
          }
          // Samples come in a random order: their rows are fetched a few samples ahead, the
          // positions first, then the rows they point to.
          if (s + 8 < hi) {
            __builtin_prefetch(&row_of[order[s + 8]]);
            __builtin_prefetch(&m.indices()[order[s + 8]]);
          }
          if (s + 3 < hi) {
            const index_t ahead = order[s + 3];
            prefetch_entity(users, row_of[ahead], f, true);
            prefetch_entity(items, m.indices()[ahead], f, true);
          }
          const index_t pos = order[s];
          const index_t u = row_of[pos], i = m.indices()[pos];
          const float w = weight[pos];
          if (w <= 0 || m.row_size(u) >= n_warm) continue;
          p = represent(users, u, pb, ub, f);
          qi = represent(items, i, qib, ib, f);
          const float x = ib + dot(p, qi);
          if (loss == kWarp) {
            warp(u, i, x, w);
          } else if (loss == kBpr) {
            const index_t j = unseen(u);
            qj = represent(items, j, qjb, jb, f);
            pair_update(u, i, j, w * sigmoid(jb + dot(p, qj) - x));
          } else {
            // Logistic: the seen item as 1, one unseen item as 0; each its own step.
            const index_t j = unseen(u);
            qj = represent(items, j, qjb, jb, f);
            const float dpos = w * (sigmoid(ub + x) - 1.0f);
            const float dneg = w * sigmoid(ub + jb + dot(p, qj));
            FloatMap(gp, f) = dpos * ConstFloatMap(qi, f) + dneg * ConstFloatMap(qj, f);
            FloatMap(gi, f) = dpos * ConstFloatMap(p, f);
            FloatMap(gj, f) = dneg * ConstFloatMap(p, f);
            opt.update(users, u, gp, dpos + dneg, f, tmp);
            opt.update(items, i, gi, dpos, f, tmp);
            opt.update(items, j, gj, dneg, f, tmp);
          }
        }
      }
    }
    progress.update(static_cast<double>(e + 1));
  }
  progress.finish();
  RECKON_CHECK(users.e.allFinite() && items.e.allFinite(),
               "hybrid: the fit diverged (non-finite embeddings); lower learning_rate (now {}) "
               "or use -p optimizer=adadelta",
               opt.lr);

  // The factor matrices the shared scoring uses: each entity's weighted sum. An entity without
  // training interactions has an id embedding that was never trained (random noise): it is
  // left out, and the entity is its features alone (a cold item with tags, a user with only
  // demographics).
  const std::vector<index_t> item_counts = m.column_counts();
  auto fold = [f](const Side& s, index_t r, bool drop_id, float* out) {
    FloatMap v(out, f);
    v.setZero();
    float bias = 0;
    const auto fs = s.rows.row_indices(r);
    const auto ws = s.rows.row_values(r);
    for (std::size_t k = drop_id ? 1 : 0; k < fs.size(); ++k) {
      v += ws[k] * s.e.row(fs[k]).transpose();
      bias += ws[k] * s.b[fs[k]];
    }
    return bias;
  };
  item_factors_.resize(n_items, f);
  item_bias_.assign(static_cast<std::size_t>(n_items), 0.0f);
  for (index_t i = 0; i < n_items; ++i)
    item_bias_[i] = fold(items, i, item_ids_ && item_counts[i] == 0, item_factors_.row(i).data());
  user_factors_.resize(n_users, f);
  for (index_t u = 0; u < n_users; ++u)
    fold(users, u, user_ids_ && m.row_size(u) == 0, user_factors_.row(u).data());
  const index_t item_offset = item_ids_ ? n_items : 0, user_offset = user_ids_ ? n_users : 0;
  item_feature_factors_ = items.e.bottomRows(items.e.rows() - item_offset);
  item_feature_bias_.assign(items.b.begin() + item_offset, items.b.end());
  user_feature_factors_ = users.e.bottomRows(users.e.rows() - user_offset);
  if (ctx.verbose)
    spdlog::info("hybrid: {} item features from {} columns, {} user features from {} columns",
                 item_encoder_.size(), item_encoder_.columns().size(), user_encoder_.size(),
                 user_encoder_.columns().size());
}

namespace {

// Features of one row as (embedding row, weight), weighted as in training: the weights are
// scaled to sum to 1 with the id's weight 1 counted (when ids are used), the id left out.
void weighted_features(const FeatureEncoder& enc, const std::vector<float>& scale,
                       const FeatureTable& table, index_t row, bool ids, bool normalize,
                       std::vector<std::pair<index_t, float>>& out) {
  enc.encode_row(table, row, out);
  for (auto& kv : out) kv.second *= scale[static_cast<std::size_t>(kv.first)];
  if (!normalize) return;
  double sum = ids ? 1.0 : 0.0;
  for (const auto& [k, v] : out) sum += std::abs(v);
  if (sum > 0)
    for (auto& kv : out) kv.second = static_cast<float>(kv.second / sum);
}

}  // namespace

std::pair<Eigen::VectorXf, float> HybridModel::item_from_features(const FeatureTable& features,
                                                                  index_t row) const {
  const auto e = embed_new_item(features, row);
  if (!e) return {Eigen::VectorXf::Zero(item_factors_.cols()), 0.0f};
  return {ConstFloatMap(e->values.data(), item_factors_.cols()), e->bias};
}

std::optional<NewItemVector> HybridModel::embed_new_item(const FeatureTable& features,
                                                        index_t row) const {
  // The features' embeddings and biases, weighted as in training (an item none of whose
  // features the model knows is not placed).
  std::vector<std::pair<index_t, float>> fs;
  weighted_features(item_encoder_, item_scale_, features, row, item_ids_, normalize_, fs);
  if (fs.empty()) return std::nullopt;
  Eigen::VectorXf v = Eigen::VectorXf::Zero(item_factors_.cols());
  NewItemVector out;
  for (const auto& [k, w] : fs) {
    v += w * item_feature_factors_.row(k).transpose();
    out.bias += w * item_feature_bias_[k];
  }
  out.values.assign(v.data(), v.data() + v.size());
  return out;
}

void HybridModel::score_new_items(const UserContext& user, std::span<const NewItemVector> items,
                                  std::span<float> out) const {
  RECKON_ASSERT(out.size() == items.size());
  const Eigen::VectorXf u = user_vector(user);
  for (std::size_t k = 0; k < items.size(); ++k) {
    RECKON_CHECK(static_cast<Eigen::Index>(items[k].values.size()) == u.size(),
                 "hybrid: a new item's vector has {} values, the model {}", items[k].values.size(),
                 u.size());
    out[k] = items[k].bias + ConstFloatMap(items[k].values.data(), u.size()).dot(u);
  }
}

std::vector<ScoredItem> HybridModel::similar_to_new_item(const NewItemVector& item,
                                                         std::size_t k) const {
  RECKON_CHECK(static_cast<Eigen::Index>(item.values.size()) == item_factors_.cols(),
               "hybrid: a new item's vector has {} values, the model {}", item.values.size(),
               item_factors_.cols());
  return similar_to_vector(ConstFloatMap(item.values.data(), item_factors_.cols()), k);
}

std::vector<std::vector<FeatureContribution>> HybridModel::explain(
    const UserContext& user, std::span<const index_t> items, std::size_t top) const {
  if (!user.item_features)
    throw NotSupported("hybrid explains a score by the item's features: it needs the items' "
                       "metadata (UserContext::item_features)");
  RECKON_CHECK(user.item_features->rows() == item_factors_.rows(),
               "hybrid: item metadata for {} items, the model has {}", user.item_features->rows(),
               item_factors_.rows());
  const Eigen::VectorXf p = user_vector(user);
  std::vector<std::vector<FeatureContribution>> out(items.size());
  std::vector<std::pair<index_t, float>> fs;
  for (std::size_t k = 0; k < items.size(); ++k) {
    const index_t i = items[k];
    if (i < 0 || i >= item_factors_.rows()) continue;
    weighted_features(item_encoder_, item_scale_, *user.item_features, i, item_ids_, normalize_,
                      fs);
    std::vector<FeatureContribution>& why = out[k];
    float features = 0;
    for (const auto& [f, w] : fs) {
      const float c = w * (item_feature_factors_.row(f).dot(p) + item_feature_bias_[f]);
      why.push_back({item_encoder_.feature_name(f), w, c});
      features += c;
    }
    // What the item's own id embedding adds: the score less its features' parts (none for an
    // item trained without interactions, whose id is left out).
    const float id = item_factors_.row(i).dot(p) + item_bias_[i] - features;
    if (item_ids_ && std::abs(id) > 1e-6f) why.push_back({"item_id", 1.0f, id});
    std::sort(why.begin(), why.end(), [](const FeatureContribution& a, const FeatureContribution& b) {
      return a.contribution != b.contribution ? a.contribution > b.contribution
                                              : a.feature < b.feature;
    });
    if (why.size() > top) why.resize(top);
  }
  return out;
}

Eigen::VectorXf HybridModel::user_from_features(const UserContext& user) const {
  Eigen::VectorXf v = Eigen::VectorXf::Zero(item_factors_.cols());
  if (!user.features || user_encoder_.empty()) return v;
  std::vector<std::pair<index_t, float>> fs;
  weighted_features(user_encoder_, user_scale_, *user.features, user.feature_row, user_ids_, normalize_, fs);
  for (const auto& [k, w] : fs) v += w * user_feature_factors_.row(k).transpose();
  return v;
}

bool HybridModel::scores_without_history(const UserContext& user) const {
  if (!user.features || user_encoder_.empty()) return false;
  std::vector<std::pair<index_t, float>> fs;
  user_encoder_.encode_row(*user.features, user.feature_row, fs);
  return !fs.empty();
}

Eigen::VectorXf HybridModel::fold_in(const UserContext& user) const {
  // A known user keeps what they are (id and features); a stranger is their features. A free
  // vector added to that is fitted to the history by SGD with the model's loss, the items
  // fixed, from a generator seeded by the history (the same history gives the same vector).
  const Eigen::Index f = item_factors_.cols();
  const index_t n_items = item_factors_.rows();
  const bool known = user.user && *user.user >= 0 && *user.user < user_factors_.rows();
  const Eigen::VectorXf base =
      known ? Eigen::VectorXf(user_factors_.row(*user.user).transpose()) : user_from_features(user);
  std::vector<index_t> sorted;
  for (const index_t i : user.history)
    if (i >= 0 && i < n_items) sorted.push_back(i);
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  if (sorted.empty() || static_cast<index_t>(sorted.size()) >= n_items || foldin_steps_ == 0)
    return base;
  std::uint64_t key = 1469598103934665603ull;
  for (const index_t i : sorted) key = (key ^ static_cast<std::uint64_t>(i)) * 1099511628211ull;
  Rng rng(key);
  Eigen::VectorXf d = Eigen::VectorXf::Zero(f), g2 = Eigen::VectorXf::Ones(f), p(f), grad(f);
  const auto is_seen = [&](index_t j) { return std::binary_search(sorted.begin(), sorted.end(), j); };
  const auto warp_weight = [n_items](index_t sampled) { return warp_rank_weight(n_items, sampled); };
  const bool warp = loss_ == kWarp || loss_ == kWarpKos;
  // A fold-in's cost is steps x candidates x factors: both bounded here and at load, so that a
  // model file cannot make one request run for hours.
  const index_t candidates = std::min<index_t>(max_sampled_, kMaxFoldinCandidates);
  {
    for (std::int32_t s = 0; s < foldin_steps_; ++s) {
      const index_t i = sorted[rng.below(sorted.size())];
      p = base + d;
      const float x = item_bias_[i] + item_factors_.row(i).dot(p);
      float l = 0;
      index_t j = -1;
      if (warp) {
        for (index_t sampled = 1; sampled <= candidates; ++sampled) {
          const auto c = static_cast<index_t>(rng.below(static_cast<std::uint64_t>(n_items)));
          if (item_bias_[c] + item_factors_.row(c).dot(p) > x - 1.0f && !is_seen(c)) {
            j = c;
            l = warp_weight(sampled);
            break;
          }
        }
        if (j < 0) continue;
      } else {
        do j = static_cast<index_t>(rng.below(static_cast<std::uint64_t>(n_items)));
        while (is_seen(j));
        l = sigmoid(item_bias_[j] + item_factors_.row(j).dot(p) - x);
      }
      grad = l * (item_factors_.row(j) - item_factors_.row(i)).transpose() + regularization_ * d;
      d.array() -= learning_rate_ * grad.array() / g2.array().sqrt();
      g2.array() += grad.array().square();
    }
  }
  return base + d;
}

void HybridModel::save_extra(BinaryWriter& w) const {
  item_encoder_.write(w);
  user_encoder_.write(w);
  w.put<std::uint8_t>(static_cast<std::uint8_t>((user_ids_ ? 1 : 0) | (item_ids_ ? 2 : 0) |
                                                (normalize_ ? 4 : 0)));
  write_factor_matrix(w, item_feature_factors_);
  write_factor_matrix(w, user_feature_factors_);
  w.put_vector(item_feature_bias_);
  w.put_vector(item_bias_);
  w.put_vector(item_scale_);
  w.put_vector(user_scale_);
  w.put<std::uint8_t>(loss_);
  w.put<float>(learning_rate_);
  w.put<float>(regularization_);
  w.put<std::int32_t>(max_sampled_);
  w.put<std::int32_t>(foldin_steps_);
}

void HybridModel::load_extra(BinaryReader& r) {
  item_encoder_.read(r);
  user_encoder_.read(r);
  const auto flags = r.get<std::uint8_t>();
  RECKON_CHECK(flags < 8, "{}: corrupt hybrid model (flags)", r.what());
  user_ids_ = flags & 1;
  item_ids_ = flags & 2;
  normalize_ = flags & 4;
  item_feature_factors_ = read_factor_matrix(r);
  user_feature_factors_ = read_factor_matrix(r);
  item_feature_bias_ = r.get_vector<float>();
  item_bias_ = r.get_vector<float>();
  item_scale_ = r.get_vector<float>();
  user_scale_ = r.get_vector<float>();
  loss_ = r.get<std::uint8_t>();
  learning_rate_ = r.get<float>();
  regularization_ = r.get<float>();
  max_sampled_ = r.get<std::int32_t>();
  foldin_steps_ = r.get<std::int32_t>();
  const Eigen::Index f = item_factors_.cols();
  RECKON_CHECK(item_feature_factors_.rows() == item_encoder_.size() &&
                   user_feature_factors_.rows() == user_encoder_.size() &&
                   (item_feature_factors_.rows() == 0 || item_feature_factors_.cols() == f) &&
                   (user_feature_factors_.rows() == 0 || user_feature_factors_.cols() == f) &&
                   static_cast<index_t>(item_feature_bias_.size()) == item_encoder_.size() &&
                   static_cast<Eigen::Index>(item_bias_.size()) == item_factors_.rows() &&
                   static_cast<index_t>(item_scale_.size()) == item_encoder_.size() &&
                   static_cast<index_t>(user_scale_.size()) == user_encoder_.size(),
               "{}: corrupt hybrid model (feature embeddings disagree with the encoders)",
               r.what());
  RECKON_CHECK(loss_ <= kWarpKos && std::isfinite(learning_rate_) && learning_rate_ > 0 &&
                   std::isfinite(regularization_) && regularization_ >= 0 && max_sampled_ >= 1 &&
                   max_sampled_ <= 100000 && foldin_steps_ >= 0 && foldin_steps_ <= 100000,
               "{}: corrupt hybrid model (training settings)", r.what());
  for (const auto* scale : {&item_scale_, &user_scale_})
    for (const float x : *scale)
      RECKON_CHECK(std::isfinite(x) && x > 0 && x < 1e6, "{}: corrupt hybrid model (feature scale)",
                   r.what());
}

void HybridModel::validate_extra(const Dataset& train) const {
  RECKON_CHECK(static_cast<index_t>(item_bias_.size()) == train.num_items(),
               "hybrid has {} item biases for {} items", item_bias_.size(), train.num_items());
}

}  // namespace reckon
