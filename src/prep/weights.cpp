#include "reckon/prep/weights.hpp"

#include <cmath>
#include <limits>

#include "reckon/core/error.hpp"
#include "reckon/io/text.hpp"

namespace reckon {

WeightOptions parse_weight_scheme(std::string_view spec) {
  WeightOptions o;
  const auto colon = spec.find(':');
  const std::string_view name = spec.substr(0, colon);
  const std::string_view args = colon == std::string_view::npos ? "" : spec.substr(colon + 1);
  std::vector<std::string_view> parts;
  if (!args.empty()) split_plain(args, ",", parts);
  auto number = [&](std::size_t i, double fallback) {
    if (i >= parts.size()) return fallback;
    auto v = parse_double(parts[i]);
    RECKON_CHECK(v && *v > 0, "--weight {}: expected a positive number, got \"{}\"", spec,
                 parts[i]);
    return *v;
  };
  if (name == "rating" || name == "keep" || name == "none") {
    o.scheme = WeightScheme::kKeep;
  } else if (name == "binary") {
    o.scheme = WeightScheme::kBinary;
  } else if (name == "confidence") {
    o.scheme = WeightScheme::kConfidence;
    o.alpha = number(0, 1.0);
  } else if (name == "log") {
    o.scheme = WeightScheme::kLog;
    o.epsilon = number(0, 1.0);
  } else if (name == "bm25") {
    o.scheme = WeightScheme::kBm25;
    o.k1 = number(0, 100.0);
    o.b = parts.size() > 1 ? *parse_double(parts[1]) : 0.8;
    RECKON_CHECK(o.b >= 0 && o.b <= 1, "--weight bm25: b must be in [0, 1]");
  } else if (name == "tfidf") {
    o.scheme = WeightScheme::kTfidf;
  } else {
    RECKON_CHECK(false,
                 "unknown weight scheme \"{}\" (known: binary, rating, confidence[:alpha], "
                 "log[:epsilon], bm25[:k1,b], tfidf)",
                 spec);
  }
  return o;
}

std::string describe(const WeightOptions& o) {
  std::string s;
  switch (o.scheme) {
    case WeightScheme::kKeep:
      s = "rating";
      break;
    case WeightScheme::kBinary:
      s = "binary";
      break;
    case WeightScheme::kConfidence:
      s = fmt::format("confidence:{}", o.alpha);
      break;
    case WeightScheme::kLog:
      s = fmt::format("log:{}", o.epsilon);
      break;
    case WeightScheme::kBm25:
      s = fmt::format("bm25:{},{}", o.k1, o.b);
      break;
    case WeightScheme::kTfidf:
      s = "tfidf";
      break;
  }
  if (o.half_life_days) s += fmt::format(" half-life {} days", *o.half_life_days);
  return s;
}

std::vector<float> compute_weights(const CsrMatrix& m, const WeightOptions& o) {
  const auto& v = m.values();
  std::vector<float> w(v.begin(), v.end());
  const index_t n = m.nnz();
  // Document frequency of each item over users, for BM25 and TF-IDF.
  auto idf = [&]() {
    std::vector<double> df(static_cast<std::size_t>(m.cols()), 0.0);
    for (index_t c : m.indices()) df[c] += 1;
    std::vector<double> out(df.size());
    const double log_n = std::log(static_cast<double>(std::max<index_t>(m.rows(), 1)));
    for (std::size_t i = 0; i < df.size(); ++i) out[i] = log_n - std::log1p(df[i]);
    return out;
  };
  switch (o.scheme) {
    case WeightScheme::kKeep:
      break;
    case WeightScheme::kBinary:
      std::fill(w.begin(), w.end(), 1.0f);
      break;
    case WeightScheme::kConfidence:
      for (auto& x : w) x = static_cast<float>(1.0 + o.alpha * x);
      break;
    case WeightScheme::kLog:
      for (index_t k = 0; k < n; ++k) {
        RECKON_CHECK(w[k] > -o.epsilon, "log weighting needs values above -epsilon, got {}", w[k]);
        w[k] = static_cast<float>(std::log1p(w[k] / o.epsilon));
      }
      break;
    case WeightScheme::kBm25: {
      const auto item_idf = idf();
      std::vector<double> length(static_cast<std::size_t>(m.rows()), 0.0);
      double total = 0;
      for (index_t r = 0; r < m.rows(); ++r) {
        for (float x : m.row_values(r)) length[r] += x;
        total += length[r];
      }
      const double avg = m.rows() > 0 ? total / static_cast<double>(m.rows()) : 1.0;
      for (index_t r = 0; r < m.rows(); ++r) {
        const double norm = (1.0 - o.b) + o.b * length[r] / (avg > 0 ? avg : 1.0);
        for (index_t k = m.indptr()[r]; k < m.indptr()[r + 1]; ++k) {
          const double x = v[k];
          w[k] =
              static_cast<float>(x * (o.k1 + 1.0) / (o.k1 * norm + x) * item_idf[m.indices()[k]]);
        }
      }
      break;
    }
    case WeightScheme::kTfidf: {
      const auto item_idf = idf();
      for (index_t k = 0; k < n; ++k)
        w[k] = static_cast<float>(std::sqrt(std::max(0.0f, v[k])) * item_idf[m.indices()[k]]);
      break;
    }
  }
  if (o.half_life_days) {
    RECKON_CHECK(*o.half_life_days > 0, "--half-life must be positive, got {}", *o.half_life_days);
    RECKON_CHECK(m.has_times(), "time-decay weights need timestamps, and this data has none");
    std::int64_t ref = std::numeric_limits<std::int64_t>::min();
    for (auto t : m.times()) ref = std::max(ref, t);
    if (o.reference_time) ref = *o.reference_time;
    const double half_life_s = *o.half_life_days * 86400.0;
    for (index_t k = 0; k < n; ++k) {
      const double age = std::max<double>(0.0, static_cast<double>(ref - m.times()[k]));
      w[k] = static_cast<float>(w[k] * std::exp2(-age / half_life_s));
    }
  }
  return w;
}

Dataset apply_weights(const Dataset& d, const WeightOptions& o) {
  Dataset out = d.with_interactions(d.interactions.with_values(compute_weights(d.interactions, o)));
  if (o.scheme != WeightScheme::kKeep || o.half_life_days) out.explicit_ratings = false;
  return out;
}

}  // namespace reckon
