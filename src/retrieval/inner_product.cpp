#include "reckon/retrieval/inner_product.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "reckon/core/error.hpp"

namespace reckon {
namespace {

inline bool better(const ScoredItem& a, const ScoredItem& b) {
  return a.score > b.score || (a.score == b.score && a.item < b.item);
}

// Items per tile: 4096 x 64 factors is 1 MB of item factors; with 256 users the score tile is
// 4 MB. Measured on Gowalla: tile and block sizes from 1k to 8k barely matter once the scan is
// tight; what mattered was not checking exclusions per item (masking them in the tile instead).
constexpr Eigen::Index kTile = 4096;

}  // namespace

void inner_product_top_k(const RowMatrix& users, const RowMatrix& items,
                         std::span<const float> item_bias,
                         std::span<const InnerProductQuery> queries, std::size_t k,
                         std::vector<std::vector<ScoredItem>>& out) {
  const Eigen::Index b = users.rows(), n = items.rows();
  RECKON_ASSERT(static_cast<std::size_t>(b) == queries.size() && users.cols() == items.cols());
  RECKON_ASSERT(item_bias.empty() || static_cast<Eigen::Index>(item_bias.size()) == n);
  out.resize(static_cast<std::size_t>(b));
  for (auto& o : out) o.clear();
  if (k == 0) return;
  auto worse_first = [](const ScoredItem& x, const ScoredItem& y) { return better(x, y); };
  std::vector<std::size_t> next_excluded(static_cast<std::size_t>(b), 0);
  RowMatrix tile(b, std::min(kTile, n));
  const float neg_inf = -std::numeric_limits<float>::infinity();
  for (Eigen::Index start = 0; start < n; start += kTile) {
    const Eigen::Index len = std::min(kTile, n - start);
    auto scores = tile.leftCols(len);
    scores.noalias() = users * items.middleRows(start, len).transpose();
    if (!item_bias.empty()) {
      const Eigen::Map<const Eigen::RowVectorXf> bias(item_bias.data() + start, len);
      scores.rowwise() += bias;
    }
    for (Eigen::Index u = 0; u < b; ++u) {
      auto& heap = out[static_cast<std::size_t>(u)];
      const auto& q = queries[static_cast<std::size_t>(u)];
      float* s = tile.row(u).data();
      // Excluded items of this tile (the list is sorted: one cursor per user).
      std::size_t& ex = next_excluded[static_cast<std::size_t>(u)];
      while (ex < q.exclude.size() && q.exclude[ex] < start + len) {
        if (q.exclude[ex] >= start) s[q.exclude[ex] - start] = neg_inf;
        ++ex;
      }
      // The per-user offset does not change the order: it is added to the kept scores at the end.
      Eigen::Index j = 0;
      for (; j < len && heap.size() < k; ++j) {
        if (!(s[j] > neg_inf)) continue;
        heap.push_back({start + j, s[j]});
        std::push_heap(heap.begin(), heap.end(), worse_first);
      }
      if (heap.size() < k) continue;
      float threshold = heap.front().score;
      for (; j < len; ++j) {
        if (!(s[j] > threshold)) continue;
        std::pop_heap(heap.begin(), heap.end(), worse_first);
        heap.back() = {start + j, s[j]};
        std::push_heap(heap.begin(), heap.end(), worse_first);
        threshold = heap.front().score;
      }
    }
  }
  for (std::size_t u = 0; u < out.size(); ++u)
    for (auto& e : out[u]) e.score += queries[u].offset;
  for (auto& o : out) std::sort(o.begin(), o.end(), better);
}

}  // namespace reckon
