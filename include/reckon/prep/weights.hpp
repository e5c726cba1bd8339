#pragma once
// Turning ratings, counts and times into training weights.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "reckon/core/dataset.hpp"

namespace reckon {

enum class WeightScheme {
  kKeep,        // the stored values as they are
  kBinary,      // 1 for every interaction
  kConfidence,  // 1 + alpha * r (Hu, Koren, Volinsky 2008)
  kLog,         // log(1 + r / epsilon) (same paper)
  kBm25,        // BM25 with users as documents and items as terms (K1, B)
  kTfidf,       // sqrt(r) * idf(item)
};

struct WeightOptions {
  WeightScheme scheme = WeightScheme::kKeep;
  double alpha = 1.0;    // confidence
  double epsilon = 1.0;  // log
  double k1 = 100.0;     // bm25, the defaults of the implicit library for interaction data
  double b = 0.8;        // bm25
  // Exponential time decay: weight *= 0.5^((reference - t) / half_life). Needs timestamps.
  std::optional<double> half_life_days;
  std::optional<std::int64_t> reference_time;  // default: the latest timestamp in the data
  bool active() const { return scheme != WeightScheme::kKeep || half_life_days.has_value(); }
};

// Parses "binary", "rating", "confidence[:alpha]", "log[:epsilon]", "bm25[:k1[,b]]", "tfidf".
WeightOptions parse_weight_scheme(std::string_view spec);
std::string describe(const WeightOptions& options);

// New weights for every nonzero of `m` (same order); m is users x items.
std::vector<float> compute_weights(const CsrMatrix& m, const WeightOptions& options);
Dataset apply_weights(const Dataset& dataset, const WeightOptions& options);

}  // namespace reckon
