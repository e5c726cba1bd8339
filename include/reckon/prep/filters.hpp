#pragma once
// Filters applied before training: models never re-filter data.
#include <optional>

#include "reckon/core/dataset.hpp"

namespace reckon {

struct FilterOptions {
  index_t min_user_interactions = 0;  // drop users with fewer (one pass)
  index_t min_item_interactions = 0;  // drop items with fewer (one pass)
  index_t kcore = 0;                  // iterate until every user and item has at least this many
  std::optional<float> min_rating;    // drop interactions rated below this
  bool active() const {
    return min_user_interactions > 0 || min_item_interactions > 0 || kcore > 0 ||
           min_rating.has_value();
  }
};

// Returns the filtered dataset; users and items left without interactions are dropped (their
// features too), keeping the original relative order of ids.
Dataset apply_filters(const Dataset& dataset, const FilterOptions& options);

}  // namespace reckon
