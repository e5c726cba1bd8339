#pragma once
#include <cstdint>
#include <limits>

namespace reckon {

// Dense user/item index. 64-bit everywhere so that no count can overflow.
using index_t = std::int64_t;

// Marks an interaction without a timestamp (unix seconds otherwise).
inline constexpr std::int64_t kNoTime = std::numeric_limits<std::int64_t>::min();

struct ScoredItem {
  index_t item = -1;
  float score = 0.0f;
};

}  // namespace reckon
