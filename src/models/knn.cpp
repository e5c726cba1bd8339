#include "reckon/models/knn.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "reckon/core/error.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/prep/weights.hpp"
#include "reckon/retrieval/topk.hpp"

namespace reckon {

std::vector<ParamSpec> knn_param_specs(const std::string& neighbours, const std::string& similarity,
                                       const std::string& alpha) {
  return {
      {"neighbours", ParamType::kInt, neighbours, 1, 100000, "neighbours kept per item (user)"},
      {"similarity",
       ParamType::kString,
       similarity,
       0,
       -1,
       "cosine, asymmetric (cosine with alpha), jaccard",
       {"cosine", "asymmetric", "jaccard"}},
      {"alpha", ParamType::kFloat, alpha, 0, 1,
       "asymmetric cosine: |a|^alpha |b|^(1-alpha), a = the item whose neighbours are sought"},
      {"shrinkage", ParamType::kFloat, "10", 0, 1e9, "added to the similarity denominator"},
      {"weighting",
       ParamType::kString,
       "bm25",
       0,
       -1,
       "weight interactions first: none, bm25, tfidf",
       {"none", "bm25", "tfidf"}},
  };
}

KnnOptions knn_options(const Params& p) {
  KnnOptions o;
  const std::string& s = p.get_string("similarity");
  o.similarity = s == "jaccard"      ? Similarity::kJaccard
                 : s == "asymmetric" ? Similarity::kAsymmetric
                                     : Similarity::kCosine;
  o.asymmetric_alpha = o.similarity == Similarity::kAsymmetric ? p.get_float("alpha") : 0.5;
  o.shrinkage = p.get_float("shrinkage");
  o.neighbours = p.get_int("neighbours");
  o.weighting = p.get_string("weighting");
  return o;
}

double knn_similarity(const KnnOptions& o, double both, double a, double b) {
  if (both <= 0) return 0;
  double denom;
  switch (o.similarity) {
    case Similarity::kJaccard:
      denom = a + b - both;
      break;
    case Similarity::kCosine:
    case Similarity::kAsymmetric:
      // a and b are squared norms.
      denom = std::pow(a, o.asymmetric_alpha) * std::pow(b, 1.0 - o.asymmetric_alpha);
      break;
  }
  return both / (denom + o.shrinkage);
}

namespace {

// Weighted copy of the training interactions (binary for Jaccard).
CsrMatrix weighted(const CsrMatrix& m, const KnnOptions& o) {
  if (o.similarity == Similarity::kJaccard) return m.with_values(std::vector<float>(m.nnz(), 1.0f));
  if (o.weighting == "none") return m;
  return m.with_values(compute_weights(m, parse_weight_scheme(o.weighting)));
}

// Per-row mass: squared norm (cosine) or count (Jaccard, binary values).
std::vector<float> row_mass(const CsrMatrix& m) {
  std::vector<float> out(static_cast<std::size_t>(m.rows()), 0.0f);
  for (index_t r = 0; r < m.rows(); ++r)
    for (float v : m.row_values(r)) out[r] += v * v;
  return out;
}

// For each row a of `a_b` (a x b) the `k` rows a' with the largest similarity, computed through
// the shared columns (b_a is the transpose). Returns an a x a CSR, best first per row.
CsrMatrix top_neighbours(const CsrMatrix& a_b, const CsrMatrix& b_a, const KnnOptions& o,
                         int threads, const char* what) {
  const index_t n = a_b.rows();
  const std::vector<float> mass = row_mass(a_b);
  // The cosines' denominator |a|^alpha |b|^(1-alpha) from powers taken once per row: pow() per
  // candidate pair was 40% of the Gowalla fit (perf). Same values as knn_similarity().
  const bool jaccard = o.similarity == Similarity::kJaccard;
  std::vector<double> left(jaccard ? 0 : static_cast<std::size_t>(n)),
      right(jaccard ? 0 : static_cast<std::size_t>(n));
  for (std::size_t r = 0; r < left.size(); ++r) {
    left[r] = std::pow(static_cast<double>(mass[r]), o.asymmetric_alpha);
    right[r] = std::pow(static_cast<double>(mass[r]), 1.0 - o.asymmetric_alpha);
  }
  std::vector<std::vector<ScoredItem>> rows(static_cast<std::size_t>(n));
  Progress progress(std::string("fit ") + what, static_cast<double>(n), "rows");
  std::atomic<index_t> done{0};
#pragma omp parallel num_threads(threads)
  {
    std::vector<float> acc(static_cast<std::size_t>(n), 0.0f);
    std::vector<index_t> touched;
    std::vector<ScoredItem> cand;  // reused: its capacity must not end up in `rows`
#pragma omp for schedule(dynamic, 64)
    for (index_t i = 0; i < n; ++i) {
      touched.clear();
      const auto cols = a_b.row_indices(i);
      const auto vals = a_b.row_values(i);
      for (std::size_t c = 0; c < cols.size(); ++c) {
        const auto others = b_a.row_indices(cols[c]);
        const auto weights = b_a.row_values(cols[c]);
        for (std::size_t t = 0; t < others.size(); ++t) {
          const index_t j = others[t];
          if (acc[j] == 0.0f) touched.push_back(j);
          acc[j] += vals[c] * weights[t];
        }
      }
      auto& out = rows[i];
      out.clear();
      cand.clear();
      for (index_t j : touched) {
        const float both = acc[j];
        acc[j] = 0.0f;
        if (j == i) continue;
        const double s = jaccard    ? knn_similarity(o, both, mass[i], mass[j])
                         : both > 0 ? both / (left[i] * right[j] + o.shrinkage)
                                    : 0.0;
        if (s > 0) cand.push_back({j, static_cast<float>(s)});
      }
      auto better = [](const ScoredItem& x, const ScoredItem& y) {
        return x.score > y.score || (x.score == y.score && x.item < y.item);
      };
      if (static_cast<index_t>(cand.size()) > o.neighbours) {
        std::nth_element(cand.begin(), cand.begin() + o.neighbours, cand.end(), better);
        cand.resize(static_cast<std::size_t>(o.neighbours));
      }
      std::sort(cand.begin(), cand.end(), better);
      out.assign(cand.begin(), cand.end());
      const index_t d = ++done;
      if ((d & 1023) == 0 && omp_get_thread_num() == 0) progress.update(static_cast<double>(d));
    }
  }
  progress.finish();
  std::vector<index_t> indptr(static_cast<std::size_t>(n) + 1, 0);
  std::vector<col_t> indices;
  std::vector<float> values;
  for (index_t i = 0; i < n; ++i) {
    for (const auto& s : rows[i]) {
      indices.push_back(static_cast<col_t>(s.item));
      values.push_back(s.score);
    }
    indptr[i + 1] = static_cast<index_t>(indices.size());
  }
  // Rows are ordered by similarity, not by column: build without the sorted-column check.
  return CsrMatrix::unchecked(n, n, std::move(indptr), std::move(indices), std::move(values));
}

}  // namespace

// Defaults tuned on the Gowalla LightGCN split (docs/BENCHMARKS.md).
std::vector<ParamSpec> ItemKnnModel::param_specs() {
  return knn_param_specs("200", "asymmetric", "0.85");
}

void ItemKnnModel::fit(const Dataset& train, const Params& params, FitContext& ctx) {
  const KnnOptions o = knn_options(params);
  const CsrMatrix ui = weighted(train.interactions, o);
  const CsrMatrix iu = ui.transposed();
  neighbours_ =
      top_neighbours(iu, ui, o, ctx.threads > 0 ? ctx.threads : omp_get_max_threads(), "itemknn");
}

void ItemKnnModel::score(const UserContext& user, std::span<float> out) const {
  RECKON_ASSERT(static_cast<index_t>(out.size()) == neighbours_.rows());
  std::fill(out.begin(), out.end(), 0.0f);
  for (std::size_t h = 0; h < user.history.size(); ++h) {
    const index_t i = user.history[h];
    if (i < 0 || i >= neighbours_.rows()) continue;
    const float w = user.weights.empty() ? 1.0f : user.weights[h];
    const auto js = neighbours_.row_indices(i);
    const auto ss = neighbours_.row_values(i);
    for (std::size_t k = 0; k < js.size(); ++k) out[js[k]] += w * ss[k];
  }
}

std::vector<std::vector<HistoryContribution>> ItemKnnModel::explain_history(
    const UserContext& user, std::span<const index_t> items, std::size_t top) const {
  // score(i) = sum over the history of weight(h) * similarity(h, i): a term per neighbour list.
  return history_contributions(user, items, top, [&](std::size_t h, std::size_t k) {
    const index_t from = user.history[h], to = items[k];
    if (from < 0 || from >= neighbours_.rows() || to < 0 || to >= neighbours_.cols()) return 0.0f;
    const auto js = neighbours_.row_indices(from);
    const auto ss = neighbours_.row_values(from);
    float sim = 0;
    for (std::size_t t = 0; t < js.size(); ++t)
      if (js[t] == to) sim += ss[t];  // lists are short (the neighbours kept) and best first
    return (user.weights.empty() ? 1.0f : user.weights[h]) * sim;
  });
}

std::vector<ScoredItem> ItemKnnModel::similar_items(index_t item, std::size_t k) const {
  RECKON_CHECK(item >= 0 && item < neighbours_.rows(), "item index {} out of range", item);
  std::vector<ScoredItem> out;
  const auto js = neighbours_.row_indices(item);
  const auto ss = neighbours_.row_values(item);
  for (std::size_t t = 0; t < js.size() && out.size() < k; ++t) out.push_back({js[t], ss[t]});
  return out;
}

void ItemKnnModel::save(BinaryWriter& w) const { neighbours_.write(w); }
void ItemKnnModel::load(BinaryReader& r) { neighbours_ = CsrMatrix::read(r, false); }

void ItemKnnModel::validate(const Dataset& train) const {
  RECKON_CHECK(neighbours_.rows() == train.num_items() && neighbours_.cols() == train.num_items(),
               "itemknn neighbour lists are {}x{}, the data has {} items", neighbours_.rows(),
               neighbours_.cols(), train.num_items());
}

std::vector<ParamSpec> UserKnnModel::param_specs() {
  return knn_param_specs("100", "cosine", "0.5");
}

void UserKnnModel::fit(const Dataset& train, const Params& params, FitContext&) {
  options_ = knn_options(params);
  user_items_ = weighted(train.interactions, options_);
  item_users_ = user_items_.transposed();
  user_mass_ = row_mass(user_items_);
}

void UserKnnModel::score(const UserContext& user, std::span<float> out) const {
  RECKON_ASSERT(static_cast<index_t>(out.size()) == user_items_.cols());
  std::fill(out.begin(), out.end(), 0.0f);
  // Similar users through the history's items (the known user itself is skipped).
  thread_local std::vector<float> acc;
  thread_local std::vector<index_t> touched;
  acc.assign(static_cast<std::size_t>(user_items_.rows()), 0.0f);
  touched.clear();
  double own = 0;
  for (std::size_t h = 0; h < user.history.size(); ++h) {
    const index_t i = user.history[h];
    if (i < 0 || i >= item_users_.rows()) continue;
    const float w = options_.similarity == Similarity::kJaccard || user.weights.empty()
                        ? 1.0f
                        : user.weights[h];
    own += static_cast<double>(w) * w;
    const auto vs = item_users_.row_indices(i);
    const auto ws = item_users_.row_values(i);
    for (std::size_t t = 0; t < vs.size(); ++t) {
      if (acc[vs[t]] == 0.0f) touched.push_back(vs[t]);
      acc[vs[t]] += w * ws[t];
    }
  }
  std::vector<ScoredItem> cand;
  for (index_t v : touched) {
    if (user.user && v == *user.user) continue;
    const double s = knn_similarity(options_, acc[v], own, user_mass_[v]);
    if (s > 0) cand.push_back({v, static_cast<float>(s)});
  }
  auto better = [](const ScoredItem& x, const ScoredItem& y) {
    return x.score > y.score || (x.score == y.score && x.item < y.item);
  };
  if (static_cast<index_t>(cand.size()) > options_.neighbours) {
    std::nth_element(cand.begin(), cand.begin() + options_.neighbours, cand.end(), better);
    cand.resize(static_cast<std::size_t>(options_.neighbours));
  }
  for (const auto& n : cand) {
    const auto items = user_items_.row_indices(n.item);
    const auto vals = user_items_.row_values(n.item);
    for (std::size_t t = 0; t < items.size(); ++t) out[items[t]] += n.score * vals[t];
  }
}

void UserKnnModel::save(BinaryWriter& w) const {
  w.put<std::int32_t>(static_cast<std::int32_t>(options_.similarity));
  w.put<double>(options_.asymmetric_alpha);
  w.put<double>(options_.shrinkage);
  w.put<index_t>(options_.neighbours);
  w.put_string(options_.weighting);
  user_items_.write(w);
}

void UserKnnModel::load(BinaryReader& r) {
  const auto s = r.get<std::int32_t>();
  RECKON_CHECK(s >= 0 && s <= 2, "{}: corrupt userknn model", r.what());
  options_.similarity = static_cast<Similarity>(s);
  options_.asymmetric_alpha = r.get<double>();
  options_.shrinkage = r.get<double>();
  options_.neighbours = r.get<index_t>();
  options_.weighting = r.get_string();
  user_items_ = CsrMatrix::read(r, true);
  item_users_ = user_items_.transposed();
  user_mass_ = row_mass(user_items_);
}

void UserKnnModel::validate(const Dataset& train) const {
  RECKON_CHECK(user_items_.rows() == train.num_users() && user_items_.cols() == train.num_items(),
               "userknn interactions are {}x{}, the data has {} users and {} items",
               user_items_.rows(), user_items_.cols(), train.num_users(), train.num_items());
  RECKON_CHECK(options_.neighbours >= 1, "userknn neighbours must be positive, got {}",
               options_.neighbours);
}

}  // namespace reckon
