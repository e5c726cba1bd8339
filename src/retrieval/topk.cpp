#include "reckon/retrieval/topk.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "reckon/core/error.hpp"

namespace reckon {

void top_k(std::span<const float> scores, std::size_t k, std::vector<ScoredItem>& out) {
  out.clear();
  if (k == 0) return;
  // A heap whose front is the worst kept entry. Items arrive in index order, so an equal score
  // never displaces a kept one (the kept one has the lower index).
  auto worse_first = [](const ScoredItem& a, const ScoredItem& b) { return ranks_before(a, b); };
  const float neg_inf = -std::numeric_limits<float>::infinity();
  const auto n = static_cast<index_t>(scores.size());
  index_t i = 0;
  for (; i < n && out.size() < k; ++i) {
    const float s = scores[i];
    if (!(s > neg_inf)) continue;  // -inf and NaN
    out.push_back({i, s});
    std::push_heap(out.begin(), out.end(), worse_first);
  }
  if (out.size() == k) {
    float threshold = out.front().score;
    for (; i < n; ++i) {
      const float s = scores[i];
      if (!(s > threshold)) continue;
      std::pop_heap(out.begin(), out.end(), worse_first);
      out.back() = {i, s};
      std::push_heap(out.begin(), out.end(), worse_first);
      threshold = out.front().score;
    }
  }
  std::sort(out.begin(), out.end(), ranks_before);
}

void mask(std::span<float> scores, std::span<const col_t> items) {
  const float neg_inf = -std::numeric_limits<float>::infinity();
  for (index_t i : items) {
    RECKON_ASSERT(i >= 0 && static_cast<std::size_t>(i) < scores.size());
    scores[i] = neg_inf;
  }
}

std::vector<ScoredItem> recommend(const Model& model, const UserContext& user, std::size_t k,
                                  const Filter& filter, std::vector<float>& scratch) {
  model.score(user, scratch);
  if (filter.exclude_history) mask(scratch, user.history);
  mask(scratch, filter.exclude);
  if (filter.allowed) {
    RECKON_ASSERT(filter.allowed->size() == scratch.size());
    for (std::size_t i = 0; i < scratch.size(); ++i)
      if (!(*filter.allowed)[i]) scratch[i] = -std::numeric_limits<float>::infinity();
  }
  std::vector<ScoredItem> out;
  out.reserve(k);
  top_k(scratch, k, out);
  return out;
}

}  // namespace reckon
