#include "reckon/core/csr_matrix.hpp"

#include "reckon/core/binary_io.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <numeric>

#include "reckon/core/error.hpp"

namespace reckon {

CsrMatrix::CsrMatrix(index_t rows, index_t cols, SharedArray<index_t> indptr,
                     SharedArray<col_t> indices, SharedArray<float> values,
                     SharedArray<std::int64_t> times)
    : rows_(rows),
      cols_(cols),
      indptr_(std::move(indptr)),
      indices_(std::move(indices)),
      values_(std::move(values)),
      times_(std::move(times)) {
  RECKON_CHECK(rows_ >= 0 && cols_ >= 0, "matrix shape must be non-negative, got {}x{}", rows_,
               cols_);
  RECKON_CHECK(cols_ <= kMaxMatrixColumns, "a matrix has at most {} columns, got {}",
               kMaxMatrixColumns, cols_);
  RECKON_CHECK(indptr_.size() == static_cast<std::size_t>(rows_) + 1,
               "matrix row pointer has {} entries, expected {}", indptr_.size(), rows_ + 1);
  RECKON_CHECK(indptr_.front() == 0 && indptr_.back() == static_cast<index_t>(indices_.size()),
               "matrix row pointer does not span the {} nonzeros", indices_.size());
  RECKON_CHECK(values_.size() == indices_.size(), "matrix has {} values for {} nonzeros",
               values_.size(), indices_.size());
  RECKON_CHECK(times_.empty() || times_.size() == indices_.size(),
               "matrix has {} timestamps for {} nonzeros", times_.size(), indices_.size());
  // Every row pointer is checked before any row is read: a pointer beyond the nonzeros with a
  // smaller one after it passes a row-by-row check and reads past the end.
  for (index_t r = 0; r < rows_; ++r)
    RECKON_CHECK(indptr_[r] <= indptr_[r + 1], "matrix row pointer decreases at row {}", r);
  for (float v : values_)
    RECKON_CHECK(std::isfinite(v), "matrix has a weight that is not a finite number ({})", v);
  for (index_t r = 0; r < rows_; ++r) {
    index_t prev = -1;
    for (index_t k = indptr_[r]; k < indptr_[r + 1]; ++k) {
      const index_t c = indices_[k];
      RECKON_CHECK(c > prev && c < cols_, "matrix row {} has column {} out of order or range", r,
                   c);
      prev = c;
    }
  }
}

namespace {

// Groups coordinates by row with a stable counting sort (scatter), frees the inputs, then sorts
// and merges each row in place. Peak memory: inputs + one row-grouped copy (32-bit columns),
// which becomes the matrix.
template <typename Id>
CsrMatrix build_csr(index_t rows, index_t cols, std::vector<Id>&& row_ids,
                    std::vector<Id>&& col_ids, std::vector<float>&& values,
                    std::vector<std::int64_t>&& times, DedupPolicy dedup) {
  const std::size_t n = row_ids.size();
  RECKON_CHECK(col_ids.size() == n && values.size() == n && (times.empty() || times.size() == n),
               "coordinate lists differ in length");
  const bool timed = !times.empty();
  std::vector<index_t> indptr(static_cast<std::size_t>(rows) + 1, 0);
  for (std::size_t k = 0; k < n; ++k) {
    const auto r = static_cast<index_t>(row_ids[k]);
    RECKON_CHECK(r >= 0 && r < rows, "row {} out of range [0, {})", r, rows);
    RECKON_CHECK(static_cast<index_t>(col_ids[k]) >= 0 && static_cast<index_t>(col_ids[k]) < cols,
                 "column {} out of range [0, {})", static_cast<index_t>(col_ids[k]), cols);
    ++indptr[r + 1];
  }
  std::partial_sum(indptr.begin(), indptr.end(), indptr.begin());
  std::vector<col_t> cidx(n);
  std::vector<float> vals(n);
  std::vector<std::int64_t> tms(timed ? n : 0);
  {
    std::vector<index_t> cursor(indptr.begin(), indptr.end() - 1);
    for (std::size_t k = 0; k < n; ++k) {
      const index_t dst = cursor[static_cast<index_t>(row_ids[k])]++;
      cidx[dst] = static_cast<col_t>(col_ids[k]);
      vals[dst] = values[k];
      if (timed) tms[dst] = times[k];
    }
  }
  // Release the inputs before the per-row work.
  std::vector<Id>().swap(row_ids);
  std::vector<Id>().swap(col_ids);
  std::vector<float>().swap(values);
  std::vector<std::int64_t>().swap(times);

  // Within a row: by column, then by time, then by input position (kept by the stable scatter).
  std::vector<std::uint32_t> order;
  std::vector<col_t> tmp_c;
  std::vector<float> tmp_v;
  std::vector<std::int64_t> tmp_t;
  index_t out = 0;
  std::vector<index_t> new_indptr(static_cast<std::size_t>(rows) + 1, 0);
  for (index_t r = 0; r < rows; ++r) {
    const index_t begin = indptr[r], end = indptr[r + 1];
    const auto len = static_cast<std::size_t>(end - begin);
    const col_t* c = cidx.data() + begin;
    bool sorted = true;
    for (std::size_t k = 1; k < len && sorted; ++k) sorted = c[k - 1] < c[k];
    if (sorted) {
      // Already strictly increasing: no duplicates, just compact.
      if (out != begin) {
        std::copy(cidx.begin() + begin, cidx.begin() + end, cidx.begin() + out);
        std::copy(vals.begin() + begin, vals.begin() + end, vals.begin() + out);
        if (timed) std::copy(tms.begin() + begin, tms.begin() + end, tms.begin() + out);
      }
      out += static_cast<index_t>(len);
      new_indptr[r + 1] = out;
      continue;
    }
    order.resize(len);
    std::iota(order.begin(), order.end(), 0u);
    std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
      if (c[a] != c[b]) return c[a] < c[b];
      if (timed && tms[begin + a] != tms[begin + b]) return tms[begin + a] < tms[begin + b];
      return a < b;
    });
    tmp_c.assign(cidx.begin() + begin, cidx.begin() + end);
    tmp_v.assign(vals.begin() + begin, vals.begin() + end);
    if (timed) tmp_t.assign(tms.begin() + begin, tms.begin() + end);
    for (std::size_t k = 0; k < len;) {
      const col_t col = tmp_c[order[k]];
      std::size_t last = k;
      float v = tmp_v[order[k]];
      while (last + 1 < len && tmp_c[order[last + 1]] == col) {
        ++last;
        switch (dedup) {
          case DedupPolicy::kSum:
            v += tmp_v[order[last]];
            break;
          case DedupPolicy::kMax:
            v = std::max(v, tmp_v[order[last]]);
            break;
          case DedupPolicy::kLast:
            v = tmp_v[order[last]];
            break;
          case DedupPolicy::kFirst:
            break;
        }
      }
      cidx[out] = col;
      vals[out] = v;
      // The kept timestamp: the first occurrence for "first", otherwise the latest.
      if (timed) tms[out] = dedup == DedupPolicy::kFirst ? tmp_t[order[k]] : tmp_t[order[last]];
      ++out;
      k = last + 1;
    }
    new_indptr[r + 1] = out;
  }
  cidx.resize(static_cast<std::size_t>(out));
  cidx.shrink_to_fit();
  vals.resize(static_cast<std::size_t>(out));
  vals.shrink_to_fit();
  if (timed) {
    tms.resize(static_cast<std::size_t>(out));
    tms.shrink_to_fit();
  }
  return CsrMatrix(rows, cols, std::move(new_indptr), std::move(cidx), std::move(vals),
                   std::move(tms));
}

}  // namespace

CsrMatrix CsrMatrix::from_coordinates(index_t rows, index_t cols, std::vector<index_t> row_ids,
                                      std::vector<index_t> col_ids, std::vector<float> values,
                                      std::vector<std::int64_t> times, DedupPolicy dedup) {
  return build_csr(rows, cols, std::move(row_ids), std::move(col_ids), std::move(values),
                   std::move(times), dedup);
}

CsrMatrix CsrMatrix::from_coordinates(index_t rows, index_t cols,
                                      std::vector<std::uint32_t> row_ids,
                                      std::vector<std::uint32_t> col_ids, std::vector<float> values,
                                      std::vector<std::int64_t> times, DedupPolicy dedup) {
  return build_csr(rows, cols, std::move(row_ids), std::move(col_ids), std::move(values),
                   std::move(times), dedup);
}

CsrMatrix CsrMatrix::unchecked(index_t rows, index_t cols, SharedArray<index_t> indptr,
                               SharedArray<col_t> indices, SharedArray<float> values) {
  RECKON_CHECK(rows >= 0 && cols >= 0 && cols <= kMaxMatrixColumns &&
                   indptr.size() == static_cast<std::size_t>(rows) + 1 &&
                   indptr.front() == 0 && indptr.back() == static_cast<index_t>(indices.size()) &&
                   values.size() == indices.size(),
               "sparse matrix arrays do not fit together");
  for (index_t r = 0; r < rows; ++r)
    RECKON_CHECK(indptr[r] <= indptr[r + 1], "sparse matrix row pointer decreases");
  for (float v : values)
    RECKON_CHECK(std::isfinite(v), "sparse matrix has a value that is not a finite number");
  for (col_t c : indices)
    RECKON_CHECK(c >= 0 && c < cols, "sparse matrix column {} out of range", c);
  CsrMatrix m;
  m.rows_ = rows;
  m.cols_ = cols;
  m.indptr_ = std::move(indptr);
  m.indices_ = std::move(indices);
  m.values_ = std::move(values);
  return m;
}

CsrMatrix CsrMatrix::transposed() const {
  std::vector<index_t> indptr(static_cast<std::size_t>(cols_) + 1, 0);
  for (col_t c : indices_) ++indptr[c + 1];
  std::partial_sum(indptr.begin(), indptr.end(), indptr.begin());
  RECKON_CHECK(rows_ <= kMaxMatrixColumns, "a matrix of {} rows cannot be transposed (at most {})",
               rows_, kMaxMatrixColumns);
  std::vector<col_t> indices(indices_.size());
  std::vector<float> values(values_.size());
  std::vector<std::int64_t> times(times_.size());
  std::vector<index_t> cursor(indptr.begin(), indptr.end() - 1);
  for (index_t r = 0; r < rows_; ++r) {
    for (index_t k = indptr_[r]; k < indptr_[r + 1]; ++k) {
      const index_t dst = cursor[indices_[k]]++;
      // Rows visited in order, so each transposed row is sorted.
      indices[dst] = static_cast<col_t>(r);
      values[dst] = values_[k];
      if (!times_.empty()) times[dst] = times_[k];
    }
  }
  return CsrMatrix(cols_, rows_, std::move(indptr), std::move(indices), std::move(values),
                   std::move(times));
}

CsrMatrix CsrMatrix::with_values(std::vector<float> values) const {
  // The structure was checked when this matrix was made: only the new weights need checking.
  RECKON_CHECK(values.size() == indices_.size(), "matrix has {} values for {} nonzeros",
               values.size(), indices_.size());
  for (float v : values)
    RECKON_CHECK(std::isfinite(v), "matrix has a weight that is not a finite number ({})", v);
  CsrMatrix m = *this;
  m.values_ = std::move(values);
  return m;
}

CsrMatrix CsrMatrix::resized(index_t rows, index_t cols) const {
  RECKON_CHECK(rows >= rows_ && cols >= cols_, "a matrix can only grow, not shrink");
  if (rows == rows_) {
    CsrMatrix m = *this;  // more columns only: the arrays stay valid and shared
    m.cols_ = cols;
    return m;
  }
  std::vector<index_t> indptr = indptr_.to_vector();
  indptr.resize(static_cast<std::size_t>(rows) + 1, indptr_.back());
  return CsrMatrix(rows, cols, std::move(indptr), indices_, values_, times_);
}

CsrMatrix CsrMatrix::filtered(const std::vector<bool>& keep) const {
  RECKON_ASSERT(keep.size() == indices_.size());
  std::vector<index_t> indptr(static_cast<std::size_t>(rows_) + 1, 0);
  std::vector<col_t> indices;
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
  std::vector<col_t> indices;
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
      indices.push_back(static_cast<col_t>(c));
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

void CsrMatrix::write(BinaryWriter& w) const {
  w.put<index_t>(rows_);
  w.put<index_t>(cols_);
  w.put_vector(indptr_.span());
  // The columns as put_vector writes 64-bit ones, widened a block at a time (a whole widened copy
  // of a large neighbour matrix would double it while it is saved).
  w.put<std::uint64_t>(indices_.size());
  std::array<index_t, 4096> block;
  for (std::size_t k = 0; k < indices_.size(); k += block.size()) {
    const std::size_t n = std::min(block.size(), indices_.size() - k);
    std::copy_n(indices_.begin() + k, n, block.begin());
    w.put_raw(std::string_view(reinterpret_cast<const char*>(block.data()), n * sizeof(index_t)));
  }
  w.put_vector(values_.span());
}

CsrMatrix CsrMatrix::read(BinaryReader& r, bool sorted_columns) {
  const auto rows = r.get<index_t>(), cols = r.get<index_t>();
  auto indptr = r.get_vector<index_t>();
  RECKON_CHECK(cols >= 0 && cols <= kMaxMatrixColumns, "{}: corrupt sparse matrix ({} columns)",
               r.what(), cols);
  // The 64-bit columns narrowed as they are read, each checked first: one that does not fit
  // must not wrap around into a valid column.
  const auto n = r.get<std::uint64_t>();
  // Bounded so that the byte count cannot overflow; the bytes must be there before the allocation.
  RECKON_CHECK(n <= (std::uint64_t{1} << 60), "{}: corrupt sparse matrix ({} entries)", r.what(),
               n);
  const std::string_view bytes = r.get_bytes(n * sizeof(index_t));
  std::vector<col_t> indices(n);
  for (std::size_t k = 0; k < n; ++k) {
    index_t c;
    std::memcpy(&c, bytes.data() + k * sizeof(index_t), sizeof c);
    RECKON_CHECK(c >= 0 && c < cols, "{}: corrupt sparse matrix (column {})", r.what(), c);
    indices[k] = static_cast<col_t>(c);
  }
  auto values = r.get_vector<float>();
  if (sorted_columns)
    return CsrMatrix(rows, cols, std::move(indptr), std::move(indices), std::move(values));
  return unchecked(rows, cols, std::move(indptr), std::move(indices), std::move(values));
}

std::vector<index_t> CsrMatrix::column_counts() const {
  std::vector<index_t> out(static_cast<std::size_t>(cols_), 0);
  for (col_t c : indices_) ++out[c];
  return out;
}

}  // namespace reckon
