#include "reckon/retrieval/inner_product.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "reckon/core/error.hpp"
#include "reckon/retrieval/topk.hpp"

namespace reckon {
namespace {

// Keeps the best `k` of `heap` (a min-heap under ranks_before()) after offering it the scores of
// one tile: s[j] for the items ids[j] (or start + j when `ids` is null); -inf marks exclusions.
inline void offer(std::vector<ScoredItem>& heap, std::size_t k, const float* s, Eigen::Index len,
                  index_t start, const index_t* ids) {
  auto worse_first = [](const ScoredItem& x, const ScoredItem& y) { return ranks_before(x, y); };
  const float neg_inf = -std::numeric_limits<float>::infinity();
  Eigen::Index j = 0;
  for (; j < len && heap.size() < k; ++j) {
    if (!(s[j] > neg_inf)) continue;
    heap.push_back({ids ? ids[j] : start + j, s[j]});
    std::push_heap(heap.begin(), heap.end(), worse_first);
  }
  if (heap.size() < k) return;
  float threshold = heap.front().score;
  for (; j < len; ++j) {
    if (s[j] < threshold) continue;
    const index_t item = ids ? ids[j] : start + j;
    // Equal scores go to the lower index (the rows of an index are not in item order).
    if (!(s[j] > threshold) && !(ids && item < heap.front().item)) continue;
    std::pop_heap(heap.begin(), heap.end(), worse_first);
    heap.back() = {item, s[j]};
    std::push_heap(heap.begin(), heap.end(), worse_first);
    threshold = heap.front().score;
  }
}

// Items per tile: 4096 x 64 factors is 1 MB of item factors; with 256 users the score tile is
// 4 MB. Measured on Gowalla: tile and block sizes from 1k to 8k barely matter once the scan is
// tight; what mattered was not checking exclusions per item (masking them in the tile instead).
constexpr Eigen::Index kTile = 4096;
// Smaller tiles for the pruned search: users stop at a tile boundary.
constexpr Eigen::Index kPrunedTile = 1024;

// Adds each user's offset and sorts the lists best first.
void finish(std::span<const InnerProductQuery> queries, std::vector<std::vector<ScoredItem>>& out) {
  for (std::size_t u = 0; u < out.size(); ++u)
    for (auto& e : out[u]) e.score += queries[u].offset;
  for (auto& o : out) std::sort(o.begin(), o.end(), ranks_before);
}

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
      offer(heap, k, s, len, start, nullptr);
    }
  }
  finish(queries, out);
}

InnerProductIndex::InnerProductIndex(const RowMatrix& items, std::span<const float> item_bias) {
  const Eigen::Index n = items.rows();
  RECKON_ASSERT(item_bias.empty() || static_cast<Eigen::Index>(item_bias.size()) == n);
  // A diverged model's NaN rows go last (as -inf: they never score into a list anyway), so that
  // the order is a strict weak one.
  Eigen::VectorXf norms = items.rowwise().norm();
  for (auto& v : norms) v = std::isnan(v) ? -std::numeric_limits<float>::infinity() : v;
  ids_.resize(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) ids_[static_cast<std::size_t>(i)] = i;
  std::stable_sort(ids_.begin(), ids_.end(),
                   [&](index_t a, index_t b) { return norms[a] > norms[b]; });
  items_.resize(n, items.cols());
  position_.resize(static_cast<std::size_t>(n));
  norm_.resize(static_cast<std::size_t>(n));
  for (Eigen::Index r = 0; r < n; ++r) {
    const index_t i = ids_[static_cast<std::size_t>(r)];
    items_.row(r) = items.row(i);
    position_[static_cast<std::size_t>(i)] = r;
    norm_[static_cast<std::size_t>(r)] = norms[i];
  }
  if (!item_bias.empty()) {
    bias_.resize(static_cast<std::size_t>(n));
    bias_left_.resize(static_cast<std::size_t>(n));
    for (Eigen::Index r = 0; r < n; ++r) bias_[static_cast<std::size_t>(r)] = item_bias[ids_[r]];
    float best = -std::numeric_limits<float>::infinity();
    for (Eigen::Index r = n - 1; r >= 0; --r)
      bias_left_[static_cast<std::size_t>(r)] = best =
          std::max(best, bias_[static_cast<std::size_t>(r)]);
  }
}

void InnerProductIndex::top_k(const RowMatrix& users, std::span<const InnerProductQuery> queries,
                              std::size_t k, std::vector<std::vector<ScoredItem>>& out) const {
  const Eigen::Index b = users.rows(), n = items_.rows();
  RECKON_ASSERT(static_cast<std::size_t>(b) == queries.size() && users.cols() == items_.cols());
  out.resize(static_cast<std::size_t>(b));
  for (auto& o : out) o.clear();
  if (k == 0) return;
  // Each user's exclusions as rows of the index, sorted: one cursor per user as above.
  std::vector<std::vector<index_t>> excluded(static_cast<std::size_t>(b));
  for (Eigen::Index u = 0; u < b; ++u) {
    auto& e = excluded[static_cast<std::size_t>(u)];
    for (index_t i : queries[static_cast<std::size_t>(u)].exclude)
      if (i >= 0 && i < n) e.push_back(position_[static_cast<std::size_t>(i)]);
    std::sort(e.begin(), e.end());
  }
  std::vector<std::size_t> next_excluded(static_cast<std::size_t>(b), 0);
  const Eigen::VectorXf user_norm = users.rowwise().norm();
  std::vector<Eigen::Index> active(static_cast<std::size_t>(b));
  for (Eigen::Index u = 0; u < b; ++u) active[static_cast<std::size_t>(u)] = u;
  RowMatrix packed = users;  // the active users' rows first
  std::vector<float> scores(static_cast<std::size_t>(b * std::min(kPrunedTile, n)));
  const float neg_inf = -std::numeric_limits<float>::infinity();
  for (Eigen::Index start = 0; start < n && !active.empty(); start += kPrunedTile) {
    const Eigen::Index len = std::min(kPrunedTile, n - start);
    const auto rows = static_cast<Eigen::Index>(active.size());
    Eigen::Map<RowMatrix> tile(scores.data(), rows, len);
    tile.noalias() = packed.topRows(rows) * items_.middleRows(start, len).transpose();
    if (!bias_.empty())
      tile.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(bias_.data() + start, len);
    const bool last = start + len >= n;
    // What any row after this tile can score at most is |u| * norm_left + bias_left.
    const float norm_left = last ? 0.0f : norm_[static_cast<std::size_t>(start + len)];
    const float bias_left =
        last || bias_.empty() ? 0.0f : bias_left_[static_cast<std::size_t>(start + len)];
    std::size_t kept = 0;
    for (std::size_t a = 0; a < active.size(); ++a) {
      const Eigen::Index u = active[a];
      auto& heap = out[static_cast<std::size_t>(u)];
      float* s = tile.row(static_cast<Eigen::Index>(a)).data();
      const auto& ex = excluded[static_cast<std::size_t>(u)];
      std::size_t& e = next_excluded[static_cast<std::size_t>(u)];
      for (; e < ex.size() && ex[e] < start + len; ++e) s[ex[e] - start] = neg_inf;
      offer(heap, k, s, len, start, ids_.data() + start);
      // With a little slack for the rounding of the products and sums.
      const float reach = user_norm[u] * norm_left;
      const bool done =
          last || (heap.size() == k &&
                   heap.front().score > reach + bias_left + 1e-4f * (reach + std::abs(bias_left)));
      if (!done) {
        if (kept != a)
          packed.row(static_cast<Eigen::Index>(kept)) = packed.row(static_cast<Eigen::Index>(a));
        active[kept++] = u;
      }
    }
    active.resize(kept);
  }
  finish(queries, out);
}

}  // namespace reckon
