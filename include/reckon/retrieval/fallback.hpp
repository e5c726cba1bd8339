#pragma once
// What a user with no history gets, on every path (recommend, serve, evaluate): a model scored
// on an empty history says nothing (every score 0: the first items of the catalogue, labelled as
// the model's), so such users get the most popular training items instead, or, when they have
// demographic features (age, gender, occupation), the most popular among training users with
// the same ones. The answer names its source.
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "reckon/core/dataset.hpp"

namespace reckon {

// Demographic filters: a training user matches when every given feature equals.
struct Demographics {
  std::optional<double> age;  // matched within +-5 years (ML-1M stores age-group codes)
  std::string gender, occupation;
  bool empty() const { return !age && gender.empty() && occupation.empty(); }
  // The demographics of row `row` of `features` (empty when it has none of the three).
  static Demographics of(const FeatureTable& features, index_t row);
};

// A stranger's user features as a one-row table with the training users' columns: `values` maps
// a column to a value in the dataset's own labels and codes ("F", "student"; labels of a
// label-list column joined by '|'; a number for a numeric column). An unknown column, an unknown
// label or a number that does not parse is an InvalidInput naming the known ones.
FeatureTable stranger_features(const FeatureTable& users,
                               const std::map<std::string, std::string>& values);

class Fallback {
 public:
  explicit Fallback(const Dataset& train);

  // One score per item for a user with no history; returns the source: "popular" or
  // "demographic-popular" (when training users match `demo`). Thread-safe.
  std::string_view score(const Demographics& demo, std::span<float> out) const;
  const std::vector<float>& popularity() const noexcept { return popularity_; }

 private:
  const std::vector<float>* demographic(const Demographics& demo) const;

  const Dataset& train_;
  std::vector<float> popularity_;  // training interactions per item
  // Counts per demographic key, computed once each (evaluation asks for every cold user).
  mutable std::mutex mutex_;
  mutable std::unordered_map<std::string, std::vector<float>> by_demographics_;
};

}  // namespace reckon
