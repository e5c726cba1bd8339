#include "reckon/models/feature_encoder.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "reckon/core/binary_io.hpp"
#include "reckon/core/error.hpp"
#include "reckon/io/text.hpp"

namespace reckon {

void text_words(std::string_view text, std::vector<std::string>& out) {
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

index_t FeatureEncoder::Column::size() const {
  if (kind == FeatureKind::kVector) return dim;
  if (kind != FeatureKind::kNumeric) return static_cast<index_t>(values.size());
  return raw ? 1 : static_cast<index_t>(edges.size()) + 1;
}

namespace {

bool id_like(const std::string& column) {
  const std::string n = to_lower(column);
  return n == "id" || n.ends_with("_id") || n.ends_with("id") ||
         n.find("url") != std::string::npos || n.find("isbn") != std::string::npos ||
         n.find("image") != std::string::npos || n == "zip" || n.find("zip_code") == 0;
}

std::vector<const FeatureColumn*> chosen_columns(const FeatureTable& table,
                                                 const FeatureEncoderOptions& o,
                                                 std::string_view who) {
  std::vector<const FeatureColumn*> out;
  if (!o.columns.empty()) {
    std::vector<std::string_view> parts;
    split_plain(o.columns, ",", parts);
    for (std::string_view part : parts) {
      const std::string name(trim(part));
      if (name.empty()) continue;
      const FeatureColumn* c = table.find(name);
      if (!c) {
        std::vector<std::string> known;
        for (const auto& k : table.columns()) known.push_back(k.name());
        throw InvalidInput(
            fmt::format("{}: no {} feature column \"{}\" (known: {})", who, o.side, excerpt(name),
                        known.empty() ? "none" : fmt::format("{}", fmt::join(known, ", "))));
      }
      RECKON_CHECK(o.numeric || c->kind() != FeatureKind::kNumeric,
                   "{}: column \"{}\" is numeric; this model uses label, label-list and text "
                   "columns",
                   who, name);
      if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
    }
    return out;
  }
  for (const auto& c : table.columns()) {
    if ((!o.numeric && c.kind() == FeatureKind::kNumeric) || id_like(c.name())) continue;
    // A label per row (an id or a URL stored as a label) says nothing two rows share.
    if (c.kind() == FeatureKind::kCategorical &&
        static_cast<double>(c.vocabulary().size()) > 0.5 * static_cast<double>(c.rows()))
      continue;
    out.push_back(&c);
  }
  return out;
}

}  // namespace

void FeatureEncoder::fit(const FeatureTable& table, const FeatureEncoderOptions& o,
                         std::string_view who) {
  columns_.clear();
  label_weights_ = o.label_weights;
  const index_t n = table.rows();
  std::vector<std::string> words;
  for (const FeatureColumn* c : chosen_columns(table, o, who)) {
    Column col;
    col.name = c->name();
    col.kind = c->kind();
    switch (c->kind()) {
      case FeatureKind::kCategorical:
      case FeatureKind::kMultiCategorical: {
        // Only labels some row has (a selected table keeps its whole vocabulary).
        std::vector<char> used(c->vocabulary().size(), 0);
        for (index_t r = 0; r < n; ++r)
          for (const std::int32_t code : c->codes(r)) used[static_cast<std::size_t>(code)] = 1;
        for (std::size_t v = 0; v < used.size(); ++v)
          if (used[v]) col.values.push_back(c->vocabulary()[v]);
        break;
      }
      case FeatureKind::kText: {
        // The terms in at least min_df rows, the max_terms most frequent of them.
        std::unordered_map<std::string, index_t> df;
        for (index_t r = 0; r < n; ++r) {
          text_words(c->text(r), words);
          std::sort(words.begin(), words.end());
          words.erase(std::unique(words.begin(), words.end()), words.end());
          for (auto& t : words) ++df[t];
        }
        std::vector<std::pair<std::string, index_t>> kept;
        for (auto& [t, d] : df)
          if (d >= o.min_df) kept.emplace_back(t, d);
        std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
          return a.second > b.second || (a.second == b.second && a.first < b.first);
        });
        if (kept.size() > o.max_terms) kept.resize(o.max_terms);
        for (auto& [t, d] : kept) col.values.push_back(std::move(t));
        break;
      }
      case FeatureKind::kVector:
        col.dim = c->dim();
        break;
      case FeatureKind::kNumeric: {
        std::vector<float> v;
        for (index_t r = 0; r < n; ++r)
          if (c->has_value(r) && std::isfinite(c->number(r))) v.push_back(c->number(r));
        if (v.empty()) continue;
        std::sort(v.begin(), v.end());
        col.raw = o.numeric_raw;
        if (col.raw) {
          col.edges = {v.front(), v.back()};
        } else {
          // Quantile edges, distinct: a value goes to the bucket of the first edge above it.
          for (int b = 1; b < o.buckets; ++b) {
            const float e = v[std::min(v.size() - 1, v.size() * static_cast<std::size_t>(b) /
                                                         static_cast<std::size_t>(o.buckets))];
            if (e > v.front() && (col.edges.empty() || e > col.edges.back()))
              col.edges.push_back(e);
          }
        }
        break;
      }
    }
    if (col.size() > 0) columns_.push_back(std::move(col));
  }
  size_ = 0;
  for (auto& c : columns_) {
    c.offset = size_;
    size_ += c.size();
  }
  index_terms();
}

void FeatureEncoder::index_terms() {
  terms_.assign(columns_.size(), {});
  for (std::size_t k = 0; k < columns_.size(); ++k) {
    const Column& c = columns_[k];
    // Labels and terms alike: a label column is looked up by its labels.
    for (std::size_t v = 0; v < c.values.size(); ++v)
      terms_[k].emplace(c.values[v], c.offset + static_cast<index_t>(v));
  }
}

std::string FeatureEncoder::feature_name(index_t f) const {
  for (const Column& c : columns_) {
    if (f < c.offset || f >= c.offset + c.size()) continue;
    const auto k = static_cast<std::size_t>(f - c.offset);
    switch (c.kind) {
      case FeatureKind::kCategorical:
      case FeatureKind::kMultiCategorical:
        return fmt::format("{}={}", c.name, c.values[k]);
      case FeatureKind::kText:
        return fmt::format("{}~{}", c.name, c.values[k]);
      case FeatureKind::kVector:
        return fmt::format("{}[{}]", c.name, k);
      case FeatureKind::kNumeric:
        if (c.raw) return c.name;
        if (k == 0) return fmt::format("{}<{}", c.name, c.edges[0]);
        if (k == c.edges.size()) return fmt::format("{}>={}", c.name, c.edges.back());
        return fmt::format("{} in [{}, {})", c.name, c.edges[k - 1], c.edges[k]);
    }
  }
  return fmt::format("feature {}", f);
}

void FeatureEncoder::encode_row(const FeatureTable& table, index_t row,
                                std::vector<std::pair<index_t, float>>& out) const {
  out.clear();
  thread_local std::vector<std::string> words;
  for (std::size_t k = 0; k < columns_.size(); ++k) {
    const Column& c = columns_[k];
    const FeatureColumn* col = table.find(c.name);
    if (!col || row < 0 || row >= col->rows() || !col->has_value(row)) continue;
    const std::size_t first = out.size();
    switch (c.kind) {
      case FeatureKind::kCategorical:
      case FeatureKind::kMultiCategorical:
        if (col->kind() != FeatureKind::kCategorical &&
            col->kind() != FeatureKind::kMultiCategorical)
          break;
        {
          // A label weighs its given weight (a tag's count, taken sublinearly at import), else 1.
          const auto codes = col->codes(row);
          const auto weights = col->label_weights(row);
          for (std::size_t j = 0; j < codes.size(); ++j)
            if (const auto it = terms_[k].find(col->label(codes[j])); it != terms_[k].end())
              out.emplace_back(it->second,
                               weights.empty() || !label_weights_ ? 1.0f : weights[j]);
        }
        break;
      case FeatureKind::kText: {
        if (col->kind() != FeatureKind::kText) break;
        text_words(col->text(row), words);
        for (const auto& t : words)
          if (const auto it = terms_[k].find(t); it != terms_[k].end())
            out.emplace_back(it->second, 1.0f);
        // Term counts, then sublinear term frequency.
        std::sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end());
        std::size_t w = first;
        for (std::size_t r = first; r < out.size();) {
          std::size_t e = r;
          while (e < out.size() && out[e].first == out[r].first) ++e;
          out[w++] = {out[r].first, 1.0f + std::log(static_cast<float>(e - r))};
          r = e;
        }
        out.resize(w);
        break;
      }
      case FeatureKind::kVector: {
        if (col->kind() != FeatureKind::kVector || col->dim() != c.dim) break;
        const auto v = col->vector(row);
        double norm = 0;
        for (const float x : v) norm += static_cast<double>(x) * x;
        if (!(norm > 0) || !std::isfinite(norm)) break;
        const double scale = 1.0 / std::sqrt(norm);
        for (index_t j = 0; j < c.dim; ++j)
          if (v[j] != 0.0f) out.emplace_back(c.offset + j, static_cast<float>(v[j] * scale));
        break;
      }
      case FeatureKind::kNumeric: {
        if (col->kind() != FeatureKind::kNumeric || !std::isfinite(col->number(row))) break;
        const float v = col->number(row);
        if (c.raw) {
          const float span = c.edges[1] - c.edges[0];
          out.emplace_back(c.offset,
                           span > 0 ? std::clamp((v - c.edges[0]) / span, 0.0f, 1.0f) : 1.0f);
        } else {
          const auto b = std::upper_bound(c.edges.begin(), c.edges.end(), v) - c.edges.begin();
          out.emplace_back(c.offset + static_cast<index_t>(b), 1.0f);
        }
        break;
      }
    }
  }
}

CsrMatrix FeatureEncoder::encode(const FeatureTable& table) const {
  const index_t n = table.rows();
  std::vector<index_t> rows, cols;
  std::vector<float> vals;
  std::vector<std::pair<index_t, float>> one;
  for (index_t r = 0; r < n; ++r) {
    encode_row(table, r, one);
    for (const auto& [f, v] : one) {
      rows.push_back(r);
      cols.push_back(f);
      vals.push_back(v);
    }
  }
  return CsrMatrix::from_coordinates(n, size_, std::move(rows), std::move(cols), std::move(vals),
                                     {}, DedupPolicy::kSum);
}

void FeatureEncoder::write(BinaryWriter& w) const {
  // The column count's top bit says the labels' weights are ignored.
  w.put<std::uint64_t>(columns_.size() | (label_weights_ ? 0 : std::uint64_t{1} << 63));
  for (const Column& c : columns_) {
    w.put_string(c.name);
    w.put<std::uint8_t>(static_cast<std::uint8_t>(c.kind));
    w.put<std::uint8_t>(c.raw ? 1 : 0);
    w.put_strings(c.values);
    w.put_vector(c.edges);
    if (c.kind == FeatureKind::kVector) w.put<std::int64_t>(c.dim);
  }
}

void FeatureEncoder::read(BinaryReader& r) {
  const auto stored = r.get<std::uint64_t>();
  label_weights_ = (stored >> 63) == 0;
  const std::uint64_t n = stored & ~(std::uint64_t{1} << 63);
  // Each column takes at least its fixed fields: a crafted count cannot drive the allocation.
  RECKON_CHECK(n <= 1u << 16, "{}: corrupt feature encoder ({} columns)", r.what(), n);
  columns_.clear();
  size_ = 0;
  for (std::uint64_t k = 0; k < n; ++k) {
    Column c;
    c.name = r.get_string();
    const auto kind = r.get<std::uint8_t>();
    RECKON_CHECK(kind <= static_cast<std::uint8_t>(FeatureKind::kVector),
                 "{}: corrupt feature encoder (column kind {})", r.what(), kind);
    c.kind = static_cast<FeatureKind>(kind);
    const auto raw = r.get<std::uint8_t>();
    RECKON_CHECK(raw <= 1, "{}: corrupt feature encoder (raw flag)", r.what());
    c.raw = raw == 1;
    c.values = r.get_strings();
    c.edges = r.get_vector<float>();
    if (c.kind == FeatureKind::kVector) {
      c.dim = r.get<std::int64_t>();
      RECKON_CHECK(c.dim >= 1 && c.dim <= (1 << 16) && c.values.empty() && c.edges.empty() &&
                       !c.raw,
                   "{}: corrupt feature encoder (vector column \"{}\")", r.what(),
                   excerpt(c.name));
      c.offset = size_;
      size_ += c.size();
      columns_.push_back(std::move(c));
      continue;
    }
    const bool numeric = c.kind == FeatureKind::kNumeric;
    RECKON_CHECK(numeric == c.values.empty(), "{}: corrupt feature encoder (column \"{}\")",
                 r.what(), excerpt(c.name));
    if (numeric) {
      RECKON_CHECK(!c.raw || c.edges.size() == 2,
                   "{}: corrupt feature encoder (raw column \"{}\")", r.what(), excerpt(c.name));
      for (std::size_t e = 0; e < c.edges.size(); ++e)
        RECKON_CHECK(std::isfinite(c.edges[e]) && (c.raw || e == 0 || c.edges[e] > c.edges[e - 1]),
                     "{}: corrupt feature encoder (edges of \"{}\")", r.what(), excerpt(c.name));
    } else {
      RECKON_CHECK(c.edges.empty() && !c.raw, "{}: corrupt feature encoder (column \"{}\")",
                   r.what(), excerpt(c.name));
    }
    c.offset = size_;
    size_ += c.size();
    columns_.push_back(std::move(c));
  }
  index_terms();
  // Distinct values: a duplicate would make two features of one label.
  std::size_t values = 0;
  for (const Column& c : columns_) values += c.values.size();
  std::size_t distinct = 0;
  for (const auto& t : terms_) distinct += t.size();
  RECKON_CHECK(distinct == values, "{}: corrupt feature encoder (repeated labels)", r.what());
}

}  // namespace reckon
