#pragma once
// Software prefetch of a row of floats, for loops that read factor rows at random (BPR's SGD,
// the iALS gathers): the hardware cannot guess the next row, so the loop asks ahead.
#include <cstddef>

namespace reckon {

// Every 64-byte cache line of the `n` floats at `p`; `kWrite` when they are about to be written.
template <bool kWrite = false>
inline void prefetch_floats(const float* p, std::ptrdiff_t n) {
  for (std::ptrdiff_t k = 0; k < n; k += 16) __builtin_prefetch(p + k, kWrite ? 1 : 0, 3);
  __builtin_prefetch(p + n - 1, kWrite ? 1 : 0, 3);
}

}  // namespace reckon
