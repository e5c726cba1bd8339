#pragma once
// A dataset: who (users), what (items), the interactions between them, and features of both.
#include <string>

#include "reckon/core/csr_matrix.hpp"
#include "reckon/core/event_log.hpp"
#include "reckon/core/feature_table.hpp"
#include "reckon/core/id_map.hpp"

namespace reckon {

struct Dataset {
  std::string name;  // e.g. "movielens-100k"; informational
  IdMap users;
  IdMap items;
  CsrMatrix interactions;         // users x items; value = rating, count or weight; times optional
  FeatureTable user_features;     // rows = users.size() (no columns when there are none)
  FeatureTable item_features;     // rows = items.size()
  bool explicit_ratings = false;  // values are ratings on a scale (not counts or 1s)
  // Every event in time order with its repeats (import --keep-repeats); empty otherwise. When
  // present it merges into exactly the entries of `interactions`.
  EventLog events;

  index_t num_users() const noexcept { return users.size(); }
  index_t num_items() const noexcept { return items.size(); }
  index_t num_interactions() const noexcept { return interactions.nnz(); }

  // Throws InvalidInput when the parts disagree in size.
  void validate() const;
  // The dataset restricted to `users` and `items` (old indexes, in new order), features too.
  Dataset select(std::span<const index_t> users, std::span<const index_t> items) const;
  // Same ids and features with other interactions of the same shape. An event log keeps the
  // events of the entries left (a weighting keeps them all, a filter drops those it drops).
  Dataset with_interactions(CsrMatrix interactions) const;
};

// Interactions of `source` in the user and item indexes of `target`, matched by id (the test
// part of a split read from its own file, or data for a saved model). Rows of users or items
// `target` does not know are dropped and counted, not guessed.
struct AlignedInteractions {
  CsrMatrix matrix;
  index_t unknown_users = 0, unknown_items = 0;  // distinct ids dropped
  index_t dropped = 0;                           // interactions dropped with them
};
AlignedInteractions align_interactions(const Dataset& source, const Dataset& target);

}  // namespace reckon
