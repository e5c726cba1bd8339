#pragma once
// Each user's stored events, kept in memory so that a recommendation neither queries the store
// nor looks up item ids: loaded from the store on a user's first request, extended by this
// server's own commits. An entry holds item indexes of one snapshot (16 bytes an event; events
// for items the model does not know are left out) and is loaded again after a reload. With a
// shared (PostgreSQL) store other servers write too, so entries there expire after a TTL.
#include <absl/container/flat_hash_map.h>

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "reckon/serve/event_store.hpp"
#include "reckon/prep/event_weights.hpp"
#include "reckon/serve/snapshot.hpp"

namespace reckon::detail {

struct UserEvent {
  std::int32_t item;  // in the snapshot's catalogue (catalogues stay below 2^31 items)
  float weight;       // EventWeights::weight(type, value)
  std::int64_t timestamp_ms;
};

// The online answer for a user's current events (see UserEvents::online), in 9 bytes an item.
struct OnlineList {
  std::vector<StoredItem> items;  // best first, as long as the request that computed it asked
  bool complete = false;  // shorter than asked: every candidate there is (longer k: the same)
  std::vector<std::uint8_t> similar;  // per item: 1 = from the similar items, 0 = from the model
  bool model = false;                 // false: popular items (the model had nothing to say)
};

struct UserEvents {
  UserEvents() = default;
  // A copy takes the events, not the online answer (a copy is made to add events to).
  UserEvents(const UserEvents& o)
      : snapshot(o.snapshot), events(o.events), features(o.features), loaded(o.loaded) {}

  std::uint64_t snapshot = 0;     // Snapshot::serial() the item indexes belong to
  std::vector<UserEvent> events;  // oldest first, at most the latest `max_events`
  // A user the model does not know: the features of their stored record (users.hpp), or null.
  std::shared_ptr<const FeatureTable> features;
  std::chrono::steady_clock::time_point loaded;
  // The online list computed from exactly these events and this snapshot, set by the first
  // online request that needs it. Entries are immutable otherwise: a new event replaces the
  // entry, so the list can never be stale, and asking again before the next event (a refreshed
  // feed, the next page) costs a lookup instead of a fold-in and a scan of the catalogue.
  mutable std::atomic<std::shared_ptr<const OnlineList>> online;
};

class UserEventCache {
 public:
  // ttl < 0: entries never expire (this server is the only writer). `max_bytes` bounds the
  // memory of the entries: past it the least recently used go (they are loaded back on demand),
  // so a flood of new user ids cannot grow the cache without bound.
  UserEventCache(const EventStore& store, double ttl_seconds, std::size_t max_events,
                 const EventWeights& weights, std::size_t max_bytes);
  std::size_t bytes() const;

  std::shared_ptr<const UserEvents> get(const std::string& user_id, const Snapshot& snapshot);
  // Called after events were committed by this server.
  void add(std::span<const Event> events, const Snapshot& snapshot);
  // Called after this server deleted some of the user's events or changed their record: the
  // entry is loaded again when next asked for (and a load racing with this one is dropped).
  void forget(const std::string& user_id);
  // Called after old events were pruned: entries holding an event older than `cutoff_ms` go.
  void forget_older_than(std::int64_t cutoff_ms);

 private:
  struct Slot {
    std::shared_ptr<const UserEvents> entry;
    std::uint64_t used = 0;  // the shard's clock at the last use
    std::size_t bytes = 0;
  };
  struct Shard {
    mutable std::mutex mutex;
    absl::flat_hash_map<std::string, Slot> users;
    std::uint64_t version = 0;  // bumped by every add(): a load that raced with one is dropped
    std::uint64_t clock = 0;
    std::size_t bytes = 0;
  };
  Shard& shard(std::string_view user_id);
  // Stores `entry` for `user` (lock held) and evicts the least recently used past the budget.
  void put(Shard& s, const std::string& user, std::shared_ptr<const UserEvents> entry);
  std::optional<UserEvent> convert(const Event& e, const IdMap& items) const;

  const EventStore& store_;
  std::chrono::steady_clock::duration ttl_;
  bool expires_;
  std::size_t max_events_;
  const EventWeights& weights_;
  std::size_t shard_budget_;
  std::array<Shard, 64> shards_;
};

}  // namespace reckon::detail
