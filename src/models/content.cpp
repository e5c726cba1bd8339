#include "reckon/models/content.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>
#include <unordered_map>

#include "reckon/core/binary_io.hpp"
#include "reckon/core/error.hpp"
#include "reckon/io/text.hpp"

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

namespace {

// Lowercased words of a text: runs of ASCII letters and digits or of non-ASCII bytes (UTF-8
// letters stay whole), two bytes or more.
void words(std::string_view text, std::vector<std::string>& out) {
  out.clear();
  std::string w;
  auto flush = [&] {
    if (w.size() >= 2) out.push_back(w);
    w.clear();
  };
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c >= 0x80) {
      w.push_back(static_cast<char>(c < 0x80 ? std::tolower(c) : c));
    } else {
      flush();
    }
  }
  flush();
}

bool id_like(const std::string& column) {
  const std::string n = to_lower(column);
  return n == "id" || n.ends_with("_id") || n.ends_with("id") ||
         n.find("url") != std::string::npos || n.find("isbn") != std::string::npos ||
         n.find("image") != std::string::npos;
}

std::vector<const FeatureColumn*> chosen_columns(const FeatureTable& items,
                                                 const std::string& names) {
  std::vector<const FeatureColumn*> out;
  if (!names.empty()) {
    std::vector<std::string_view> parts;
    split_plain(names, ",", parts);
    for (std::string_view part : parts) {
      const std::string name(trim(part));
      if (name.empty()) continue;
      const FeatureColumn* c = items.find(name);
      if (!c) {
        std::vector<std::string> known;
        for (const auto& k : items.columns()) known.push_back(k.name());
        throw InvalidInput(
            fmt::format("content: no item feature column \"{}\" (known: {})", excerpt(name),
                        known.empty() ? "none" : fmt::format("{}", fmt::join(known, ", "))));
      }
      RECKON_CHECK(c->kind() != FeatureKind::kNumeric,
                   "content: column \"{}\" is numeric; content vectors are built from label, "
                   "label-list and text columns",
                   name);
      out.push_back(c);
    }
    return out;
  }
  for (const auto& c : items.columns()) {
    if (c.kind() == FeatureKind::kNumeric || id_like(c.name())) continue;
    // A label per item (an id or a URL stored as a label) says nothing two items share.
    if (c.kind() == FeatureKind::kCategorical &&
        static_cast<double>(c.vocabulary().size()) > 0.5 * static_cast<double>(c.rows()))
      continue;
    out.push_back(&c);
  }
  return out;
}

}  // namespace

void ContentModel::fit(const Dataset& train, const Params& params, FitContext& ctx) {
  const index_t n = train.num_items();
  const auto min_df = params.get_int("min_df");
  const auto max_terms = static_cast<std::size_t>(params.get_int("max_terms"));
  half_life_days_ = static_cast<float>(params.get_float("half_life_days"));
  const auto columns = chosen_columns(train.item_features, params.get_string("columns"));

  std::vector<index_t> rows, cols;
  std::vector<float> vals;
  index_t features = 0;
  std::vector<std::string> terms;
  for (const FeatureColumn* c : columns) {
    if (c->kind() != FeatureKind::kText) {
      for (index_t i = 0; i < n; ++i)
        for (const std::int32_t code : c->codes(i)) {
          rows.push_back(i);
          cols.push_back(features + code);
          vals.push_back(1.0f);
        }
      features += static_cast<index_t>(c->vocabulary().size());
      continue;
    }
    // Text: the terms in at least min_df items, the max_terms most frequent of them.
    std::unordered_map<std::string, index_t> df;
    for (index_t i = 0; i < n; ++i) {
      words(c->text(i), terms);
      std::sort(terms.begin(), terms.end());
      terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
      for (auto& t : terms) ++df[t];
    }
    std::vector<std::pair<std::string, index_t>> kept;
    for (auto& [t, d] : df)
      if (d >= min_df) kept.emplace_back(t, d);
    std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
      return a.second > b.second || (a.second == b.second && a.first < b.first);
    });
    if (kept.size() > max_terms) kept.resize(max_terms);
    std::unordered_map<std::string, index_t> id;
    for (std::size_t k = 0; k < kept.size(); ++k)
      id.emplace(kept[k].first, static_cast<index_t>(k));
    std::unordered_map<index_t, int> tf;
    for (index_t i = 0; i < n; ++i) {
      words(c->text(i), terms);
      tf.clear();
      for (const auto& t : terms)
        if (const auto it = id.find(t); it != id.end()) ++tf[it->second];
      for (const auto& [term, count] : tf) {
        rows.push_back(i);
        cols.push_back(features + term);
        vals.push_back(1.0f + std::log(static_cast<float>(count)));  // sublinear tf
      }
    }
    features += static_cast<index_t>(kept.size());
  }
  // Only features some item has (labels of items outside the training data are dropped): a
  // model file then has no more feature columns than entries, which load() checks, so that a
  // crafted column count cannot drive the profile's allocation.
  {
    std::vector<index_t> used(static_cast<std::size_t>(features), -1);
    for (const index_t f : cols) used[f] = 0;
    index_t next = 0;
    for (auto& u : used)
      if (u == 0) u = next++;
    for (auto& f : cols) f = used[f];
    features = next;
  }
  RECKON_CHECK(features > 0,
               "content: the items have no usable features ({} label or text columns); import "
               "item metadata (--items FILE) or name columns with -p columns=...",
               columns.size());
  CsrMatrix raw = CsrMatrix::from_coordinates(n, features, std::move(rows), std::move(cols),
                                              std::move(vals), {}, DedupPolicy::kSum);
  // Smoothed IDF, then each item's vector to unit length.
  const std::vector<index_t> df = raw.column_counts();
  std::vector<float> weighted(raw.values());
  for (index_t i = 0; i < n; ++i) {
    const auto begin = static_cast<std::size_t>(raw.indptr()[i]);
    const auto fs = raw.row_indices(i);
    double norm = 0;
    for (std::size_t k = 0; k < fs.size(); ++k) {
      const double idf = std::log((1.0 + n) / (1.0 + df[fs[k]])) + 1.0;
      weighted[begin + k] = static_cast<float>(weighted[begin + k] * idf);
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
                 columns.size(), with, n);
  }
}

void ContentModel::score(const UserContext& user, std::span<float> out) const {
  const index_t n = vectors_.rows();
  RECKON_ASSERT(static_cast<index_t>(out.size()) == n);
  std::fill(out.begin(), out.end(), 0.0f);
  if (user.history.empty()) return;
  // The profile: the weighted mean of the history's vectors (weights: ratings or interaction
  // weights, halved every half_life_days before the latest interaction).
  const bool decay = half_life_days_ > 0 && user.times.size() == user.history.size();
  const std::int64_t latest = decay ? *std::max_element(user.times.begin(), user.times.end()) : 0;
  std::vector<float> profile(static_cast<std::size_t>(vectors_.cols()), 0.0f);
  std::vector<index_t> touched;
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
  if (total <= 0) return;
  const auto scale = static_cast<float>(1.0 / total);
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (const index_t f : touched) {
    const float p = profile[f] * scale;
    if (p == 0.0f) continue;
    const auto items = postings_.row_indices(f);
    const auto vs = postings_.row_values(f);
    for (std::size_t k = 0; k < items.size(); ++k) out[items[k]] += p * vs[k];
  }
}

std::vector<ScoredItem> ContentModel::similar_items(index_t item, std::size_t k) const {
  RECKON_CHECK(item >= 0 && item < vectors_.rows(), "item index {} out of range", item);
  std::vector<float> acc(static_cast<std::size_t>(vectors_.rows()), 0.0f);
  std::vector<index_t> touched;
  const auto fs = vectors_.row_indices(item);
  const auto vs = vectors_.row_values(item);
  for (std::size_t a = 0; a < fs.size(); ++a) {
    const auto items = postings_.row_indices(fs[a]);
    const auto ws = postings_.row_values(fs[a]);
    for (std::size_t b = 0; b < items.size(); ++b) {
      if (acc[items[b]] == 0.0f) touched.push_back(items[b]);
      acc[items[b]] += vs[a] * ws[b];
    }
  }
  std::vector<ScoredItem> out;
  for (const index_t j : touched)
    if (j != item && acc[j] > 0.0f) out.push_back({j, acc[j]});
  std::sort(out.begin(), out.end(), [](const ScoredItem& x, const ScoredItem& y) {
    return x.score > y.score || (x.score == y.score && x.item < y.item);
  });
  if (out.size() > k) out.resize(k);
  return out;
}

void ContentModel::save(BinaryWriter& w) const {
  w.put<float>(half_life_days_);
  vectors_.write(w);
}

void ContentModel::load(BinaryReader& r) {
  half_life_days_ = r.get<float>();
  RECKON_CHECK(std::isfinite(half_life_days_) && half_life_days_ >= 0,
               "{}: corrupt content model (half-life)", r.what());
  vectors_ = CsrMatrix::read(r, true);  // checks structure, indices and finite weights
  RECKON_CHECK(vectors_.cols() <= vectors_.nnz(),
               "{}: corrupt content model ({} features for {} entries: every feature is some "
               "item's)",
               r.what(), vectors_.cols(), vectors_.nnz());
  postings_ = vectors_.transposed();
}

void ContentModel::validate(const Dataset& train) const {
  RECKON_CHECK(vectors_.rows() == train.num_items(),
               "content model has vectors for {} items, the data has {}", vectors_.rows(),
               train.num_items());
}

}  // namespace reckon
