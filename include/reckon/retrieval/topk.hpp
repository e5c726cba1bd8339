#pragma once
// Top-k selection, exclusion of seen items and business filters: the one place for them.
// Models only fill score vectors.
#include <span>
#include <vector>

#include "reckon/core/types.hpp"
#include "reckon/models/model.hpp"

namespace reckon {

// "a ranks before b": a higher score, then a lower item index. Every top-k list's order.
inline bool ranks_before(const ScoredItem& a, const ScoredItem& b) {
  return a.score > b.score || (a.score == b.score && a.item < b.item);
}

// Best `k` entries of `scores`, best first; ties go to the lower item index. Entries that are
// -infinity or NaN are never returned. O(n log k), no allocation beyond `out`.
void top_k(std::span<const float> scores, std::size_t k, std::vector<ScoredItem>& out);

struct Filter {
  bool exclude_history = true;                 // drop the items of the user's history
  std::span<const col_t> exclude;              // more items to drop (any order)
  const std::vector<bool>* allowed = nullptr;  // when set, only items marked true
};

// Scores with `model`, applies `filter`, returns the top k. `scratch` must hold one entry per
// item of the catalogue; reusing it avoids an allocation per call.
std::vector<ScoredItem> recommend(const Model& model, const UserContext& user, std::size_t k,
                                  const Filter& filter, std::vector<float>& scratch);

// Sets the entries of `items` to -infinity.
void mask(std::span<float> scores, std::span<const col_t> items);

}  // namespace reckon
