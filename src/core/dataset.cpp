#include "reckon/core/dataset.hpp"

#include "reckon/core/error.hpp"

namespace reckon {

void Dataset::validate() const {
  RECKON_CHECK(interactions.rows() == users.size() && interactions.cols() == items.size(),
               "dataset matrix is {}x{} but has {} users and {} items", interactions.rows(),
               interactions.cols(), users.size(), items.size());
  RECKON_CHECK(user_features.rows() == users.size() || user_features.empty(),
               "user features have {} rows for {} users", user_features.rows(), users.size());
  RECKON_CHECK(item_features.rows() == items.size() || item_features.empty(),
               "item features have {} rows for {} items", item_features.rows(), items.size());
}

Dataset Dataset::select(std::span<const index_t> keep_users,
                        std::span<const index_t> keep_items) const {
  Dataset out;
  out.name = name;
  out.users = users.select(keep_users);
  out.items = items.select(keep_items);
  out.interactions = interactions.select(keep_users, keep_items);
  out.user_features = user_features.empty() ? FeatureTable(static_cast<index_t>(keep_users.size()))
                                            : user_features.select(keep_users);
  out.item_features = item_features.empty() ? FeatureTable(static_cast<index_t>(keep_items.size()))
                                            : item_features.select(keep_items);
  out.explicit_ratings = explicit_ratings;
  return out;
}

Dataset Dataset::with_interactions(CsrMatrix m) const {
  RECKON_CHECK(m.rows() == interactions.rows() && m.cols() == interactions.cols(),
               "replacement interactions are {}x{}, expected {}x{}", m.rows(), m.cols(),
               interactions.rows(), interactions.cols());
  Dataset out = *this;
  out.interactions = std::move(m);
  return out;
}

}  // namespace reckon
