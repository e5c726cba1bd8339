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

UserEventCache::Shard& UserEventCache::shard(std::string_view user_id) {
  return shards_[absl::HashOf(user_id) % shards_.size()];
}

namespace {

void keep_latest(std::vector<UserEvent>& events, std::size_t max) {
  if (events.size() > max)
    events.erase(events.begin(), events.end() - static_cast<std::ptrdiff_t>(max));
}

}  // namespace

std::shared_ptr<const UserEvents> UserEventCache::get(const std::string& user_id,
                                                      const Snapshot& snapshot) {
  Shard& s = shard(user_id);
  const auto now = std::chrono::steady_clock::now();
  std::uint64_t version;
  {
    std::lock_guard lock(s.mutex);
    auto it = s.users.find(user_id);
    if (it != s.users.end() && it->second->snapshot == snapshot.serial() &&
        (!expires_ || now - it->second->loaded < ttl_))
      return it->second;
    version = s.version;
  }
  auto loaded = std::make_shared<UserEvents>();
  loaded->snapshot = snapshot.serial();
  loaded->loaded = now;
  const IdMap& items = snapshot.train().items;
  for (const Event& e : store_.history(user_id, std::numeric_limits<std::int64_t>::max()))
    if (const auto i = items.find(e.item_id)) loaded->events.push_back({*i, e.timestamp_ms});
  keep_latest(loaded->events, max_events_);
  std::lock_guard lock(s.mutex);
  if (s.version == version) {
    // Memory stays bounded: a full shard starts again (users are loaded back on demand).
    if (s.users.size() >= kMaxUsersPerShard) s.users.clear();
    s.users[user_id] = loaded;
  }
  return loaded;
}

void UserEventCache::add(std::span<const Event> events, const Snapshot& snapshot) {
  const IdMap& items = snapshot.train().items;
  // Runs of the same user are applied together (one copy of their entry).
  for (std::size_t begin = 0; begin < events.size();) {
    std::size_t end = begin + 1;
    while (end < events.size() && events[end].user_id == events[begin].user_id) ++end;
    const std::string& user = events[begin].user_id;
    Shard& s = shard(user);
    std::lock_guard lock(s.mutex);
    ++s.version;
    auto it = s.users.find(user);
    if (it != s.users.end()) {
      if (it->second->snapshot != snapshot.serial()) {
        s.users.erase(it);  // loaded again, with the current catalogue, when next asked for
      } else {
        // Sized exactly: inserting into a copy (capacity = size) would double its capacity, and
        // with many users that is half the cache's memory.
        const UserEvents& old = *it->second;
        auto updated = std::make_shared<UserEvents>();
        updated->snapshot = old.snapshot;
        updated->loaded = old.loaded;
        updated->events.reserve(old.events.size() + (end - begin));
        updated->events.assign(old.events.begin(), old.events.end());
        for (std::size_t j = begin; j < end; ++j) {
          const auto i = items.find(events[j].item_id);
          if (!i) continue;
          // The order the store reads back: by timestamp, then in the order stored.
          const UserEvent e{*i, events[j].timestamp_ms};
          auto pos = std::upper_bound(
              updated->events.begin(), updated->events.end(), e.timestamp_ms,
              [](std::int64_t t, const UserEvent& x) { return t < x.timestamp_ms; });
          updated->events.insert(pos, e);
        }
        keep_latest(updated->events, max_events_);
        it->second = std::move(updated);
      }
    }
    begin = end;
  }
}

}  // namespace reckon::detail
