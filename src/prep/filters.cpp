#include "reckon/prep/filters.hpp"

#include "reckon/core/error.hpp"

namespace reckon {

Dataset apply_filters(const Dataset& d, const FilterOptions& o) {
  RECKON_CHECK(o.min_user_interactions >= 0 && o.min_item_interactions >= 0 && o.kcore >= 0,
               "filter thresholds must be non-negative");
  const CsrMatrix& m = d.interactions;
  std::vector<bool> keep(static_cast<std::size_t>(m.nnz()), true);
  if (o.min_rating) {
    for (index_t k = 0; k < m.nnz(); ++k) keep[k] = m.values()[k] >= *o.min_rating;
  }
  std::vector<bool> user_ok(static_cast<std::size_t>(m.rows()), true);
  std::vector<bool> item_ok(static_cast<std::size_t>(m.cols()), true);
  const std::vector<index_t> rows = m.row_ids();
  auto count = [&](std::vector<index_t>& uc, std::vector<index_t>& ic) {
    uc.assign(user_ok.size(), 0);
    ic.assign(item_ok.size(), 0);
    for (index_t k = 0; k < m.nnz(); ++k) {
      if (!keep[k] || !user_ok[rows[k]] || !item_ok[m.indices()[k]]) continue;
      ++uc[rows[k]];
      ++ic[m.indices()[k]];
    }
  };
  std::vector<index_t> uc, ic;
  // One pass of the per-user and per-item minimums, then k-core until nothing changes.
  count(uc, ic);
  for (std::size_t u = 0; u < uc.size(); ++u)
    if (uc[u] < std::max<index_t>(o.min_user_interactions, 1)) user_ok[u] = false;
  count(uc, ic);
  for (std::size_t i = 0; i < ic.size(); ++i)
    if (ic[i] < std::max<index_t>(o.min_item_interactions, 1)) item_ok[i] = false;
  if (o.kcore > 0) {
    bool changed = true;
    while (changed) {
      changed = false;
      count(uc, ic);
      for (std::size_t u = 0; u < uc.size(); ++u)
        if (user_ok[u] && uc[u] < o.kcore) user_ok[u] = false, changed = true;
      for (std::size_t i = 0; i < ic.size(); ++i)
        if (item_ok[i] && ic[i] < o.kcore) item_ok[i] = false, changed = true;
    }
  }
  count(uc, ic);
  std::vector<index_t> keep_users, keep_items;
  for (std::size_t u = 0; u < uc.size(); ++u)
    if (user_ok[u] && uc[u] > 0) keep_users.push_back(static_cast<index_t>(u));
  for (std::size_t i = 0; i < ic.size(); ++i)
    if (item_ok[i] && ic[i] > 0) keep_items.push_back(static_cast<index_t>(i));
  Dataset rated = d.with_interactions(m.filtered(keep));
  Dataset out = rated.select(keep_users, keep_items);
  RECKON_CHECK(out.num_interactions() > 0, "the filters removed every interaction");
  return out;
}

}  // namespace reckon
