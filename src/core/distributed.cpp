#include "reckon/core/distributed.hpp"

#include <algorithm>

#include "reckon/core/error.hpp"

namespace reckon {
namespace {

Communicator* current = nullptr;

}  // namespace

Communicator* distributed() { return current; }
void set_distributed(Communicator* communicator) { current = communicator; }

std::vector<std::int64_t> balanced_shares(std::span<const index_t> indptr, int parts) {
  RECKON_CHECK(parts >= 1, "balanced_shares: {} parts", parts);
  RECKON_CHECK(!indptr.empty(), "balanced_shares: no row pointers");
  const auto rows = static_cast<std::int64_t>(indptr.size()) - 1;
  // Row u's cost is its interactions plus one; share r ends at the first row whose cumulative
  // cost reaches r / parts of the total.
  const auto cost_before = [&](std::int64_t u) { return indptr[u] - indptr[0] + u; };
  const double total = static_cast<double>(cost_before(rows));
  std::vector<std::int64_t> first(static_cast<std::size_t>(parts) + 1, rows);
  first[0] = 0;
  std::int64_t u = 0;
  for (int r = 1; r < parts; ++r) {
    const double target = total * r / parts;
    while (u < rows && static_cast<double>(cost_before(u)) < target) ++u;
    first[static_cast<std::size_t>(r)] = u;
  }
  return first;
}

}  // namespace reckon
