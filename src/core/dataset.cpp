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
  if (!events.empty()) events.check_matches(interactions);
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
  if (!events.empty()) out.events = events.select(keep_users, keep_items);
  return out;
}

Dataset Dataset::with_interactions(CsrMatrix m) const {
  RECKON_CHECK(m.rows() == interactions.rows() && m.cols() == interactions.cols(),
               "replacement interactions are {}x{}, expected {}x{}", m.rows(), m.cols(),
               interactions.rows(), interactions.cols());
  Dataset out = *this;
  out.interactions = std::move(m);
  if (!out.events.empty()) out.events = out.events.restricted_to(out.interactions);
  return out;
}

AlignedInteractions align_interactions(const Dataset& source, const Dataset& target) {
  AlignedInteractions out;
  const CsrMatrix& m = source.interactions;
  if (source.users.ids() == target.users.ids() && source.items.ids() == target.items.ids()) {
    out.matrix = m;  // the same id space (both parts written by reckon split)
    return out;
  }
  std::vector<index_t> user_of(static_cast<std::size_t>(source.num_users()), -1);
  std::vector<index_t> item_of(static_cast<std::size_t>(source.num_items()), -1);
  for (index_t u = 0; u < source.num_users(); ++u) {
    if (auto t = target.users.find(source.users.id(u))) user_of[static_cast<std::size_t>(u)] = *t;
    else if (m.row_size(u) > 0) ++out.unknown_users;
  }
  std::vector<bool> item_used(static_cast<std::size_t>(source.num_items()), false);
  for (index_t i : m.indices()) item_used[static_cast<std::size_t>(i)] = true;
  for (index_t i = 0; i < source.num_items(); ++i) {
    if (auto t = target.items.find(source.items.id(i))) item_of[static_cast<std::size_t>(i)] = *t;
    else if (item_used[static_cast<std::size_t>(i)]) ++out.unknown_items;
  }
  std::vector<index_t> rows, cols;
  std::vector<float> values;
  std::vector<std::int64_t> times;
  rows.reserve(m.indices().size());
  cols.reserve(m.indices().size());
  values.reserve(m.indices().size());
  for (index_t u = 0; u < m.rows(); ++u) {
    const auto idx = m.row_indices(u);
    const auto val = m.row_values(u);
    for (std::size_t k = 0; k < idx.size(); ++k) {
      const index_t tu = user_of[static_cast<std::size_t>(u)];
      const index_t ti = item_of[static_cast<std::size_t>(idx[k])];
      if (tu < 0 || ti < 0) {
        ++out.dropped;
        continue;
      }
      rows.push_back(tu);
      cols.push_back(ti);
      values.push_back(val[k]);
      if (m.has_times()) times.push_back(m.row_times(u)[k]);
    }
  }
  out.matrix = CsrMatrix::from_coordinates(target.num_users(), target.num_items(), std::move(rows),
                                           std::move(cols), std::move(values), std::move(times),
                                           DedupPolicy::kLast);
  return out;
}

}  // namespace reckon
