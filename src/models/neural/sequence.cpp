#include "reckon/models/neural/sequence.hpp"

#include <algorithm>
#include <numeric>

#include "reckon/core/random.hpp"

namespace reckon::neural {
namespace {

// Positions 0..n-1 of a row ordered by time (stable: ties keep their order).
void order_by_time(std::span<const std::int64_t> times, std::size_t n,
                   std::vector<std::size_t>& order) {
  order.resize(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  if (times.size() == n)
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return times[a] < times[b]; });
}

}  // namespace

std::vector<index_t> history_sequence(const UserContext& user, index_t items, std::size_t max_len) {
  std::vector<std::size_t> order;
  order_by_time(user.times, user.history.size(), order);
  std::vector<index_t> out;
  out.reserve(std::min(order.size(), max_len));
  // Newest first while collecting, so that skipped items do not shorten the window.
  for (auto it = order.rbegin(); it != order.rend() && out.size() < max_len; ++it) {
    const index_t i = user.history[*it];
    if (i >= 0 && i < items) out.push_back(i);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

Sequences time_ordered_rows(const CsrMatrix& m) {
  Sequences s;
  s.indptr.reserve(static_cast<std::size_t>(m.rows()) + 1);
  s.items.reserve(static_cast<std::size_t>(m.nnz()));
  std::vector<std::size_t> order;
  for (index_t u = 0; u < m.rows(); ++u) {
    const auto idx = m.row_indices(u);
    order_by_time(m.row_times(u), idx.size(), order);
    for (std::size_t k : order) s.items.push_back(idx[k]);
    s.indptr.push_back(static_cast<index_t>(s.items.size()));
  }
  return s;
}

void split_newest(const CsrMatrix& m, std::span<const index_t> users, index_t min_left,
                  CsrMatrix& rest, CsrMatrix& last) {
  std::vector<bool> held(static_cast<std::size_t>(m.nnz()), false);
  std::vector<std::size_t> order;
  for (index_t u : users) {
    if (u < 0 || u >= m.rows() || m.row_size(u) < min_left + 1) continue;
    const auto n = static_cast<std::size_t>(m.row_size(u));
    order_by_time(m.row_times(u), n, order);
    held[static_cast<std::size_t>(m.indptr()[static_cast<std::size_t>(u)]) + order.back()] = true;
  }
  std::vector<bool> keep(held.size());
  for (std::size_t k = 0; k < held.size(); ++k) keep[k] = !held[k];
  rest = m.filtered(keep);
  last = m.filtered(held);
}

void hold_out_newest(const CsrMatrix& x, double share, index_t max_users, std::uint64_t seed,
                     CsrMatrix& fit, CsrMatrix& valid) {
  std::vector<index_t> users;
  for (index_t u = 0; u < x.rows(); ++u)
    if (x.row_size(u) >= 3) users.push_back(u);
  Rng rng(seed ^ 0x5a5ecULL);
  rng.shuffle(std::span<index_t>(users));
  const auto wanted = std::min(static_cast<std::size_t>(share * static_cast<double>(users.size())),
                               static_cast<std::size_t>(std::max<index_t>(max_users, 0)));
  users.resize(std::min(users.size(), wanted));
  split_newest(x, users, 2, fit, valid);
}

}  // namespace reckon::neural
