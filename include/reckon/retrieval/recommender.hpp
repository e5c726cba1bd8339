#pragma once
// Recommendations for a trained model with cold-start fallbacks: a known user gets the model on
// their training history; a stranger with favourites gets the model folded in on those; a
// stranger with only demographics gets what similar users liked most; anyone else the most
// popular items. Every answer says where it came from.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reckon/models/model.hpp"
#include "reckon/retrieval/fallback.hpp"

namespace reckon {

struct Recommendation {
  std::vector<ScoredItem> items;
  std::string source;  // "model", "popular", "demographic-popular"
};

class Recommender {
 public:
  explicit Recommender(const TrainedModel& model);

  index_t num_items() const noexcept { return train_.num_items(); }
  // Known user by external id; unknown ids, and users without training interactions, get the
  // fallback (popular or demographic popular), said so in `source`.
  Recommendation for_user(std::string_view user_id, std::size_t k) const;
  // A stranger: favourite items (external ids; unknown ones are an error) and/or user features
  // (a one-row table from stranger_features(), or an empty one). A model that uses features
  // (hybrid) gets both; the others score the favourites, and the features choose the fallback
  // when there are none.
  Recommendation for_stranger(const std::vector<std::string>& liked_items,
                              const FeatureTable& features, std::size_t k) const;
  Recommendation popular(std::size_t k, std::span<const col_t> exclude = {}) const;
  // Items most similar to one item (NotSupported when the model has no notion of it).
  std::vector<ScoredItem> similar(std::string_view item_id, std::size_t k) const;

  const Dataset& train() const noexcept { return train_; }

 private:
  Recommendation fallback(const Demographics& demo, std::size_t k) const;

  const Model& model_;
  const Dataset& train_;
  Fallback fallback_;
};

}  // namespace reckon
