#pragma once
// How a factor model finds its best items: exactly (InnerProductIndex, every item scored or
// bounded away) or approximately (AnnIndex, an inverted-file index of FAISS, for catalogues so
// large that scoring every item for every request costs too much). Both answer the same query:
// the best k items by user . item + bias + offset, without the user's excluded items.
#include <Eigen/Core>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "reckon/core/types.hpp"
#include "reckon/retrieval/ann_options.hpp"

namespace reckon {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct InnerProductQuery {
  std::span<const col_t> exclude;    // items never returned (sorted ascending)
  float offset = 0;                  // added to every score of this user
};

class ItemSearch {
 public:
  virtual ~ItemSearch() = default;
  // For each row b of `users`, the best `k` items, best first (fewer when the catalogue has
  // fewer that are not excluded; an approximate index may miss some of the exact ones).
  virtual void top_k(const RowMatrix& users, std::span<const InnerProductQuery> queries,
                     std::size_t k, std::vector<std::vector<ScoredItem>>& out) const = 0;
  // "exact", or the approximate index and its settings, for /health and the logs.
  virtual std::string describe() const = 0;
};

}  // namespace reckon
