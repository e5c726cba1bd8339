#pragma once
// Every event of every user, in time order, repeats kept: the ordered sequence a session-based
// or sequential model reads (a user who played one song five times has five events), beside the
// interactions matrix, which merges them into one entry per (user, item). Optional: a dataset
// imported with --keep-repeats has one; otherwise it is empty and models read the matrix.
#include <cstdint>
#include <span>
#include <vector>

#include "reckon/core/csr_matrix.hpp"

namespace reckon {

class EventLog {
 public:
  EventLog() = default;
  // Takes ownership and checks everything (InvalidInput): `indptr` has rows + 1 non-decreasing
  // offsets from 0 to the event count, items lie in [0, cols), `values` has one per event,
  // `times` is empty or has one per event and is non-decreasing within each row.
  EventLog(index_t rows, index_t cols, std::vector<index_t> indptr, std::vector<col_t> items,
           std::vector<float> values, std::vector<std::int64_t> times, DedupPolicy merge);
  // From unordered events (equal lengths; times may be empty): each row ordered by time, ties and
  // rows without times in the given order.
  static EventLog from_events(index_t rows, index_t cols, const std::vector<std::uint32_t>& row_ids,
                              const std::vector<std::uint32_t>& items,
                              const std::vector<float>& values,
                              const std::vector<std::int64_t>& times, DedupPolicy merge);

  // No log at all (a dataset without --keep-repeats), not a log of users without events.
  bool empty() const noexcept { return indptr_.size() <= 1; }
  index_t rows() const noexcept { return static_cast<index_t>(indptr_.size()) - 1; }
  index_t cols() const noexcept { return cols_; }
  index_t size() const noexcept { return static_cast<index_t>(items_.size()); }
  bool has_times() const noexcept { return !times_.empty(); }
  // How the matrix merges a row's repeated items (the import's --dedup).
  DedupPolicy merge() const noexcept { return merge_; }

  index_t row_size(index_t r) const { return indptr_[r + 1] - indptr_[r]; }
  std::span<const col_t> row(index_t r) const {
    return {items_.data() + indptr_[r], static_cast<std::size_t>(row_size(r))};
  }
  std::span<const float> row_values(index_t r) const {
    return {values_.data() + indptr_[r], static_cast<std::size_t>(row_size(r))};
  }
  std::span<const std::int64_t> row_times(index_t r) const {  // empty without times
    if (times_.empty()) return {};
    return {times_.data() + indptr_[r], static_cast<std::size_t>(row_size(r))};
  }
  const std::vector<index_t>& indptr() const noexcept { return indptr_; }
  const std::vector<col_t>& items() const noexcept { return items_; }
  const std::vector<float>& values() const noexcept { return values_; }
  const std::vector<std::int64_t>& times() const noexcept { return times_; }

  // The interactions matrix of these events: one entry per (row, item), merged by merge().
  CsrMatrix merged() const;
  // Keeps the events where keep[k] is true (k indexes events in row order).
  EventLog filtered(const std::vector<bool>& keep) const;
  // Keeps the events whose (row, item) is an entry of `m` (same shape).
  EventLog restricted_to(const CsrMatrix& m) const;
  // The given rows and columns (old indexes, in new order); events of other items dropped.
  EventLog select(std::span<const index_t> rows, std::span<const index_t> cols) const;
  // Throws InvalidInput unless `m` has exactly the entries these events merge into (the same
  // items in every row), which a dataset needs of its matrix and its log.
  void check_matches(const CsrMatrix& m) const;

  bool operator==(const EventLog&) const = default;

 private:
  index_t cols_ = 0;
  std::vector<index_t> indptr_{0};
  std::vector<col_t> items_;
  std::vector<float> values_;
  std::vector<std::int64_t> times_;
  DedupPolicy merge_ = DedupPolicy::kLast;
};

}  // namespace reckon
