#pragma once
// Durable storage of user events (views, plays, ratings) for the service. append() returns only
// once the events are on disk, so an acknowledged event is never lost; concurrent appends are
// group-committed (one transaction and one fsync for everything that queued meanwhile).
#include <cstdint>
#include <memory>
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

class EventStore {
 public:
  virtual ~EventStore() = default;
  // Stores the events durably before returning; safe to call from many threads.
  virtual void append(std::span<const Event> events) = 0;
  // The user's latest events, newest first (ties: the later stored first).
  virtual std::vector<Event> latest(std::string_view user_id, std::size_t limit) const = 0;
  // The user's events with timestamp <= until_ms, oldest first.
  virtual std::vector<Event> history(std::string_view user_id, std::int64_t until_ms) const = 0;
  virtual std::int64_t count() const = 0;
};

// An SQLite database file (WAL journal, synchronous=FULL); created when missing.
std::unique_ptr<EventStore> open_sqlite_event_store(const std::string& path);

}  // namespace reckon
