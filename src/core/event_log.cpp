#include "reckon/core/event_log.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "reckon/core/error.hpp"

namespace reckon {

EventLog::EventLog(index_t rows, index_t cols, std::vector<index_t> indptr,
                   std::vector<col_t> items, std::vector<float> values,
                   std::vector<std::int64_t> times, DedupPolicy merge)
    : cols_(cols),
      indptr_(std::move(indptr)),
      items_(std::move(items)),
      values_(std::move(values)),
      times_(std::move(times)),
      merge_(merge) {
  RECKON_CHECK(rows >= 0 && cols >= 0, "event log shape must be non-negative, got {}x{}", rows,
               cols);
  RECKON_CHECK(cols <= kMaxMatrixColumns, "an event log has at most {} items, got {}",
               kMaxMatrixColumns, cols);
  RECKON_CHECK(indptr_.size() == static_cast<std::size_t>(rows) + 1,
               "event log row pointer has {} entries, expected {}", indptr_.size(), rows + 1);
  RECKON_CHECK(indptr_.front() == 0 && indptr_.back() == static_cast<index_t>(items_.size()),
               "event log row pointer does not span the {} events", items_.size());
  RECKON_CHECK(values_.size() == items_.size(), "event log has {} values for {} events",
               values_.size(), items_.size());
  RECKON_CHECK(times_.empty() || times_.size() == items_.size(),
               "event log has {} timestamps for {} events", times_.size(), items_.size());
  // All row pointers before any row is read (see CsrMatrix).
  for (index_t r = 0; r < rows; ++r)
    RECKON_CHECK(indptr_[r] <= indptr_[r + 1], "event log row pointer decreases at row {}", r);
  for (const col_t i : items_)
    RECKON_CHECK(i >= 0 && i < cols_, "event log has item {} out of range [0, {})", i, cols_);
  for (const float v : values_)
    RECKON_CHECK(std::isfinite(v), "event log has a value that is not a finite number ({})", v);
  if (!times_.empty())
    for (index_t r = 0; r < rows; ++r)
      for (index_t k = indptr_[r] + 1; k < indptr_[r + 1]; ++k)
        RECKON_CHECK(times_[k - 1] <= times_[k], "event log row {} is not in time order", r);
}

EventLog EventLog::from_events(index_t rows, index_t cols,
                               const std::vector<std::uint32_t>& row_ids,
                               const std::vector<std::uint32_t>& items,
                               const std::vector<float>& values,
                               const std::vector<std::int64_t>& times, DedupPolicy merge) {
  const std::size_t n = row_ids.size();
  RECKON_CHECK(items.size() == n && values.size() == n && (times.empty() || times.size() == n),
               "event lists differ in length");
  // A stable counting sort by row keeps each row's events in their given order...
  std::vector<index_t> indptr(static_cast<std::size_t>(rows) + 1, 0);
  for (const std::uint32_t r : row_ids) {
    RECKON_CHECK(static_cast<index_t>(r) < rows, "event of row {} out of range [0, {})", r, rows);
    ++indptr[static_cast<std::size_t>(r) + 1];
  }
  std::partial_sum(indptr.begin(), indptr.end(), indptr.begin());
  std::vector<std::size_t> order(n);
  {
    std::vector<index_t> next(indptr.begin(), indptr.end() - 1);
    for (std::size_t k = 0; k < n; ++k) order[static_cast<std::size_t>(next[row_ids[k]]++)] = k;
  }
  // ...then a stable sort by time orders each row (ties keep the given order).
  if (!times.empty())
    for (index_t r = 0; r < rows; ++r)
      std::stable_sort(order.begin() + indptr[r], order.begin() + indptr[r + 1],
                       [&](std::size_t a, std::size_t b) { return times[a] < times[b]; });
  // (Narrowed here, checked by the constructor: an item beyond 2^31 turns negative.)
  std::vector<col_t> out_items(n);
  std::vector<float> out_values(n);
  std::vector<std::int64_t> out_times(times.empty() ? 0 : n);
  for (std::size_t k = 0; k < n; ++k) {
    out_items[k] = static_cast<col_t>(items[order[k]]);
    out_values[k] = values[order[k]];
    if (!times.empty()) out_times[k] = times[order[k]];
  }
  return EventLog(rows, cols, std::move(indptr), std::move(out_items), std::move(out_values),
                  std::move(out_times), merge);
}

CsrMatrix EventLog::merged() const {
  RECKON_CHECK(rows() <= std::numeric_limits<std::uint32_t>::max(),
               "an event log of {} rows is too large to merge", rows());
  std::vector<std::uint32_t> rows_of(items_.size());
  for (index_t r = 0; r < rows(); ++r)
    std::fill(rows_of.begin() + indptr_[r], rows_of.begin() + indptr_[r + 1],
              static_cast<std::uint32_t>(r));
  return CsrMatrix::from_coordinates(rows(), cols_, std::move(rows_of),
                                     std::vector<std::uint32_t>(items_.begin(), items_.end()),
                                     values_, times_, merge_);
}

EventLog EventLog::filtered(const std::vector<bool>& keep) const {
  RECKON_ASSERT(keep.size() == items_.size());
  std::vector<index_t> indptr{0};
  std::vector<col_t> items;
  std::vector<float> values;
  std::vector<std::int64_t> times;
  indptr.reserve(indptr_.size());
  for (index_t r = 0; r < rows(); ++r) {
    for (index_t k = indptr_[r]; k < indptr_[r + 1]; ++k) {
      if (!keep[static_cast<std::size_t>(k)]) continue;
      items.push_back(items_[k]);
      values.push_back(values_[k]);
      if (!times_.empty()) times.push_back(times_[k]);
    }
    indptr.push_back(static_cast<index_t>(items.size()));
  }
  return EventLog(rows(), cols_, std::move(indptr), std::move(items), std::move(values),
                  std::move(times), merge_);
}

EventLog EventLog::restricted_to(const CsrMatrix& m) const {
  RECKON_ASSERT(m.rows() == rows() && m.cols() == cols_);
  std::vector<bool> keep(items_.size());
  for (index_t r = 0; r < rows(); ++r) {
    const auto idx = m.row_indices(r);
    for (index_t k = indptr_[r]; k < indptr_[r + 1]; ++k)
      keep[static_cast<std::size_t>(k)] = std::binary_search(idx.begin(), idx.end(), items_[k]);
  }
  return filtered(keep);
}

EventLog EventLog::select(std::span<const index_t> keep_rows,
                          std::span<const index_t> keep_cols) const {
  std::vector<index_t> new_col(static_cast<std::size_t>(cols_), -1);
  for (std::size_t c = 0; c < keep_cols.size(); ++c) {
    RECKON_ASSERT(keep_cols[c] >= 0 && keep_cols[c] < cols_);
    new_col[static_cast<std::size_t>(keep_cols[c])] = static_cast<index_t>(c);
  }
  std::vector<index_t> indptr{0};
  std::vector<col_t> items;
  std::vector<float> values;
  std::vector<std::int64_t> times;
  for (const index_t r : keep_rows) {
    RECKON_ASSERT(r >= 0 && r < rows());
    for (index_t k = indptr_[r]; k < indptr_[r + 1]; ++k) {
      const index_t c = new_col[static_cast<std::size_t>(items_[k])];
      if (c < 0) continue;
      items.push_back(static_cast<col_t>(c));
      values.push_back(values_[k]);
      if (!times_.empty()) times.push_back(times_[k]);
    }
    indptr.push_back(static_cast<index_t>(items.size()));
  }
  return EventLog(static_cast<index_t>(keep_rows.size()), static_cast<index_t>(keep_cols.size()),
                  std::move(indptr), std::move(items), std::move(values), std::move(times),
                  merge_);
}

void EventLog::check_matches(const CsrMatrix& m) const {
  RECKON_CHECK(m.rows() == rows() && m.cols() == cols_,
               "the event log is {}x{} but the interactions are {}x{}", rows(), cols_, m.rows(),
               m.cols());
  std::vector<col_t> distinct;
  for (index_t r = 0; r < rows(); ++r) {
    const auto row_items = row(r);
    distinct.assign(row_items.begin(), row_items.end());
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    const auto idx = m.row_indices(r);
    RECKON_CHECK(std::equal(distinct.begin(), distinct.end(), idx.begin(), idx.end()),
                 "the event log of row {} has other items than its interactions", r);
  }
}

}  // namespace reckon
