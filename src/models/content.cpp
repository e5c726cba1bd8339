#include "reckon/models/content.hpp"

#include <fmt/format.h>
#include <Eigen/Sparse>
#include <Spectra/contrib/PartialSVDSolver.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <string>
#include <unordered_map>

#include "reckon/core/binary_io.hpp"
#include "reckon/core/error.hpp"
#include "reckon/models/feature_encoder.hpp"
#include "reckon/retrieval/topk.hpp"

namespace reckon {

std::vector<ParamSpec> ContentModel::param_specs() {
  return {
      {"columns", ParamType::kString, "", 0, -1,
       "item feature columns to use, comma-separated (default: every label, label-list and "
       "text column except ids, URLs, ISBNs and image links, and label columns with a label "
       "for most items)"},
      {"min_df", ParamType::kInt, "2", 1, 1e9,
       "text: a term must appear in at least this many items"},
      {"max_terms", ParamType::kInt, "50000", 1, 1e7,
       "text: the most frequent terms kept per column"},
      {"half_life_days", ParamType::kFloat, "0", 0, 1e6,
       "profile: an interaction this many days older than the user's latest counts half (0: "
       "no decay)"},
      {"label_weights", ParamType::kBool, "false", 0, -1,
       "labels weigh the weights the data gives them (goodbooks: 1 + ln of a tag's count) "
       "before IDF (default off: on a validation part of goodbooks' cold books, recall@20 "
       "0.1615 with them, 0.2025 without)"},
      {"svd", ParamType::kInt, "0", 0, 4096,
       "dense item vectors of this many components: a truncated SVD of the TF-IDF vectors "
       "(Spectra's partial SVD), which lets items with related but different terms meet (0: "
       "the sparse TF-IDF vectors)"},
  };
}

void ContentModel::fit(const Dataset& train, const Params& params, FitContext& ctx) {
  const index_t n = train.num_items();
  const auto min_df = params.get_int("min_df");
  const auto max_terms = static_cast<std::size_t>(params.get_int("max_terms"));
  half_life_days_ = static_cast<float>(params.get_float("half_life_days"));
  FeatureEncoderOptions options;
  options.columns = params.get_string("columns");
  options.numeric = false;
  options.min_df = min_df;
  options.max_terms = max_terms;
  options.label_weights = params.get_bool("label_weights");
  FeatureEncoder& encoder = encoder_;
  encoder.fit(train.item_features, options, "content");
  // The encoder keeps only labels and terms some item has: a model file then has no more
  // feature columns than entries, which load() checks, so that a crafted column count cannot
  // drive the profile's allocation.
  const index_t features = encoder.size();
  RECKON_CHECK(features > 0,
               "content: the items have no usable features ({} label or text columns); import "
               "item metadata (--items FILE) or name columns with -p columns=...",
               encoder.columns().size());
  CsrMatrix raw = encoder.encode(train.item_features);
  // Smoothed IDF, then each item's vector to unit length.
  const std::vector<index_t> df = raw.column_counts();
  idf_.resize(static_cast<std::size_t>(features));
  for (index_t f = 0; f < features; ++f)
    idf_[f] = static_cast<float>(std::log((1.0 + n) / (1.0 + df[f])) + 1.0);
  std::vector<float> weighted(raw.values().begin(), raw.values().end());
  for (index_t i = 0; i < n; ++i) {
    const auto begin = static_cast<std::size_t>(raw.indptr()[i]);
    const auto fs = raw.row_indices(i);
    double norm = 0;
    for (std::size_t k = 0; k < fs.size(); ++k) {
      weighted[begin + k] *= idf_[fs[k]];
      norm += static_cast<double>(weighted[begin + k]) * weighted[begin + k];
    }
    for (std::size_t k = 0; k < fs.size(); ++k)
      weighted[begin + k] = static_cast<float>(weighted[begin + k] / std::sqrt(norm));
  }
  vectors_ = raw.with_values(std::move(weighted));
  postings_ = vectors_.transposed();
  reduce(static_cast<index_t>(params.get_int("svd")), ctx);
  if (ctx.verbose) {
    index_t with = 0;
    for (index_t i = 0; i < n; ++i) with += vectors_.row_size(i) > 0;
    spdlog::info("content: {} features from {} columns; {} of {} items have a vector", features,
                 encoder.columns().size(), with, n);
  }
}

void ContentModel::reduce(index_t components, const FitContext& ctx) {
  dense_.resize(0, 0);
  projection_.resize(0, 0);
  if (components == 0) return;
  const index_t n = vectors_.rows(), features = vectors_.cols();
  const index_t k = std::min(components, std::min(n, features) - 1);
  RECKON_CHECK(k >= 1, "content: svd={} needs at least 2 items and 2 features (have {} and {})",
               components, n, features);
  std::vector<Eigen::Triplet<double>> entries;
  entries.reserve(static_cast<std::size_t>(vectors_.nnz()));
  for (index_t i = 0; i < n; ++i) {
    const auto fs = vectors_.row_indices(i);
    const auto vs = vectors_.row_values(i);
    for (std::size_t a = 0; a < fs.size(); ++a) entries.emplace_back(i, fs[a], vs[a]);
  }
  using Sparse = Eigen::SparseMatrix<double, Eigen::RowMajor>;
  Sparse x(n, features);
  x.setFromTriplets(entries.begin(), entries.end());
  x.makeCompressed();
  // Lanczos on the smaller of X X^T and X^T X, with a Krylov space of 2k + 1 vectors.
  const Eigen::Index ncv = std::min<Eigen::Index>(2 * k + 1, std::min(n, features));
  Spectra::PartialSVDSolver<Sparse> solver(x, k, ncv);
  const Eigen::Index converged = solver.compute(1000, 1e-8);
  RECKON_CHECK(converged == k,
               "content: the truncated SVD found {} of {} components (try a smaller svd)",
               converged, k);
  const Eigen::MatrixXd v = solver.matrix_V(k);  // features x k
  projection_ = v.cast<float>();
  rebuild_dense();
  if (ctx.verbose)
    spdlog::info("content: {} SVD components, top singular value {:.3f}, last {:.3f}", k,
                 solver.singular_values()(0), solver.singular_values()(k - 1));
}

void ContentModel::rebuild_dense() {
  // X V (= U S): each item's coordinates on the components, to unit length. Load computes the
  // same from the saved V, so only V is in the file.
  dense_.resize(0, 0);
  if (projection_.size() == 0) return;
  dense_ = FactorMatrix::Zero(vectors_.rows(), projection_.cols());
  for (index_t i = 0; i < vectors_.rows(); ++i) {
    const auto fs = vectors_.row_indices(i);
    const auto vs = vectors_.row_values(i);
    for (std::size_t a = 0; a < fs.size(); ++a) dense_.row(i) += vs[a] * projection_.row(fs[a]);
    const float norm = dense_.row(i).norm();
    if (norm > 0) dense_.row(i) /= norm;
  }
}

std::vector<float> ContentModel::history_weights(const UserContext& user) const {
  // Each history entry's share of the profile: its rating or interaction weight, halved every
  // half_life_days before the latest interaction, over the sum of their magnitudes. Indexes
  // outside the items weigh 0; all zero when nothing weighs anything.
  const index_t n = vectors_.rows();
  std::vector<float> out(user.history.size(), 0.0f);
  const bool decay = half_life_days_ > 0 && !user.times.empty() &&
                     user.times.size() == user.history.size();
  const std::int64_t latest = decay ? *std::max_element(user.times.begin(), user.times.end()) : 0;
  double total = 0;
  std::vector<double> w(user.history.size(), 0.0);
  for (std::size_t h = 0; h < user.history.size(); ++h) {
    if (user.history[h] < 0 || user.history[h] >= n) continue;
    w[h] = user.weights.empty() ? 1.0 : user.weights[h];
    if (decay)
      w[h] *= std::exp2(-static_cast<double>(latest - user.times[h]) /
                        (86400.0 * static_cast<double>(half_life_days_)));
    total += std::abs(w[h]);
  }
  if (total > 0)
    for (std::size_t h = 0; h < w.size(); ++h) out[h] = static_cast<float>(w[h] / total);
  return out;
}

bool ContentModel::profile(const UserContext& user, std::vector<float>& profile,
                           std::vector<index_t>& touched) const {
  // The weighted mean of the history's vectors.
  touched.clear();
  const std::vector<float> w = history_weights(user);
  profile.assign(static_cast<std::size_t>(vectors_.cols()), 0.0f);
  bool any = false;
  for (std::size_t h = 0; h < w.size(); ++h) {
    if (w[h] == 0.0f) continue;
    any = true;
    const index_t i = user.history[h];
    const auto fs = vectors_.row_indices(i);
    const auto vs = vectors_.row_values(i);
    for (std::size_t k = 0; k < fs.size(); ++k) {
      if (profile[fs[k]] == 0.0f) touched.push_back(fs[k]);
      profile[fs[k]] += w[h] * vs[k];
    }
  }
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  return any;
}

void ContentModel::score(const UserContext& user, std::span<float> out) const {
  RECKON_ASSERT(static_cast<index_t>(out.size()) == vectors_.rows());
  std::fill(out.begin(), out.end(), 0.0f);
  if (dense_.size() > 0) {
    Eigen::VectorXf p;
    if (!dense_profile(user, p)) return;
    Eigen::Map<Eigen::VectorXf>(out.data(), dense_.rows()).noalias() = dense_ * p;
    return;
  }
  std::vector<float> p;
  std::vector<index_t> touched;
  if (!profile(user, p, touched)) return;
  for (const index_t f : touched) {
    if (p[f] == 0.0f) continue;
    const auto items = postings_.row_indices(f);
    const auto vs = postings_.row_values(f);
    for (std::size_t k = 0; k < items.size(); ++k) out[items[k]] += p[f] * vs[k];
  }
}

bool ContentModel::dense_profile(const UserContext& user, Eigen::VectorXf& p) const {
  // The same weighted mean as profile(), of the dense vectors.
  const std::vector<float> w = history_weights(user);
  p = Eigen::VectorXf::Zero(dense_.cols());
  bool any = false;
  for (std::size_t h = 0; h < w.size(); ++h) {
    if (w[h] == 0.0f) continue;
    any = true;
    p += w[h] * dense_.row(user.history[h]).transpose();
  }
  return any;
}

std::vector<ScoredItem> ContentModel::by_dense(const Eigen::VectorXf& v, index_t skip,
                                               std::size_t k) const {
  Eigen::VectorXf s = dense_ * v;
  if (skip >= 0) s[skip] = -std::numeric_limits<float>::infinity();
  std::vector<ScoredItem> out;
  top_k(std::span<const float>(s.data(), static_cast<std::size_t>(s.size())), k, out);
  return out;
}

std::vector<ScoredItem> ContentModel::by_vector(std::span<const col_t> fs,
                                                std::span<const float> vs, index_t skip,
                                                std::size_t k) const {
  std::vector<float> acc(static_cast<std::size_t>(vectors_.rows()), 0.0f);
  std::vector<index_t> touched;
  for (std::size_t a = 0; a < fs.size(); ++a) {
    if (fs[a] < 0 || fs[a] >= postings_.rows()) continue;
    const auto items = postings_.row_indices(fs[a]);
    const auto ws = postings_.row_values(fs[a]);
    for (std::size_t b = 0; b < items.size(); ++b) {
      if (acc[items[b]] == 0.0f) touched.push_back(items[b]);
      acc[items[b]] += vs[a] * ws[b];
    }
  }
  std::vector<ScoredItem> out;
  for (const index_t j : touched)
    if (j != skip && acc[j] > 0.0f) out.push_back({j, acc[j]});
  std::sort(out.begin(), out.end(), [](const ScoredItem& x, const ScoredItem& y) {
    return x.score > y.score || (x.score == y.score && x.item < y.item);
  });
  if (out.size() > k) out.resize(k);
  return out;
}

std::optional<NewItemVector> ContentModel::embed_new_item(const FeatureTable& features,
                                                          index_t row) const {
  if (encoder_.empty()) return std::nullopt;
  std::vector<std::pair<index_t, float>> fs;
  encoder_.encode_row(features, row, fs);
  std::sort(fs.begin(), fs.end());
  NewItemVector out;
  double norm = 0;
  for (const auto& [f, v] : fs) {
    const float w = v * idf_[static_cast<std::size_t>(f)];
    out.features.push_back(static_cast<col_t>(f));
    out.values.push_back(w);
    norm += static_cast<double>(w) * w;
  }
  if (norm <= 0) return std::nullopt;
  for (auto& v : out.values) v = static_cast<float>(v / std::sqrt(norm));
  if (dense_.size() == 0) return out;
  // Dense: the sparse vector's coordinates on the SVD's components, unit length.
  Eigen::VectorXf d = Eigen::VectorXf::Zero(projection_.cols());
  for (std::size_t a = 0; a < out.features.size(); ++a)
    d += out.values[a] * projection_.row(out.features[a]).transpose();
  const float dn = d.norm();
  if (dn <= 0) return std::nullopt;
  d /= dn;
  NewItemVector dense;
  dense.values.assign(d.data(), d.data() + d.size());
  return dense;
}

void ContentModel::score_new_items(const UserContext& user, std::span<const NewItemVector> items,
                                   std::span<float> out) const {
  RECKON_ASSERT(out.size() == items.size());
  std::fill(out.begin(), out.end(), 0.0f);
  if (dense_.size() > 0) {
    Eigen::VectorXf p;
    if (!dense_profile(user, p)) return;
    for (std::size_t k = 0; k < items.size(); ++k) {
      RECKON_CHECK(items[k].features.empty() &&
                       static_cast<Eigen::Index>(items[k].values.size()) == p.size(),
                   "content: a malformed new item vector");
      out[k] = Eigen::Map<const Eigen::VectorXf>(items[k].values.data(), p.size()).dot(p);
    }
    return;
  }
  std::vector<float> p;
  std::vector<index_t> touched;
  if (!profile(user, p, touched)) return;
  for (std::size_t k = 0; k < items.size(); ++k) {
    const NewItemVector& it = items[k];
    RECKON_CHECK(it.features.size() == it.values.size(), "content: a malformed new item vector");
    double s = 0;
    for (std::size_t a = 0; a < it.features.size(); ++a)
      if (it.features[a] >= 0 && it.features[a] < static_cast<index_t>(p.size()))
        s += static_cast<double>(p[it.features[a]]) * it.values[a];
    out[k] = static_cast<float>(s);
  }
}

std::vector<ScoredItem> ContentModel::similar_to_new_item(const NewItemVector& item,
                                                          std::size_t k) const {
  if (dense_.size() > 0) {
    RECKON_CHECK(item.features.empty() &&
                     static_cast<Eigen::Index>(item.values.size()) == dense_.cols(),
                 "content: a malformed new item vector");
    return by_dense(Eigen::Map<const Eigen::VectorXf>(item.values.data(), dense_.cols()), -1, k);
  }
  RECKON_CHECK(item.features.size() == item.values.size(), "content: a malformed new item vector");
  return by_vector(item.features, item.values, -1, k);
}

std::vector<ScoredItem> ContentModel::similar_items(index_t item, std::size_t k) const {
  RECKON_CHECK(item >= 0 && item < vectors_.rows(), "item index {} out of range", item);
  if (dense_.size() > 0) return by_dense(dense_.row(item).transpose(), item, k);
  return by_vector(vectors_.row_indices(item), vectors_.row_values(item), item, k);
}

namespace {
// Files from 0.5.0 start with the half-life; later ones with a NaN marker and a body version.
constexpr std::uint32_t kContentBodyVersion = 2;
}  // namespace

void ContentModel::save(BinaryWriter& w) const {
  w.put<float>(std::numeric_limits<float>::quiet_NaN());
  w.put<std::uint32_t>(kContentBodyVersion);
  w.put<float>(half_life_days_);
  vectors_.write(w);
  encoder_.write(w);
  w.put_vector(idf_);
  write_factor_matrix(w, projection_);  // 0 x 0 without svd; dense_ is recomputed on load
}

void ContentModel::load(BinaryReader& r) {
  half_life_days_ = r.get<float>();
  const bool versioned = std::isnan(half_life_days_);
  if (versioned) {
    const auto version = r.get<std::uint32_t>();
    RECKON_CHECK(version == kContentBodyVersion,
                 "{}: content model body version {} (this reckon reads {})", r.what(), version,
                 kContentBodyVersion);
    half_life_days_ = r.get<float>();
  }
  RECKON_CHECK(std::isfinite(half_life_days_) && half_life_days_ >= 0,
               "{}: corrupt content model (half-life)", r.what());
  vectors_ = CsrMatrix::read(r, true);  // checks structure, indices and finite weights
  RECKON_CHECK(vectors_.cols() <= vectors_.nnz(),
               "{}: corrupt content model ({} features for {} entries: every feature is some "
               "item's)",
               r.what(), vectors_.cols(), vectors_.nnz());
  encoder_ = FeatureEncoder();
  idf_.clear();
  if (versioned) {
    encoder_.read(r);
    idf_ = r.get_vector<float>();
    RECKON_CHECK(encoder_.size() == vectors_.cols() &&
                     static_cast<index_t>(idf_.size()) == vectors_.cols(),
                 "{}: corrupt content model (encoder of {} features, {} IDF weights, {} columns)",
                 r.what(), encoder_.size(), idf_.size(), vectors_.cols());
    for (const float x : idf_)
      RECKON_CHECK(std::isfinite(x) && x > 0, "{}: corrupt content model (IDF)", r.what());
    projection_ = read_factor_matrix(r);
    RECKON_CHECK(projection_.size() == 0 ||
                     (projection_.rows() == vectors_.cols() && projection_.cols() >= 1 &&
                      projection_.cols() < vectors_.cols() && projection_.allFinite()),
                 "{}: corrupt content model (SVD projection {} x {} for {} features)", r.what(),
                 projection_.rows(), projection_.cols(), vectors_.cols());
  }
  postings_ = vectors_.transposed();
  rebuild_dense();
}

void ContentModel::validate(const Dataset& train) const {
  RECKON_CHECK(vectors_.rows() == train.num_items(),
               "content model has vectors for {} items, the data has {}", vectors_.rows(),
               train.num_items());
}

}  // namespace reckon
