#pragma once
// Interactions from databases: a query or a table of SQLite (sqlite:///path.db, or an SQLite
// file) or PostgreSQL (postgresql://...), streamed row by row (a server-side cursor on
// PostgreSQL, sqlite3_step on SQLite: never the whole result in memory), with the same column
// mapping as CSV files. And the service's own event store read back as training data.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "reckon/core/dataset.hpp"
#include "reckon/io/import.hpp"
#include "reckon/prep/event_weights.hpp"

namespace reckon {

// postgresql://, postgres:// or sqlite: (sqlite:///abs/path.db, sqlite://relative.db).
bool is_database_url(std::string_view source);
// A file that starts with SQLite's magic header.
bool is_sqlite_file(const std::string& path);
// True for sources import_database() reads: a database URL, or an SQLite file.
bool is_database_source(const std::string& source);

// import_dataset() reads these sources: options.query (any SELECT) or options.table; without
// either, an event store's events (import_events with the default weights). Read-only: SQLite
// is opened read-only, PostgreSQL in a read-only transaction. Errors name the source (password
// hidden), the query and the column or row.

// One served event as the event stores keep it.
struct StoredEvent {
  std::string user_id, item_id, type;
  double value = 1;
  std::int64_t timestamp_ms = 0;
};
// Streams an event store's events (the SQLite file `reckon serve` writes, or its PostgreSQL
// tables), in the order stored; `fn` returns false to stop. Throws InvalidInput when `source`
// is not an event store.
void read_stored_events(const std::string& source,
                        const std::function<bool(const StoredEvent&)>& fn);
// Whether `source` holds reckon's event tables (events / reckon_events).
bool is_event_store(const std::string& source);

// The events as a dataset: per user and item, the net weight of their events (the server's
// table, EventWeights); pairs whose net weight is not positive are left out. Times are the
// latest event's (unix seconds).
Dataset import_events(const std::string& source, const EventWeights& weights,
                      const ImportOptions& options);

// `base` with the served events merged in by the rule the server applies online
// (event_weights.hpp): per user and item the events' weights add up; a net negative pair leaves
// the data (also when it was in `base`), a net positive pair outside `base` joins with its net
// weight, a pair in `base` keeps its value. New users and items join the id space.
struct MergeStats {
  std::int64_t events = 0, added = 0, removed = 0, kept = 0, new_users = 0, new_items = 0;
};
Dataset merge_events(const Dataset& base, const std::string& source, const EventWeights& weights,
                     MergeStats* stats = nullptr);

}  // namespace reckon
