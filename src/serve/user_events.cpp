#include "user_events.hpp"

#include "users.hpp"

#include <algorithm>
#include <limits>

namespace reckon::detail {

UserEventCache::UserEventCache(const EventStore& store, double ttl_seconds, std::size_t max_events,
                               const EventWeights& weights, std::size_t max_bytes)
    : store_(store),
      ttl_(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(std::max(0.0, ttl_seconds)))),
      expires_(ttl_seconds >= 0),
      max_events_(max_events),
      weights_(weights),
      shard_budget_(std::max<std::size_t>(max_bytes / 64, 64 << 10)) {}

std::size_t UserEventCache::bytes() const {
  std::size_t total = 0;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mutex);
    total += s.bytes;
  }
  return total;
}

namespace {

std::size_t entry_bytes(const std::string& user, const UserEvents& e) {
  // The entry, its events, the key and the hash slot, room for a kept online list, and a
  // stranger's features (a one-row table: a column's name, label and vocabulary).
  std::size_t features = 0;
  if (e.features)
    for (const auto& c : e.features->columns()) features += 256 + c.name().size();
  return sizeof(UserEvents) + e.events.capacity() * sizeof(UserEvent) + user.size() + 64 + 512 +
         features;
}

}  // namespace

void UserEventCache::put(Shard& s, const std::string& user,
                         std::shared_ptr<const UserEvents> entry) {
  const std::size_t bytes = entry_bytes(user, *entry);
  Slot& slot = s.users[user];
  s.bytes = s.bytes - slot.bytes + bytes;
  slot = {std::move(entry), ++s.clock, bytes};
  if (s.bytes <= shard_budget_) return;
  // Least recently used first, down to three quarters of the budget (so that evictions come in
  // rounds, not on every insert).
  std::vector<std::pair<std::uint64_t, const std::string*>> order;
  order.reserve(s.users.size());
  for (const auto& [key, v] : s.users) order.emplace_back(v.used, &key);
  std::sort(order.begin(), order.end());
  std::vector<std::string> victims;
  std::size_t left = s.bytes;
  for (const auto& [used, key] : order) {
    if (left <= shard_budget_ * 3 / 4) break;
    if (*key == user) continue;
    left -= s.users.find(*key)->second.bytes;
    victims.push_back(*key);
  }
  for (const auto& key : victims) s.users.erase(key);
  s.bytes = left;
}

std::optional<UserEvent> UserEventCache::convert(const Event& e, const IdMap& items) const {
  const auto i = items.find(e.item_id);
  if (!i) return std::nullopt;  // an item the model does not know
  return UserEvent{static_cast<std::int32_t>(*i),
                   static_cast<float>(weights_.weight(e.type, e.value)), e.timestamp_ms};
}

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
    if (it != s.users.end() && it->second.entry->snapshot == snapshot.serial() &&
        (!expires_ || now - it->second.entry->loaded < ttl_)) {
      it->second.used = ++s.clock;
      return it->second.entry;
    }
    version = s.version;
  }
  auto loaded = std::make_shared<UserEvents>();
  loaded->snapshot = snapshot.serial();
  loaded->loaded = now;
  const IdMap& items = snapshot.train().items;
  for (const Event& e : store_.history(user_id, std::numeric_limits<std::int64_t>::max()))
    if (const auto u = convert(e, items)) loaded->events.push_back(*u);
  keep_latest(loaded->events, max_events_);
  loaded->events.shrink_to_fit();
  if (!snapshot.train().users.find(user_id))
    if (const auto record = store_.user(user_id))
      loaded->features = stored_user_features(snapshot.train().user_features, *record);
  std::lock_guard lock(s.mutex);
  if (s.version == version) put(s, user_id, loaded);
  return loaded;
}

void UserEventCache::forget(const std::string& user_id) {
  Shard& s = shard(user_id);
  std::lock_guard lock(s.mutex);
  ++s.version;
  if (auto it = s.users.find(user_id); it != s.users.end()) {
    s.bytes -= it->second.bytes;
    s.users.erase(it);
  }
}

void UserEventCache::forget_older_than(std::int64_t cutoff_ms) {
  for (Shard& s : shards_) {
    std::lock_guard lock(s.mutex);
    ++s.version;
    for (auto it = s.users.begin(); it != s.users.end();) {
      const auto& events = it->second.entry->events;  // oldest first
      if (!events.empty() && events.front().timestamp_ms < cutoff_ms) {
        s.bytes -= it->second.bytes;
        s.users.erase(it++);
      } else {
        ++it;
      }
    }
  }
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
      if (it->second.entry->snapshot != snapshot.serial()) {
        s.bytes -= it->second.bytes;
        s.users.erase(it);  // loaded again, with the current catalogue, when next asked for
      } else {
        // Sized exactly: inserting into a copy (capacity = size) would double its capacity, and
        // with many users that is half the cache's memory.
        const UserEvents& old = *it->second.entry;
        auto updated = std::make_shared<UserEvents>();
        updated->snapshot = old.snapshot;
        updated->loaded = old.loaded;
        updated->events.reserve(old.events.size() + (end - begin));
        updated->events.assign(old.events.begin(), old.events.end());
        for (std::size_t j = begin; j < end; ++j) {
          const auto converted = convert(events[j], items);
          if (!converted) continue;
          // The order the store reads back: by timestamp, then in the order stored.
          const UserEvent e = *converted;
          auto pos = std::upper_bound(
              updated->events.begin(), updated->events.end(), e.timestamp_ms,
              [](std::int64_t t, const UserEvent& x) { return t < x.timestamp_ms; });
          updated->events.insert(pos, e);
        }
        keep_latest(updated->events, max_events_);
        put(s, user, std::move(updated));
      }
    }
    begin = end;
  }
}

}  // namespace reckon::detail
