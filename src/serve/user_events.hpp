#pragma once
// Each user's stored events, kept in memory so that a recommendation does not query the store:
// loaded from the store on a user's first request, extended by this server's own commits. With
// a shared (PostgreSQL) store other servers write too, so entries there expire after a TTL.
#include <absl/container/flat_hash_map.h>

#include <array>
#include <chrono>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "reckon/serve/event_store.hpp"

namespace reckon::detail {

struct UserEvents {
  std::vector<Event> events;  // oldest first, at most the latest `max_events`
  std::chrono::steady_clock::time_point loaded;
};

class UserEventCache {
 public:
  // ttl < 0: entries never expire (this server is the only writer).
  UserEventCache(const EventStore& store, double ttl_seconds, std::size_t max_events);

  std::shared_ptr<const UserEvents> get(const std::string& user_id);
  // Called after events were committed by this server.
  void add(std::span<const Event> events);

 private:
  struct Shard {
    std::mutex mutex;
    absl::flat_hash_map<std::string, std::shared_ptr<const UserEvents>> users;
    std::uint64_t version = 0;  // bumped by every add(): a load that raced with one is dropped
  };
  Shard& shard(const std::string& user_id);

  const EventStore& store_;
  std::chrono::steady_clock::duration ttl_;
  bool expires_;
  std::size_t max_events_;
  std::array<Shard, 64> shards_;
  static constexpr std::size_t kMaxUsersPerShard = 1 << 16;
};

}  // namespace reckon::detail
