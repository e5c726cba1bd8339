#include "reckon/prep/split.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "reckon/core/error.hpp"
#include "reckon/core/random.hpp"

namespace reckon {
namespace {

struct Named {
  SplitKind kind;
  std::string_view name;
};
constexpr Named kNames[] = {
    {SplitKind::kRandom, "random"},   {SplitKind::kUserTime, "time"},
    {SplitKind::kLeaveLastN, "last"}, {SplitKind::kGlobalTime, "global-time"},
    {SplitKind::kUsers, "users"},     {SplitKind::kColdItems, "cold-items"},
    {SplitKind::kPredefined, "predefined"}, {SplitKind::kMasks, "masks"},
    {SplitKind::kLastSessions, "last-sessions"}};

enum Part : std::uint8_t { kTrain = 0, kTest = 1, kFoldin = 2 };

// The splits run over a matrix's entries or, for a dataset with an event log, over its events
// (repeats included): both are rows of entries with optional times.
std::span<const col_t> entries(const CsrMatrix& m) { return m.indices(); }
std::span<const col_t> entries(const EventLog& e) { return e.items(); }

// Positions of a row's entries ordered by time, ties by position (deterministic).
template <typename Table>
std::vector<index_t> by_time(const Table& m, index_t r) {
  std::vector<index_t> order(static_cast<std::size_t>(m.row_size(r)));
  std::iota(order.begin(), order.end(), m.indptr()[r]);
  const auto& t = m.times();
  if (!t.empty())  // (an event log without times is in the order given)
    std::stable_sort(order.begin(), order.end(), [&](index_t a, index_t b) { return t[a] < t[b]; });
  return order;
}

CsrMatrix part_of(const CsrMatrix& m, const std::vector<std::uint8_t>& part, Part which) {
  std::vector<bool> keep(part.size());
  for (std::size_t k = 0; k < part.size(); ++k) keep[k] = part[k] == which;
  return m.filtered(keep);
}

template <typename Table>
void require_times(const Table& m, SplitKind kind) {
  RECKON_CHECK(m.has_times(),
               "the \"{}\" split orders interactions by time, and this data has no timestamps; use "
               "--split random or users",
               to_string(kind));
}

// An event log is in time order, or in the order given: only a cut-off time needs times.
void require_times(const EventLog& e, SplitKind kind) {
  if (kind == SplitKind::kGlobalTime && !e.has_times()) require_times(CsrMatrix(), kind);
}

}  // namespace

std::string_view to_string(SplitKind kind) {
  for (const auto& n : kNames)
    if (n.kind == kind) return n.name;
  return "unknown";
}

SplitKind parse_split_kind(std::string_view name) {
  for (const auto& n : kNames)
    if (n.name == name) return n.kind;
  throw InvalidInput(fmt::format(
      "unknown split \"{}\" (known: random, time, last, global-time, users, last-sessions, masks, "
      "cold-items, predefined)", name));
}

namespace {

// The part (train, test, fold-in) of every entry of `m`.
template <typename Table>
std::vector<std::uint8_t> assign_parts(const Table& m, const SplitOptions& o) {
  const std::span<const col_t> items = entries(m);
  std::vector<std::uint8_t> part(items.size(), kTrain);
  Rng rng(o.seed);
  switch (o.kind) {
    case SplitKind::kRandom: {
      std::vector<index_t> order(part.size());
      std::iota(order.begin(), order.end(), 0);
      rng.shuffle(std::span<index_t>(order));
      const auto n_test = static_cast<std::size_t>(
          std::llround(o.test_fraction * static_cast<double>(order.size())));
      for (std::size_t k = 0; k < n_test; ++k) part[order[k]] = kTest;
      break;
    }
    case SplitKind::kUserTime: {
      require_times(m, o.kind);
      for (index_t r = 0; r < m.rows(); ++r) {
        const index_t n = m.row_size(r);
        if (n < 2) continue;
        index_t n_test = std::llround(o.test_fraction * static_cast<double>(n));
        n_test = std::clamp<index_t>(n_test, 1, n - 1);
        const auto order = by_time(m, r);
        for (index_t k = n - n_test; k < n; ++k) part[order[k]] = kTest;
      }
      break;
    }
    case SplitKind::kMasks: {
      // Unlike random, every user with two or more interactions keeps at least one in training
      // and gives at least one to test, whatever the time order.
      std::vector<index_t> order;
      for (index_t r = 0; r < m.rows(); ++r) {
        const index_t n = m.row_size(r);
        if (n < 2) continue;
        const index_t n_test =
            std::clamp<index_t>(std::llround(o.test_fraction * static_cast<double>(n)), 1, n - 1);
        order.resize(static_cast<std::size_t>(n));
        std::iota(order.begin(), order.end(), m.indptr()[r]);
        rng.shuffle(std::span<index_t>(order));
        for (index_t k = 0; k < n_test; ++k) part[order[k]] = kTest;
      }
      break;
    }
    case SplitKind::kLeaveLastN: {
      require_times(m, o.kind);
      RECKON_CHECK(o.last_n >= 1, "--last-n must be at least 1, got {}", o.last_n);
      for (index_t r = 0; r < m.rows(); ++r) {
        const index_t n = m.row_size(r);
        if (n <= o.last_n) continue;  // keep short histories whole in train
        const auto order = by_time(m, r);
        for (index_t k = n - o.last_n; k < n; ++k) part[order[k]] = kTest;
      }
      break;
    }
    case SplitKind::kGlobalTime: {
      require_times(m, o.kind);
      std::int64_t cutoff;
      if (o.cutoff_time) {
        cutoff = *o.cutoff_time;
      } else {
        // The time that leaves test_fraction of interactions at or after it.
        std::vector<std::int64_t> t(m.times().begin(), m.times().end());
        const auto pos = static_cast<std::size_t>(
            std::clamp<double>(std::floor((1.0 - o.test_fraction) * static_cast<double>(t.size())),
                               0, static_cast<double>(t.size() - 1)));
        std::nth_element(t.begin(), t.begin() + static_cast<std::ptrdiff_t>(pos), t.end());
        cutoff = t[pos];
      }
      for (std::size_t k = 0; k < part.size(); ++k)
        if (m.times()[k] >= cutoff) part[k] = kTest;
      break;
    }
    case SplitKind::kUsers: {
      RECKON_CHECK(o.foldin_fraction > 0 && o.foldin_fraction < 1,
                   "--foldin-fraction must be between 0 and 1, got {}", o.foldin_fraction);
      RECKON_CHECK(!o.foldin_count || *o.foldin_count >= 0,
                   "--foldin-count must be 0 or more, got {}", o.foldin_count.value_or(0));
      std::vector<index_t> users;
      for (index_t r = 0; r < m.rows(); ++r)
        if (m.row_size(r) >= 2) users.push_back(r);
      rng.shuffle(std::span<index_t>(users));
      const auto n_held = static_cast<std::size_t>(
          std::llround(o.test_fraction * static_cast<double>(users.size())));
      for (std::size_t h = 0; h < n_held; ++h) {
        const index_t r = users[h];
        const index_t n = m.row_size(r);
        std::vector<index_t> order;
        if (m.has_times() || std::is_same_v<Table, EventLog>) {
          order = by_time(m, r);
        } else {
          order.resize(static_cast<std::size_t>(n));
          std::iota(order.begin(), order.end(), m.indptr()[r]);
          rng.shuffle(std::span<index_t>(order));
        }
        const index_t n_fold =
            o.foldin_count
                ? std::min<index_t>(*o.foldin_count, n - 1)
                : std::clamp<index_t>(std::llround(o.foldin_fraction * static_cast<double>(n)), 1,
                                      n - 1);
        for (index_t k = 0; k < n; ++k) part[order[k]] = k < n_fold ? kFoldin : kTest;
      }
      break;
    }
    case SplitKind::kLastSessions: {
      // Sessions as users (the GRU4Rec protocol): the latest sessions, by their last event, are
      // held out whole; each one's last event is test, the rest its fold-in (given to the model
      // at evaluation as a stranger's history). The model never trains on a test session.
      require_times(m, o.kind);
      std::vector<std::pair<std::int64_t, index_t>> ends;  // (last time or position, session)
      for (index_t r = 0; r < m.rows(); ++r) {
        if (m.row_size(r) < 2) continue;
        const auto order = by_time(m, r);
        ends.emplace_back(m.has_times() ? m.times()[order.back()] : order.back(), r);
      }
      std::sort(ends.begin(), ends.end());
      const auto n_held = static_cast<std::size_t>(
          std::llround(o.test_fraction * static_cast<double>(ends.size())));
      for (std::size_t h = ends.size() - std::min(n_held, ends.size()); h < ends.size(); ++h) {
        const auto order = by_time(m, ends[h].second);
        for (std::size_t k = 0; k < order.size(); ++k)
          part[order[k]] = k + 1 < order.size() ? kFoldin : kTest;
      }
      break;
    }
    case SplitKind::kColdItems: {
      // A seeded share of the items that have interactions; every interaction of theirs is test.
      std::vector<index_t> counts(static_cast<std::size_t>(m.cols()), 0);
      for (const index_t i : items) ++counts[static_cast<std::size_t>(i)];
      std::vector<index_t> active;
      for (index_t c = 0; c < m.cols(); ++c)
        if (counts[c] > 0) active.push_back(c);
      rng.shuffle(std::span<index_t>(active));
      const auto n_held = static_cast<std::size_t>(
          std::llround(o.test_fraction * static_cast<double>(active.size())));
      std::vector<char> held(static_cast<std::size_t>(m.cols()), 0);
      for (std::size_t h = 0; h < n_held; ++h) held[active[h]] = 1;
      for (std::size_t k = 0; k < part.size(); ++k)
        if (held[static_cast<std::size_t>(items[k])]) part[k] = kTest;
      break;
    }
    case SplitKind::kPredefined:
      break;
  }
  return part;
}

}  // namespace

Split split_dataset(const Dataset& d, const SplitOptions& o) {
  RECKON_CHECK(o.test_fraction > 0 && o.test_fraction < 1,
               "--test-fraction must be between 0 and 1, got {}", o.test_fraction);
  RECKON_CHECK(o.kind != SplitKind::kPredefined,
               "a predefined split comes from --train and --test files, not from one dataset");
  Split s;
  if (d.events.empty()) {
    const CsrMatrix& m = d.interactions;
    const std::vector<std::uint8_t> part = assign_parts(m, o);
    s.train = d.with_interactions(part_of(m, part, kTrain));
    s.test = part_of(m, part, kTest);
    s.foldin = part_of(m, part, kFoldin);
  } else {
    // Events are split, then each part merged: "last" holds out each user's last event, which
    // may repeat an item of their training history (a re-listen, a re-click).
    const std::vector<std::uint8_t> part = assign_parts(d.events, o);
    auto events_of = [&](Part which) {
      std::vector<bool> keep(part.size());
      for (std::size_t k = 0; k < part.size(); ++k) keep[k] = part[k] == which;
      return d.events.filtered(keep);
    };
    EventLog train = events_of(kTrain);
    s.train = d.with_interactions(train.merged());
    s.train.events = std::move(train);
    s.test = events_of(kTest).merged();
    s.foldin_events = events_of(kFoldin);
    s.foldin = s.foldin_events.merged();
  }
  RECKON_CHECK(s.train.num_interactions() > 0, "the split left no training interactions");
  RECKON_CHECK(s.test.nnz() > 0, "the split left no test interactions");
  return s;
}

}  // namespace reckon
