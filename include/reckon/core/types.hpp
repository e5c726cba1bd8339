#pragma once
#include <cstdint>
#include <limits>

namespace reckon {

// Dense user/item index, count or position: 64-bit, so that no count can overflow.
using index_t = std::int64_t;

// An index as a sparse matrix stores it: an item in a user's row (a user in the transpose) and an
// item of a history. 32-bit, which halves the largest arrays of a dataset, its transpose and its
// file; counts, row pointers and everything computed from them stay index_t. A matrix's columns
// (and so the items, and the users of a transposed matrix) are limited to kMaxMatrixColumns.
using col_t = std::int32_t;
inline constexpr index_t kMaxMatrixColumns = std::numeric_limits<col_t>::max();

// Marks an interaction without a timestamp (unix seconds otherwise).
inline constexpr std::int64_t kNoTime = std::numeric_limits<std::int64_t>::min();

struct ScoredItem {
  index_t item = -1;
  float score = 0.0f;
};

}  // namespace reckon
