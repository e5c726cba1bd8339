#pragma once
// Durable storage of user events (views, plays, ratings) and of item metadata edits for the
// service. Writes are acknowledged only once they are on disk, so an acknowledged event is never
// lost; concurrent writes are group-committed (one transaction and one fsync for everything that
// queued while the previous commit ran). Two implementations: an embedded SQLite file and a
// PostgreSQL database that several servers can share.
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace reckon {

struct Event {
  std::string user_id;
  std::string item_id;
  std::string type = "view";
  double value = 1.0;
  std::int64_t timestamp_ms = 0;  // unix milliseconds
  bool operator==(const Event&) const = default;
};

// An item's metadata as a JSON object text (title, genres, any fields), set by PUT /items/{id}.
struct ItemRecord {
  std::string item_id;
  std::string json;
  bool operator==(const ItemRecord&) const = default;
};

// A user's record as a JSON object text (features for cold start, labels, any fields), set by
// PUT /users/{id}. An empty json deletes the record.
struct UserRecord {
  std::string user_id;
  std::string json;
  bool operator==(const UserRecord&) const = default;
};

// Deletes stored events of one user: all of them, or those on `item_id` (of `type` when set).
struct EventDeletion {
  std::string user_id;
  std::string item_id;  // empty: every item
  std::string type;     // empty: every type
};

// One caller's write: applied in this order (deletions, then events, items and users), in one
// transaction with the writes queued beside it.
struct StoreWrite {
  std::vector<EventDeletion> deletions;
  std::vector<Event> events;
  std::vector<ItemRecord> items;
  std::vector<UserRecord> users;
};

// Called once the writes are durable (nullptr) or have failed (the error).
using WriteDone = std::function<void(std::exception_ptr)>;

// Events older than `max_age_ms` (by their timestamp, against the clock) are deleted in the
// background, in small chunks on the store's writer thread between commits, so writes wait for
// at most one chunk. A pass runs every `interval`; `pruned` (on the writer thread) gets the number
// of events each chunk deleted and the cut-off (unix ms) it applied.
struct Retention {
  std::int64_t max_age_ms = 0;  // 0: keep every event
  std::chrono::milliseconds interval{std::chrono::hours(1)};
  std::function<void(std::int64_t pruned, std::int64_t cutoff_ms)> pruned;
};

class EventStore {
 public:
  virtual ~EventStore() = default;
  // Queues events and item records and returns at once; `done` runs on the store's writer thread
  // after the commit. Safe to call from many threads. The destructor commits what is queued.
  virtual void write_async(StoreWrite write, WriteDone done) = 0;
  void write_async(std::vector<Event> events, std::vector<ItemRecord> items, WriteDone done) {
    write_async(StoreWrite{{}, std::move(events), std::move(items), {}}, std::move(done));
  }
  // Commits what is queued (running its callbacks) and refuses later writes. Idempotent; the
  // destructor calls it too.
  virtual void close() = 0;
  // Blocking forms: return once durable, rethrow a write failure.
  void append(std::span<const Event> events);
  void put_item(std::string item_id, std::string json);
  void write(StoreWrite write);
  // Starts (or changes) the background pruning of old events.
  virtual void set_retention(Retention retention) = 0;

  // The user's latest events, newest first (ties: the later stored first).
  virtual std::vector<Event> latest(std::string_view user_id, std::size_t limit) const = 0;
  // The user's events with timestamp <= until_ms, oldest first.
  virtual std::vector<Event> history(std::string_view user_id, std::int64_t until_ms) const = 0;
  // The events on an item, newest first (every user's; ties: the later stored first).
  virtual std::vector<Event> item_events(std::string_view item_id, std::size_t limit) const = 0;
  virtual std::int64_t count() const = 0;
  // The user's stored record (JSON object text), or nullopt.
  virtual std::optional<std::string> user(std::string_view user_id) const = 0;
  // Every stored item record (the latest per item).
  virtual std::vector<ItemRecord> items() const = 0;
  // "sqlite:PATH" or "postgresql://host/db" (no password), for logs and /health.
  virtual std::string describe() const = 0;
};

// An SQLite database file (WAL journal, synchronous=FULL); created when missing. Events are
// appended and indexed by user in sorted rounds once `index_every` wait, `index_chunk` per
// transaction (see sqlite_event_store.cpp; the defaults suit the service, tests use small ones).
struct SqliteStoreOptions {
  std::size_t index_every = 1 << 19;
  std::size_t index_chunk = 16384;
};
std::unique_ptr<EventStore> open_sqlite_event_store(const std::string& path,
                                                    SqliteStoreOptions options = {});
// A PostgreSQL database by libpq URL (postgresql://user@host:port/db); tables created when missing.
std::unique_ptr<EventStore> open_postgres_event_store(const std::string& url);
// postgresql:// or postgres:// URLs go to PostgreSQL, anything else is an SQLite file path.
std::unique_ptr<EventStore> open_event_store(const std::string& location);

}  // namespace reckon
