#pragma once
// Exact top-k by inner product (maximum inner product search) for a block of users at once:
// the scores of every (user, item) pair are computed as matrix products over tiles of items, so
// that each tile of item factors is packed once per block and its scores stay in cache, with a
// running top-k per user. Gives exactly the list of top_k() on the full score vector (same
// order, same tie-breaking by item index), for factor models.
#include <Eigen/Core>
#include <span>
#include <vector>

#include "reckon/core/types.hpp"
#include "reckon/retrieval/item_search.hpp"

namespace reckon {

// For each row b of `users` (B x f), the best `k` items of `items` (n x f) by
// users.row(b) . items.row(i) + item_bias[i] + queries[b].offset. `item_bias` may be empty.
void inner_product_top_k(const RowMatrix& users, const RowMatrix& items,
                         std::span<const float> item_bias,
                         std::span<const InnerProductQuery> queries, std::size_t k,
                         std::vector<std::vector<ScoredItem>>& out);

// The items of a factor model ordered by decreasing norm, for the same exact search with early
// stopping: once a user's k-th best score beats |u| * (largest norm left) + (largest bias left),
// no item left can enter its list (Cauchy-Schwarz), and the user stops. Factor models put their
// popular items first this way (they have the large norms), so most users stop after a small
// part of the catalogue. Build once per model (a copy of the item factors).
class InnerProductIndex final : public ItemSearch {
 public:
  InnerProductIndex(const RowMatrix& items, std::span<const float> item_bias);

  // Exactly inner_product_top_k(users, items, item_bias, queries, k, out).
  void top_k(const RowMatrix& users, std::span<const InnerProductQuery> queries, std::size_t k,
             std::vector<std::vector<ScoredItem>>& out) const override;
  std::string describe() const override { return "exact"; }

 private:
  RowMatrix items_;                // rows in order of decreasing norm
  std::vector<index_t> ids_;       // the item of each row
  std::vector<index_t> position_;  // the row of each item
  std::vector<float> bias_;        // per row; empty when there are no biases
  std::vector<float> norm_;        // per row, decreasing
  std::vector<float> bias_left_;   // per row: the largest bias from this row on
};

}  // namespace reckon
