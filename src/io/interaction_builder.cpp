#include "reckon/io/interaction_builder.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "reckon/core/error.hpp"
#include "sorted_runs.hpp"

namespace reckon {

namespace {
// A row costs 20 bytes while collecting (12 without timestamps) and about as much again twice
// while the CSR matrix is built (grouped copy, then the matrix); an id about 80 bytes with its
// hash entry.
constexpr std::size_t kBytesPerRow = 60;
constexpr std::size_t kBytesPerId = 80;
constexpr std::size_t kBudgetCheckRows = 1u << 16;
}  // namespace

InteractionBuilder::InteractionBuilder(std::size_t max_memory, std::size_t spill_rows)
    : max_memory_(max_memory), spill_rows_(spill_rows) {}
InteractionBuilder::~InteractionBuilder() = default;
InteractionBuilder::InteractionBuilder(InteractionBuilder&&) noexcept = default;
InteractionBuilder& InteractionBuilder::operator=(InteractionBuilder&&) noexcept = default;

std::size_t InteractionBuilder::size() const noexcept {
  return user_ids_.size() + spilled_rows();
}

std::size_t InteractionBuilder::spilled_rows() const noexcept {
  return runs_ ? runs_->rows() : 0;
}

std::size_t InteractionBuilder::estimated_bytes() const noexcept {
  std::size_t id_bytes = 0;
  for (const IdMap* m : {&users_, &items_})
    id_bytes += static_cast<std::size_t>(m->size()) * kBytesPerId;
  // A spilled row costs only its share of the result: an 8-byte column index, a 4-byte value
  // and an 8-byte time when timed.
  const std::size_t spilled = spilled_rows();
  return user_ids_.size() * kBytesPerRow + spilled * (timed() ? 20 : 12) + id_bytes;
}

void InteractionBuilder::check_budget() const {
  const std::size_t need = estimated_bytes();
  RECKON_CHECK(need <= max_memory_,
               "the import needs more than its memory budget of {} MB (about {} MB for the "
               "{} rows, {} users and {} items read so far); raise --max-memory (MB) or "
               "split the input",
               max_memory_ >> 20, need >> 20, size(), users_.size(), items_.size());
}

void InteractionBuilder::add(index_t user, index_t item, float value, std::int64_t time) {
  RECKON_CHECK(user < (index_t{1} << 32) && item < (index_t{1} << 32),
               "more than 4 billion distinct users or items");
  if (max_memory_ && user_ids_.size() % kBudgetCheckRows == 0) check_budget();
  // Times are kept from the first timed row on (the rows before it get kNoTime then): a source
  // without timestamps costs 12 bytes a row instead of 20.
  if (time != kNoTime && !timed()) {
    times_.reserve(user_ids_.capacity());
    times_.resize(user_ids_.size(), kNoTime);
  }
  user_ids_.push_back(static_cast<std::uint32_t>(user));
  item_ids_.push_back(static_cast<std::uint32_t>(item));
  values_.push_back(value);
  if (timed() || time != kNoTime) times_.push_back(time);
  if (time != kNoTime) ++timed_rows_;
  if (spill_rows_ > 0 && user_ids_.size() >= spill_rows_) spill();
}

void InteractionBuilder::spill() {
  if (user_ids_.empty()) return;
  if (!runs_) {
    std::error_code ec;
    const auto dir = std::filesystem::temp_directory_path(ec);
    if (ec)
      throw IoError(fmt::format(
          "the import sorts its rows in a temporary file and found no temporary directory: {} "
          "(set TMPDIR to a directory with room)",
          ec.message()));
    runs_ = std::make_unique<detail::SortedRuns>(dir);
  }
  runs_->add_run(user_ids_, item_ids_, values_,
                 timed() ? std::span<const std::int64_t>(times_) : std::span<const std::int64_t>());
  // The capacity stays for the next chunk.
  user_ids_.clear();
  item_ids_.clear();
  values_.clear();
  times_.clear();
}

void InteractionBuilder::reserve(std::size_t n) {
  if (max_memory_) n = std::min(n, max_memory_ / kBytesPerRow);
  if (spill_rows_ > 0) n = std::min(n, spill_rows_);
  n = std::min<std::size_t>(n, std::size_t{1} << 28);  // more grows as rows arrive
  user_ids_.reserve(n);
  item_ids_.reserve(n);
  values_.reserve(n);
}

void InteractionBuilder::end_part() {
  RECKON_ASSERT(!runs_);  // parts need every row in memory: built with spill_rows 0
  part_ends_.push_back(user_ids_.size());
}

CsrMatrix InteractionBuilder::build_range(std::size_t begin, std::size_t end,
                                          DedupPolicy dedup) const {
  std::size_t timed = 0;
  if (!times_.empty())
    for (std::size_t k = begin; k < end; ++k) timed += times_[k] != kNoTime;
  RECKON_CHECK(timed == 0 || timed == end - begin,
               "{} of {} interactions have a timestamp and the others do not; give every "
               "interaction a time or none",
               timed, end - begin);
  auto slice = [&](const auto& v) {
    return std::vector<typename std::decay_t<decltype(v)>::value_type>(v.begin() + begin,
                                                                       v.begin() + end);
  };
  return CsrMatrix::from_coordinates(users_.size(), items_.size(), slice(user_ids_),
                                     slice(item_ids_), slice(values_),
                                     timed ? slice(times_) : std::vector<std::int64_t>{}, dedup);
}

Dataset InteractionBuilder::build(DedupPolicy dedup, std::string name, bool explicit_ratings,
                                  bool keep_events) {
  Dataset d;
  d.name = std::move(name);
  d.explicit_ratings = explicit_ratings;
  if (timed_rows_ == 0) {
    times_.clear();
    times_.shrink_to_fit();
  }
  RECKON_CHECK(timed_rows_ == 0 || timed_rows_ == size(),
               "{} of {} interactions have a timestamp and the others do not; give every "
               "interaction a time or none",
               timed_rows_, size());
  if (runs_) {
    // Rows were written out: the rest joins them as the last run, and the runs merge into the
    // matrix. The event log needs the rows in input order: such builders never spill.
    RECKON_ASSERT(!keep_events);
    spill();
    d.interactions = runs_->merge(users_.size(), items_.size(), dedup);
    runs_.reset();
  } else {
    // The event log first, from copies: the matrix then takes the columns.
    if (keep_events)
      d.events = EventLog::from_events(users_.size(), items_.size(), user_ids_, item_ids_,
                                       values_, times_, dedup);
    // Moves the columns in to keep peak memory near two copies of the data.
    d.interactions = CsrMatrix::from_coordinates(users_.size(), items_.size(),
                                                 std::move(user_ids_), std::move(item_ids_),
                                                 std::move(values_), std::move(times_), dedup);
  }
  d.users = std::move(users_);
  d.items = std::move(items_);
  d.user_features = FeatureTable(d.users.size());
  d.item_features = FeatureTable(d.items.size());
  return d;
}

std::vector<CsrMatrix> InteractionBuilder::build_parts(DedupPolicy dedup, Dataset& ids,
                                                       bool explicit_ratings) {
  RECKON_ASSERT(!runs_);
  if (part_ends_.empty() || part_ends_.back() != user_ids_.size()) end_part();
  std::vector<CsrMatrix> parts;
  std::size_t begin = 0;
  for (std::size_t end : part_ends_) {
    parts.push_back(build_range(begin, end, dedup));
    begin = end;
  }
  ids.users = std::move(users_);
  ids.items = std::move(items_);
  ids.explicit_ratings = explicit_ratings;
  ids.user_features = FeatureTable(ids.users.size());
  ids.item_features = FeatureTable(ids.items.size());
  ids.interactions = CsrMatrix(ids.users.size(), ids.items.size(),
                               std::vector<index_t>(ids.users.size() + 1, 0), {}, {});
  return parts;
}

}  // namespace reckon
