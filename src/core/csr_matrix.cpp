#include "reckon/core/csr_matrix.hpp"

#include <algorithm>
#include <numeric>

#include "reckon/core/error.hpp"

namespace reckon {

CsrMatrix::CsrMatrix(index_t rows, index_t cols, std::vector<index_t> indptr,
                     std::vector<index_t> indices, std::vector<float> values,
                     std::vector<std::int64_t> times)
    : rows_(rows),
      cols_(cols),
      indptr_(std::move(indptr)),
      indices_(std::move(indices)),
      values_(std::move(values)),
      times_(std::move(times)) {
  RECKON_CHECK(rows_ >= 0 && cols_ >= 0, "matrix shape must be non-negative, got {}x{}", rows_,
               cols_);
  RECKON_CHECK(indptr_.size() == static_cast<std::size_t>(rows_) + 1,
               "matrix row pointer has {} entries, expected {}", indptr_.size(), rows_ + 1);
  RECKON_CHECK(indptr_.front() == 0 && indptr_.back() == static_cast<index_t>(indices_.size()),
               "matrix row pointer does not span the {} nonzeros", indices_.size());
  RECKON_CHECK(values_.size() == indices_.size(), "matrix has {} values for {} nonzeros",
               values_.size(), indices_.size());
  RECKON_CHECK(times_.empty() || times_.size() == indices_.size(),
               "matrix has {} timestamps for {} nonzeros", times_.size(), indices_.size());
  for (index_t r = 0; r < rows_; ++r) {
    RECKON_CHECK(indptr_[r] <= indptr_[r + 1], "matrix row pointer decreases at row {}", r);
    index_t prev = -1;
    for (index_t k = indptr_[r]; k < indptr_[r + 1]; ++k) {
      const index_t c = indices_[k];
      RECKON_CHECK(c > prev && c < cols_, "matrix row {} has column {} out of order or range", r,
                   c);
      prev = c;
    }
  }
}

CsrMatrix CsrMatrix::from_coordinates(index_t rows, index_t cols, std::vector<index_t> row_ids,
                                      std::vector<index_t> col_ids, std::vector<float> values,
                                      std::vector<std::int64_t> times, DedupPolicy dedup) {
  const std::size_t n = row_ids.size();
  RECKON_CHECK(col_ids.size() == n && values.size() == n && (times.empty() || times.size() == n),
               "coordinate lists differ in length");
  const bool timed = !times.empty();

  // Counting sort by row keeps input order within a row (stable), which "first"/"last" rely on.
  std::vector<index_t> indptr(static_cast<std::size_t>(rows) + 1, 0);
  for (index_t r : row_ids) {
    RECKON_CHECK(r >= 0 && r < rows, "row {} out of range [0, {})", r, rows);
    ++indptr[r + 1];
  }
  std::partial_sum(indptr.begin(), indptr.end(), indptr.begin());
  std::vector<std::size_t> order(n);
  {
    std::vector<index_t> cursor(indptr.begin(), indptr.end() - 1);
    for (std::size_t k = 0; k < n; ++k) order[cursor[row_ids[k]]++] = k;
  }
  row_ids.clear();
  row_ids.shrink_to_fit();

  std::vector<index_t> out_indptr(static_cast<std::size_t>(rows) + 1, 0);
  std::vector<index_t> out_indices;
  std::vector<float> out_values;
  std::vector<std::int64_t> out_times;
  out_indices.reserve(n);
  out_values.reserve(n);
  if (timed) out_times.reserve(n);

  for (index_t r = 0; r < rows; ++r) {
    auto begin = order.begin() + indptr[r];
    auto end = order.begin() + indptr[r + 1];
    // Within a row: by column, then by time, then by input position.
    std::sort(begin, end, [&](std::size_t a, std::size_t b) {
      if (col_ids[a] != col_ids[b]) return col_ids[a] < col_ids[b];
      if (timed && times[a] != times[b]) return times[a] < times[b];
      return a < b;
    });
    for (auto it = begin; it != end;) {
      const index_t c = col_ids[*it];
      RECKON_CHECK(c >= 0 && c < cols, "column {} out of range [0, {})", c, cols);
      auto last = it;
      float v = values[*it];
      while (last + 1 != end && col_ids[*(last + 1)] == c) {
        ++last;
        switch (dedup) {
          case DedupPolicy::kSum: v += values[*last]; break;
          case DedupPolicy::kMax: v = std::max(v, values[*last]); break;
          case DedupPolicy::kLast: v = values[*last]; break;
          case DedupPolicy::kFirst: break;
        }
      }
      out_indices.push_back(c);
      out_values.push_back(v);
      if (timed) {
        // The kept timestamp: the first occurrence for "first", otherwise the latest.
        out_times.push_back(dedup == DedupPolicy::kFirst ? times[*it] : times[*last]);
      }
      it = last + 1;
    }
    out_indptr[r + 1] = static_cast<index_t>(out_indices.size());
  }
  return CsrMatrix(rows, cols, std::move(out_indptr), std::move(out_indices),
                   std::move(out_values), std::move(out_times));
}

CsrMatrix CsrMatrix::transposed() const {
  std::vector<index_t> indptr(static_cast<std::size_t>(cols_) + 1, 0);
  for (index_t c : indices_) ++indptr[c + 1];
  std::partial_sum(indptr.begin(), indptr.end(), indptr.begin());
  std::vector<index_t> indices(indices_.size());
  std::vector<float> values(values_.size());
  std::vector<std::int64_t> times(times_.size());
  std::vector<index_t> cursor(indptr.begin(), indptr.end() - 1);
  for (index_t r = 0; r < rows_; ++r) {
    for (index_t k = indptr_[r]; k < indptr_[r + 1]; ++k) {
      const index_t dst = cursor[indices_[k]]++;
      indices[dst] = r;  // rows visited in order, so each transposed row is sorted
      values[dst] = values_[k];
      if (!times_.empty()) times[dst] = times_[k];
    }
  }
  return CsrMatrix(cols_, rows_, std::move(indptr), std::move(indices), std::move(values),
                   std::move(times));
}

CsrMatrix CsrMatrix::with_values(std::vector<float> values) const {
  return CsrMatrix(rows_, cols_, indptr_, indices_, std::move(values), times_);
}

CsrMatrix CsrMatrix::resized(index_t rows, index_t cols) const {
  RECKON_CHECK(rows >= rows_ && cols >= cols_, "a matrix can only grow, not shrink");
  std::vector<index_t> indptr = indptr_;
  indptr.resize(static_cast<std::size_t>(rows) + 1, indptr_.back());
  return CsrMatrix(rows, cols, std::move(indptr), indices_, values_, times_);
}

CsrMatrix CsrMatrix::filtered(const std::vector<bool>& keep) const {
  RECKON_ASSERT(keep.size() == indices_.size());
  std::vector<index_t> indptr(static_cast<std::size_t>(rows_) + 1, 0);
  std::vector<index_t> indices;
  std::vector<float> values;
  std::vector<std::int64_t> times;
  for (index_t r = 0; r < rows_; ++r) {
    for (index_t k = indptr_[r]; k < indptr_[r + 1]; ++k) {
      if (!keep[k]) continue;
      indices.push_back(indices_[k]);
      values.push_back(values_[k]);
      if (!times_.empty()) times.push_back(times_[k]);
    }
    indptr[r + 1] = static_cast<index_t>(indices.size());
  }
  return CsrMatrix(rows_, cols_, std::move(indptr), std::move(indices), std::move(values),
                   std::move(times));
}

CsrMatrix CsrMatrix::select(std::span<const index_t> rows, std::span<const index_t> cols) const {
  std::vector<index_t> new_col(static_cast<std::size_t>(cols_), -1);
  for (std::size_t j = 0; j < cols.size(); ++j) new_col[cols[j]] = static_cast<index_t>(j);
  std::vector<index_t> indptr(rows.size() + 1, 0);
  std::vector<std::pair<index_t, std::size_t>> row_entries;
  std::vector<index_t> indices;
  std::vector<float> values;
  std::vector<std::int64_t> times;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const index_t r = rows[i];
    row_entries.clear();
    for (index_t k = indptr_[r]; k < indptr_[r + 1]; ++k) {
      const index_t c = new_col[indices_[k]];
      if (c >= 0) row_entries.emplace_back(c, static_cast<std::size_t>(k));
    }
    std::sort(row_entries.begin(), row_entries.end());
    for (auto [c, k] : row_entries) {
      indices.push_back(c);
      values.push_back(values_[k]);
      if (!times_.empty()) times.push_back(times_[k]);
    }
    indptr[i + 1] = static_cast<index_t>(indices.size());
  }
  return CsrMatrix(static_cast<index_t>(rows.size()), static_cast<index_t>(cols.size()),
                   std::move(indptr), std::move(indices), std::move(values), std::move(times));
}

std::vector<index_t> CsrMatrix::row_ids() const {
  std::vector<index_t> out(indices_.size());
  for (index_t r = 0; r < rows_; ++r)
    std::fill(out.begin() + indptr_[r], out.begin() + indptr_[r + 1], r);
  return out;
}

}  // namespace reckon
