#pragma once
// Internal to io/: an external merge sort of interaction rows. An import of more rows than it
// should hold sorts each chunk of rows by (user, item, time, input position), appends it to an
// unlinked temporary file as a run, and at the end merges the runs straight into the CSR
// matrix: memory holds one chunk and the result, not every parsed row.
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "reckon/core/csr_matrix.hpp"

namespace reckon::detail {

class SortedRuns {
 public:
  // The file is created in `dir` and unlinked at once: nothing is left behind, even on a crash.
  explicit SortedRuns(const std::filesystem::path& dir);
  ~SortedRuns();
  SortedRuns(const SortedRuns&) = delete;
  SortedRuns& operator=(const SortedRuns&) = delete;

  // Sorts one chunk (equal lengths; `times` empty or one per row) and appends it as a run.
  void add_run(std::span<const std::uint32_t> users, std::span<const std::uint32_t> items,
               std::span<const float> values, std::span<const std::int64_t> times);
  std::size_t runs() const noexcept { return runs_.size(); }
  std::size_t rows() const noexcept { return rows_; }

  // Every run merged into one matrix, duplicates merged by `dedup` exactly as
  // CsrMatrix::from_coordinates would over the rows in input order (same folding order, so
  // the same sums). Every run must carry times, or none.
  CsrMatrix merge(index_t rows, index_t cols, DedupPolicy dedup) const;

 private:
  struct Run {
    std::uint64_t offset = 0;  // bytes into the file
    std::uint64_t rows = 0;
    bool timed = false;
  };
  class Reader;
  void write_all(const char* data, std::size_t size);

  int fd_ = -1;
  std::string name_;  // the directory, for messages
  std::uint64_t end_ = 0;
  std::size_t rows_ = 0;
  std::vector<Run> runs_;
};

}  // namespace reckon::detail
