#include "user_events.hpp"

#include <algorithm>
#include <limits>

namespace reckon::detail {

UserEventCache::UserEventCache(const EventStore& store, double ttl_seconds,
                               std::size_t max_events)
    : store_(store),
      ttl_(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(std::max(0.0, ttl_seconds)))),
      expires_(ttl_seconds >= 0),
      max_events_(max_events) {}

UserEventCache::Shard& UserEventCache::shard(const std::string& user_id) {
  return shards_[absl::HashOf(user_id) % shards_.size()];
}

std::shared_ptr<const UserEvents> UserEventCache::get(const std::string& user_id) {
  Shard& s = shard(user_id);
  const auto now = std::chrono::steady_clock::now();
  std::uint64_t version;
  {
    std::lock_guard lock(s.mutex);
    auto it = s.users.find(user_id);
    if (it != s.users.end() && (!expires_ || now - it->second->loaded < ttl_)) return it->second;
    version = s.version;
  }
  auto loaded = std::make_shared<UserEvents>();
  loaded->events = store_.history(user_id, std::numeric_limits<std::int64_t>::max());
  if (loaded->events.size() > max_events_)
    loaded->events.erase(loaded->events.begin(),
                         loaded->events.end() - static_cast<std::ptrdiff_t>(max_events_));
  loaded->loaded = now;
  std::lock_guard lock(s.mutex);
  if (s.version == version) {
    // Memory stays bounded: a full shard starts again (users are loaded back on demand).
    if (s.users.size() >= kMaxUsersPerShard) s.users.clear();
    s.users[user_id] = loaded;
  }
  return loaded;
}

void UserEventCache::add(std::span<const Event> events) {
  for (const Event& e : events) {
    Shard& s = shard(e.user_id);
    std::lock_guard lock(s.mutex);
    ++s.version;
    auto it = s.users.find(e.user_id);
    if (it == s.users.end()) continue;  // loaded from the store when first asked for
    auto updated = std::make_shared<UserEvents>(*it->second);
    // Keep the order the store reads back: by timestamp, then in the order stored.
    auto pos = std::upper_bound(
        updated->events.begin(), updated->events.end(), e.timestamp_ms,
        [](std::int64_t t, const Event& x) { return t < x.timestamp_ms; });
    updated->events.insert(pos, e);
    if (updated->events.size() > max_events_) updated->events.erase(updated->events.begin());
    it->second = std::move(updated);
  }
}

}  // namespace reckon::detail
