#include "sorted_runs.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <queue>
#include <tuple>
#include <utility>

#include "reckon/core/error.hpp"
#include "reckon/core/progress.hpp"

namespace reckon::detail {
namespace {

// On disk a row is user, item, value (12 bytes), and its time (8 more) in a timed run.
constexpr std::size_t kUntimedBytes = 12;
constexpr std::size_t kTimedBytes = 20;
constexpr std::size_t kRowsPerRead = 1 << 16;  // a run is read back 0.8-1.3 MB at a time

struct Row {
  std::uint32_t user = 0, item = 0;
  std::int64_t time = kNoTime;
  float value = 0;
};

// (user, item, time): the order of CsrMatrix::from_coordinates within a row; input order
// breaks the remaining ties (the position within a chunk, then the run's number).
bool before(const Row& a, const Row& b) {
  return std::tie(a.user, a.item, a.time) < std::tie(b.user, b.item, b.time);
}

// The order of a chunk's rows by (user, item, time, position): a stable radix sort of
// (user, position) pairs on the user's two 16-bit halves, then each user's few rows sorted by
// (item, time, position) unless they already are. A comparison sort of the whole chunk took
// a third of an import's time.
std::vector<std::uint32_t> sorted_order(std::span<const std::uint32_t> users,
                                        std::span<const std::uint32_t> items,
                                        std::span<const std::int64_t> times) {
  const std::size_t n = users.size();
  RECKON_ASSERT(n < (std::size_t{1} << 32));
  std::vector<std::uint64_t> keys(n), scratch(n);
  std::uint32_t max_user = 0;
  for (std::size_t k = 0; k < n; ++k) {
    keys[k] = (std::uint64_t{users[k]} << 32) | k;
    max_user = std::max(max_user, users[k]);
  }
  for (const int shift : {32, 48}) {
    if (shift == 48 && max_user < (1u << 16)) break;
    std::vector<std::size_t> start(1 << 16, 0);
    for (const std::uint64_t key : keys) ++start[(key >> shift) & 0xffff];
    std::size_t sum = 0;
    for (std::size_t& s : start) sum += std::exchange(s, sum);
    for (const std::uint64_t key : keys) scratch[start[(key >> shift) & 0xffff]++] = key;
    keys.swap(scratch);
  }
  std::vector<std::uint64_t>().swap(scratch);
  std::vector<std::uint32_t> order(n);
  for (std::size_t k = 0; k < n; ++k) order[k] = static_cast<std::uint32_t>(keys[k]);
  std::vector<std::uint64_t>().swap(keys);
  auto time_of = [&](std::uint32_t k) { return times.empty() ? kNoTime : times[k]; };
  auto earlier = [&](std::uint32_t a, std::uint32_t b) {
    if (items[a] != items[b]) return items[a] < items[b];
    if (time_of(a) != time_of(b)) return time_of(a) < time_of(b);
    return a < b;
  };
  for (std::size_t begin = 0; begin < n;) {
    std::size_t end = begin + 1;
    bool sorted = true;
    for (; end < n && users[order[end]] == users[order[begin]]; ++end)
      sorted = sorted && earlier(order[end - 1], order[end]);
    if (!sorted) std::sort(order.begin() + begin, order.begin() + end, earlier);
    begin = end;
  }
  return order;
}

}  // namespace

class SortedRuns::Reader {
 public:
  Reader(int fd, const Run& run)
      : fd_(fd), run_(run), row_bytes_(run.timed ? kTimedBytes : kUntimedBytes) {}
  // The next row, false at the end of the run.
  bool next(Row& row) {
    if (pos_ == buf_.size()) {
      if (read_ == run_.rows) return false;
      const std::uint64_t n = std::min<std::uint64_t>(kRowsPerRead, run_.rows - read_);
      buf_.resize(n * row_bytes_);
      std::size_t got = 0;
      while (got < buf_.size()) {
        const ssize_t k = ::pread(fd_, buf_.data() + got, buf_.size() - got,
                                  static_cast<off_t>(run_.offset + read_ * row_bytes_ + got));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0)
          throw IoError(fmt::format("cannot read back the import's temporary file: {}",
                                    k < 0 ? std::strerror(errno) : "it is shorter than written"));
        got += static_cast<std::size_t>(k);
      }
      read_ += n;
      pos_ = 0;
    }
    const char* p = buf_.data() + pos_;
    std::memcpy(&row.user, p, 4);
    std::memcpy(&row.item, p + 4, 4);
    std::memcpy(&row.value, p + 8, 4);
    if (run_.timed)
      std::memcpy(&row.time, p + 12, 8);
    else
      row.time = kNoTime;
    pos_ += row_bytes_;
    return true;
  }

 private:
  int fd_;
  Run run_;
  std::size_t row_bytes_;
  std::vector<char> buf_;
  std::size_t pos_ = 0;
  std::uint64_t read_ = 0;
};

SortedRuns::SortedRuns(const std::filesystem::path& dir) : name_(dir.string()) {
  std::string templ = (dir / "reckon-import-XXXXXX").string();
  fd_ = ::mkstemp(templ.data());
  if (fd_ < 0)
    throw IoError(fmt::format("cannot create the import's temporary file in {}: {} (set TMPDIR "
                              "to a directory with room)",
                              name_, std::strerror(errno)));
  ::unlink(templ.c_str());
}

SortedRuns::~SortedRuns() {
  if (fd_ >= 0) ::close(fd_);
}

void SortedRuns::write_all(const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t k = ::pwrite(fd_, data, size, static_cast<off_t>(end_));
    if (k < 0 && errno == EINTR) continue;
    if (k < 0)
      throw IoError(fmt::format("cannot write the import's temporary file in {}: {} (set TMPDIR "
                                "to a directory with room)",
                                name_, std::strerror(errno)));
    data += k;
    size -= static_cast<std::size_t>(k);
    end_ += static_cast<std::uint64_t>(k);
  }
}

void SortedRuns::add_run(std::span<const std::uint32_t> users, std::span<const std::uint32_t> items,
                         std::span<const float> values, std::span<const std::int64_t> times) {
  const std::size_t n = users.size();
  RECKON_ASSERT(items.size() == n && values.size() == n && (times.empty() || times.size() == n));
  if (n == 0) return;
  const bool timed = !times.empty();
  const std::vector<std::uint32_t> order = sorted_order(users, items, times);
  const std::size_t row_bytes = timed ? kTimedBytes : kUntimedBytes;
  Run run{end_, n, timed};
  std::vector<char> buf;
  for (std::size_t start = 0; start < n; start += kRowsPerRead) {
    const std::size_t end = std::min(n, start + kRowsPerRead);
    buf.resize((end - start) * row_bytes);
    char* p = buf.data();
    for (std::size_t k = start; k < end; ++k, p += row_bytes) {
      const std::uint32_t i = order[k];
      std::memcpy(p, &users[i], 4);
      std::memcpy(p + 4, &items[i], 4);
      std::memcpy(p + 8, &values[i], 4);
      if (timed) std::memcpy(p + 12, &times[i], 8);
    }
    write_all(buf.data(), buf.size());
  }
  runs_.push_back(run);
  rows_ += n;
}

CsrMatrix SortedRuns::merge(index_t rows, index_t cols, DedupPolicy dedup) const {
  const bool timed = !runs_.empty() && runs_.front().timed;
  for (const Run& r : runs_) RECKON_ASSERT(r.timed == timed);
  // Calls `emit(user, item, value, time)` once per (user, item), in order, the duplicates
  // folded as CsrMatrix::from_coordinates folds them.
  Progress progress(fmt::format("merge {} sorted runs", runs_.size()),
                    2 * static_cast<double>(rows_), "rows");
  double done = 0;
  auto each_merged = [&](auto&& emit) {
    std::vector<Reader> readers;
    readers.reserve(runs_.size());
    for (const Run& r : runs_) readers.emplace_back(fd_, r);
    using Head = std::pair<Row, std::size_t>;  // a run's next row, the run
    auto later = [](const Head& a, const Head& b) {
      if (before(a.first, b.first)) return false;
      if (before(b.first, a.first)) return true;
      return a.second > b.second;  // an earlier run is earlier input
    };
    std::priority_queue<Head, std::vector<Head>, decltype(later)> heap(later);
    for (std::size_t k = 0; k < readers.size(); ++k) {
      Row row;
      if (readers[k].next(row)) heap.emplace(row, k);
    }
    bool open = false;
    Row group;  // the (user, item) being folded: its value and kept time so far
    while (!heap.empty()) {
      const auto [row, k] = heap.top();
      heap.pop();
      if (Row next; readers[k].next(next)) heap.emplace(next, k);
      if ((static_cast<std::uint64_t>(++done) & 0xfffff) == 0) progress.update(done);
      RECKON_CHECK(row.user < rows && row.item < cols,
                   "the import's temporary file holds a row out of range");
      if (open && row.user == group.user && row.item == group.item) {
        switch (dedup) {
          case DedupPolicy::kSum:
            group.value += row.value;
            break;
          case DedupPolicy::kMax:
            group.value = std::max(group.value, row.value);
            break;
          case DedupPolicy::kLast:
            group.value = row.value;
            break;
          case DedupPolicy::kFirst:
            break;
        }
        // The kept timestamp: the first occurrence's for "first", otherwise the latest.
        if (dedup != DedupPolicy::kFirst) group.time = row.time;
        continue;
      }
      if (open) emit(group);
      group = row;
      open = true;
    }
    if (open) emit(group);
  };

  // Two passes over the runs: the row lengths first, so that the arrays are made at their
  // final size (reading the runs again costs less than growing the arrays to twice the data).
  std::vector<index_t> indptr(static_cast<std::size_t>(rows) + 1, 0);
  each_merged([&](const Row& r) { ++indptr[r.user + 1]; });
  for (std::size_t u = 0; u < static_cast<std::size_t>(rows); ++u) indptr[u + 1] += indptr[u];
  const auto nnz = static_cast<std::size_t>(indptr.back());
  std::vector<col_t> indices(nnz);
  std::vector<float> values(nnz);
  std::vector<std::int64_t> times(timed ? nnz : 0);
  std::size_t out = 0;
  each_merged([&](const Row& r) {
    indices[out] = static_cast<col_t>(r.item);
    values[out] = r.value;
    if (timed) times[out] = r.time;
    ++out;
  });
  progress.finish();
  RECKON_CHECK(out == nnz, "the import's temporary file changed between two reads");
  return CsrMatrix(rows, cols, std::move(indptr), std::move(indices), std::move(values),
                   std::move(times));
}

}  // namespace reckon::detail
