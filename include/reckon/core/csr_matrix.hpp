#pragma once
// Immutable sparse rows x cols matrix (users x items): per row, column indexes (32-bit col_t, so
// at most kMaxMatrixColumns columns) sorted ascending and unique, a float weight each, and
// optionally a unix timestamp each. The arrays are shared
// (SharedArray): copies and reweighted copies share their structure, and a matrix read from a
// .rkd file may view the file's pages in place.
#include <cstdint>
#include <span>
#include <vector>

#include "reckon/core/shared_array.hpp"
#include "reckon/core/types.hpp"

namespace reckon {

class BinaryWriter;
class BinaryReader;

// What to keep when the same (row, col) pair occurs more than once.
enum class DedupPolicy { kLast, kFirst, kSum, kMax };

class CsrMatrix {
 public:
  CsrMatrix() : indptr_(std::vector<index_t>{0}) {}
  // Takes ownership (vectors convert to SharedArray); validates shapes, ranges and ordering
  // (InvalidInput otherwise). `times` is empty or has one entry per nonzero.
  CsrMatrix(index_t rows, index_t cols, SharedArray<index_t> indptr, SharedArray<col_t> indices,
            SharedArray<float> values, SharedArray<std::int64_t> times = {});

  // Builds from unordered coordinate lists (all of equal length; times may be empty).
  // Duplicates are merged by `dedup`; "last"/"first" follow the timestamps, then input order.
  static CsrMatrix from_coordinates(index_t rows, index_t cols, std::vector<index_t> row_ids,
                                    std::vector<index_t> col_ids, std::vector<float> values,
                                    std::vector<std::int64_t> times, DedupPolicy dedup);
  // The same with 32-bit coordinates (what importers collect, to halve their memory).
  static CsrMatrix from_coordinates(index_t rows, index_t cols, std::vector<std::uint32_t> row_ids,
                                    std::vector<std::uint32_t> col_ids, std::vector<float> values,
                                    std::vector<std::int64_t> times, DedupPolicy dedup);

  // Rows whose columns are in another order (e.g. neighbours by similarity); only the shape and
  // column ranges are checked. Row-sorted operations (select, filtered) are not meant for these.
  static CsrMatrix unchecked(index_t rows, index_t cols, SharedArray<index_t> indptr,
                             SharedArray<col_t> indices, SharedArray<float> values);

  index_t rows() const noexcept { return rows_; }
  index_t cols() const noexcept { return cols_; }
  index_t nnz() const noexcept { return static_cast<index_t>(indices_.size()); }
  bool has_times() const noexcept { return !times_.empty(); }

  index_t row_size(index_t r) const { return indptr_[r + 1] - indptr_[r]; }
  std::span<const col_t> row_indices(index_t r) const {
    return {indices_.data() + indptr_[r], static_cast<std::size_t>(row_size(r))};
  }
  std::span<const float> row_values(index_t r) const {
    return {values_.data() + indptr_[r], static_cast<std::size_t>(row_size(r))};
  }
  // Empty when the matrix has no timestamps.
  std::span<const std::int64_t> row_times(index_t r) const {
    if (times_.empty()) return {};
    return {times_.data() + indptr_[r], static_cast<std::size_t>(row_size(r))};
  }

  std::span<const index_t> indptr() const noexcept { return indptr_; }
  std::span<const col_t> indices() const noexcept { return indices_; }
  std::span<const float> values() const noexcept { return values_; }
  std::span<const std::int64_t> times() const noexcept { return times_; }

  // Columns x rows, with the same weights and timestamps (item-major access).
  CsrMatrix transposed() const;
  // Same structure (shared, not copied) with new weights (one per nonzero).
  CsrMatrix with_values(std::vector<float> values) const;
  // Same structure and weights (shared) without the timestamps.
  CsrMatrix without_times() const {
    CsrMatrix m = *this;
    m.times_ = {};
    return m;
  }
  // Same shape with one more column/row count (e.g. items only seen in a test file).
  CsrMatrix resized(index_t rows, index_t cols) const;
  // Keeps the nonzeros where keep[k] is true.
  CsrMatrix filtered(const std::vector<bool>& keep) const;
  // Submatrix of the given rows and columns (old indexes, in new order); others dropped.
  CsrMatrix select(std::span<const index_t> rows, std::span<const index_t> cols) const;
  // Row of each nonzero (the COO row ids).
  std::vector<index_t> row_ids() const;
  // Nonzeros per column (an item's number of users).
  std::vector<index_t> column_counts() const;

  bool operator==(const CsrMatrix&) const = default;

  // Model-file serialisation: shape, row pointers, columns, values (no times). The columns are
  // written 64-bit (as model files have held them since format 1). read() checks every pointer
  // and index (unordered columns allowed unless `sorted_columns`).
  void write(BinaryWriter& w) const;
  static CsrMatrix read(BinaryReader& r, bool sorted_columns);

 private:
  index_t rows_ = 0;
  index_t cols_ = 0;
  SharedArray<index_t> indptr_;
  SharedArray<col_t> indices_;
  SharedArray<float> values_;
  SharedArray<std::int64_t> times_;
};

}  // namespace reckon
