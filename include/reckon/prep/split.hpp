#pragma once
// Train/test splits. All seeded and deterministic; all keep the dataset's id space, so train,
// test and fold-in matrices have the same shape.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "reckon/core/dataset.hpp"

namespace reckon {

enum class SplitKind {
  kRandom,      // each interaction to test with probability test_fraction (exact count)
  kUserTime,    // per user, the latest test_fraction of its interactions (by time) to test
  kLeaveLastN,  // per user, the last n interactions by time to test
  kGlobalTime,  // interactions at or after a cut-off time to test
  kUsers,       // held-out users: a fraction of users, whose histories are split into fold-in
                // (given to the model at evaluation) and test
  kColdItems,   // held-out items: a fraction of the items, all of whose interactions are test
                // (they have none in training: only their features can place them)
  kPredefined,  // given train and test files (see io/import.hpp)
  kMasks,       // per user, a random test_fraction of its interactions to test (the
                // "masked ratings" regime of autoencoder papers: every user is seen in training)
  kLastSessions,  // sessions as users: the latest test_fraction of the sessions (by their last
                  // event) held out whole, their last event test and the rest fold-in
};
std::string_view to_string(SplitKind kind);
// "random", "time", "last", "global-time", "users", "cold-items", "predefined", "masks",
// "last-sessions".
SplitKind parse_split_kind(std::string_view name);

struct SplitOptions {
  SplitKind kind = SplitKind::kRandom;
  double test_fraction = 0.2;  // random, time, masks, users (share of users), global-time (no cutoff)
  index_t last_n = 1;          // last
  std::optional<std::int64_t> cutoff_time;  // global-time: unix seconds
  double foldin_fraction = 0.8;  // users: share of each held-out user's history given as fold-in
  // users: when set, exactly this many of each held-out user's earliest interactions are given
  // as fold-in (0: none, the user is their features alone), instead of foldin_fraction.
  std::optional<index_t> foldin_count;
  std::uint64_t seed = 42;
};

struct Split {
  Dataset train;     // users x items; held-out users have no rows here
  CsrMatrix test;    // same shape; what is evaluated
  CsrMatrix foldin;  // same shape; for held-out users, the history given at evaluation time
  EventLog foldin_events;  // the same as events, repeats kept, when the dataset had an event log
};

Split split_dataset(const Dataset& dataset, const SplitOptions& options);

}  // namespace reckon
