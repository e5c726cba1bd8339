#pragma once
// Collects interactions as parsers read them (external ids interned on the fly) and builds the
// CSR matrix at the end. Several parts (a train and a test file) can share one id space.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>
#include <vector>

#include "reckon/core/dataset.hpp"

namespace reckon {

namespace detail {
class SortedRuns;
}

class InteractionBuilder {
 public:
  // `max_memory`: bytes the import may take (0: no limit). A file that would need more, such as
  // a small gzip that expands to gigabytes of valid rows, is refused with a clear error instead
  // of exhausting the machine.
  //
  // `spill_rows`: once this many rows are held, they are sorted and written to a temporary file
  // (in TMPDIR) as a run, and build() merges the runs into the matrix: an import of any size
  // holds one chunk of rows and the result. 0: every row stays in memory (needed by
  // build_parts() and by build() with `keep_events`, which see the rows in input order).
  explicit InteractionBuilder(std::size_t max_memory = 0,
                              std::size_t spill_rows = kDefaultSpillRows);
  ~InteractionBuilder();
  InteractionBuilder(InteractionBuilder&&) noexcept;
  InteractionBuilder& operator=(InteractionBuilder&&) noexcept;
  // 16.8M rows: 200-340 MB of parsed rows, plus the sort's 20 bytes a row. Imports of fewer
  // rows never touch the disk (runs cost 20-30% of a 10M-row import's time); at 100M rows
  // runs of 8M saved 0.1 GB more than these but took 10% longer.
  static constexpr std::size_t kDefaultSpillRows = std::size_t{1} << 24;
  // What the rows and ids read so far will take once built (the build's peak included).
  std::size_t estimated_bytes() const noexcept;

  index_t user(std::string_view id) { return users_.intern(id); }
  index_t item(std::string_view id) { return items_.intern(id); }
  // `time` is kNoTime when the source has none.
  void add(index_t user, index_t item, float value, std::int64_t time = kNoTime);
  // Reserves room for n rows, at most what the memory budget allows (a gzip trailer's size
  // claim or a file size is a hint, not a promise).
  void reserve(std::size_t n);
  // Ends the current part; later rows go to the next one.
  void end_part();

  IdMap& users() noexcept { return users_; }
  IdMap& items() noexcept { return items_; }
  std::size_t size() const noexcept;
  // Rows sorted into runs on disk so far (0 while everything fits in one chunk).
  std::size_t spilled_rows() const noexcept;

  // All rows of all parts in one matrix. Feature tables get the right row counts, no columns.
  // `keep_events`: also the event log, every row in time order with its repeats.
  Dataset build(DedupPolicy dedup, std::string name, bool explicit_ratings,
                bool keep_events = false);
  // One matrix per part (each users x items over the shared id space), duplicates merged within
  // a part. The id maps are moved into `ids` (its interactions are left empty).
  std::vector<CsrMatrix> build_parts(DedupPolicy dedup, Dataset& ids, bool explicit_ratings);

 private:
  CsrMatrix build_range(std::size_t begin, std::size_t end, DedupPolicy dedup) const;
  void check_budget() const;
  void spill();
  bool timed() const noexcept { return timed_rows_ > 0; }

  std::size_t max_memory_ = 0;
  std::size_t spill_rows_ = 0;
  std::unique_ptr<detail::SortedRuns> runs_;  // rows written out so far, if any

  IdMap users_, items_;
  // 32-bit while collecting: id maps beyond 4 billion entries are not a use case, memory is.
  std::vector<std::uint32_t> user_ids_, item_ids_;
  std::vector<float> values_;
  std::vector<std::int64_t> times_;
  std::size_t timed_rows_ = 0;
  std::vector<std::size_t> part_ends_;
};

}  // namespace reckon
