#include "reckon/models/content.hpp"

#include <fmt/format.h>
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
  std::vector<float> weighted(raw.values());
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
  if (ctx.verbose) {
    index_t with = 0;
    for (index_t i = 0; i < n; ++i) with += vectors_.row_size(i) > 0;
    spdlog::info("content: {} features from {} columns; {} of {} items have a vector", features,
                 encoder.columns().size(), with, n);
  }
}

bool ContentModel::profile(const UserContext& user, std::vector<float>& profile,
                           std::vector<index_t>& touched) const {
  const index_t n = vectors_.rows();
  touched.clear();
  if (user.history.empty()) return false;
  // The weighted mean of the history's vectors (weights: ratings or interaction weights,
  // halved every half_life_days before the latest interaction).
  const bool decay = half_life_days_ > 0 && user.times.size() == user.history.size();
  const std::int64_t latest = decay ? *std::max_element(user.times.begin(), user.times.end()) : 0;
  profile.assign(static_cast<std::size_t>(vectors_.cols()), 0.0f);
  double total = 0;
  for (std::size_t h = 0; h < user.history.size(); ++h) {
    const index_t i = user.history[h];
    if (i < 0 || i >= n) continue;
    double w = user.weights.empty() ? 1.0 : user.weights[h];
    if (decay)
      w *= std::exp2(-static_cast<double>(latest - user.times[h]) /
                     (86400.0 * static_cast<double>(half_life_days_)));
    total += std::abs(w);
    const auto fs = vectors_.row_indices(i);
    const auto vs = vectors_.row_values(i);
    for (std::size_t k = 0; k < fs.size(); ++k) {
      if (profile[fs[k]] == 0.0f) touched.push_back(fs[k]);
      profile[fs[k]] += static_cast<float>(w) * vs[k];
    }
  }
  if (total <= 0) return false;
  const auto scale = static_cast<float>(1.0 / total);
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (const index_t f : touched) profile[f] *= scale;
  return true;
}

void ContentModel::score(const UserContext& user, std::span<float> out) const {
  RECKON_ASSERT(static_cast<index_t>(out.size()) == vectors_.rows());
  std::fill(out.begin(), out.end(), 0.0f);
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

std::vector<ScoredItem> ContentModel::by_vector(std::span<const index_t> fs,
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
    out.features.push_back(f);
    out.values.push_back(w);
    norm += static_cast<double>(w) * w;
  }
  if (norm <= 0) return std::nullopt;
  for (auto& v : out.values) v = static_cast<float>(v / std::sqrt(norm));
  return out;
}

void ContentModel::score_new_items(const UserContext& user, std::span<const NewItemVector> items,
                                   std::span<float> out) const {
  RECKON_ASSERT(out.size() == items.size());
  std::fill(out.begin(), out.end(), 0.0f);
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
  RECKON_CHECK(item.features.size() == item.values.size(), "content: a malformed new item vector");
  return by_vector(item.features, item.values, -1, k);
}

std::vector<ScoredItem> ContentModel::similar_items(index_t item, std::size_t k) const {
  RECKON_CHECK(item >= 0 && item < vectors_.rows(), "item index {} out of range", item);
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
  }
  postings_ = vectors_.transposed();
}

void ContentModel::validate(const Dataset& train) const {
  RECKON_CHECK(vectors_.rows() == train.num_items(),
               "content model has vectors for {} items, the data has {}", vectors_.rows(),
               train.num_items());
}

}  // namespace reckon
