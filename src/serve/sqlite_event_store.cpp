#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <tuple>
#include <limits>
#include <memory>
#include <mutex>

#include "group_commit.hpp"
#include "reckon/core/error.hpp"
#include "reckon/serve/event_store.hpp"

namespace reckon {
namespace {

// Owns one connection; every call holds the connection's mutex (SQLite connections are not
// meant to be shared by concurrent statements).
class Connection {
 public:
  explicit Connection(const std::string& path) : path_(path) {
    if (sqlite3_open_v2(path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
      const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw IoError(fmt::format("{}: cannot open event store: {}", path, msg));
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  ~Connection() { sqlite3_close(db_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      const std::string msg = err ? err : sqlite3_errmsg(db_);
      sqlite3_free(err);
      throw IoError(fmt::format("{}: {} ({})", path_, msg, sql));
    }
  }
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK)
      throw IoError(fmt::format("{}: {} ({})", path_, sqlite3_errmsg(db_), sql));
    return s;
  }
  // Ends a failed transaction; a failure here cannot add to the error already being handled
  // (SQLite rolls back by itself when it cannot).
  void rollback() noexcept { sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr); }
  [[noreturn]] void fail(const char* what) const {
    throw IoError(fmt::format("{}: {}: {}", path_, what, sqlite3_errmsg(db_)));
  }
  sqlite3* db() const { return db_; }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

struct Statement {
  explicit Statement(sqlite3_stmt* s) : s(s) {}
  ~Statement() { sqlite3_finalize(s); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  sqlite3_stmt* s;
};

std::string column_text(sqlite3_stmt* s, int i) {
  const auto* p = sqlite3_column_text(s, i);
  return p ? std::string(reinterpret_cast<const char*>(p),
                         static_cast<std::size_t>(sqlite3_column_bytes(s, i)))
           : std::string();
}

// A commit only appends rows to `events` (rowid = id, so the pages written are the few at the
// table's end). Reads by user go through `events_by_user`, a (user_id, ts, id) b-tree that the
// writer extends in rounds, after the acknowledgements: once `index_every` events are waiting,
// they are taken in user order and inserted `index_chunk` per commit cycle, so each
// chunk covers the next stretch of users and each index page is written about once a round
// instead of once per event, and no single transaction holds the writer for long. Indexing each
// commit's events at once, as an ordinary SQLite index does, dirtied about one index page per
// event (events of random users land on random pages), each rewritten to the WAL and copied back
// by checkpoints: Gowalla, 100 events a request, fell from 84k to 54k events/s as the table grew
// to 2 million events.
// Until a round ends, a user's waiting events are found through in-memory maps user -> ids
// (rebuilt on open from the events past `indexed_upto`) and read by rowid; an event indexed by a
// chunk of a round in progress is read both ways and kept once. A crash mid-round leaves some of
// the round indexed: the next round inserts those again (INSERT OR IGNORE).
class SqliteEventStore final : public EventStore {
 public:
  SqliteEventStore(const std::string& path, SqliteStoreOptions options)
      : path_(path),
        index_every_(std::max<std::size_t>(1, options.index_every)),
        index_chunk_(std::max<std::size_t>(1, options.index_chunk)),
        writer_(path),
        reader_(path) {
    writer_.exec("PRAGMA journal_mode=WAL");
    writer_.exec("PRAGMA synchronous=FULL");
    writer_.exec("PRAGMA cache_size=-8192");
    reader_.exec("PRAGMA cache_size=-16384");
    writer_.exec("BEGIN IMMEDIATE");
    try {
      create_schema();
      writer_.exec("COMMIT");
    } catch (...) {
      writer_.rollback();
      throw;
    }
    {
      Statement st(writer_.prepare("SELECT value FROM store_state WHERE key = 'indexed_upto'"));
      if (sqlite3_step(st.s) == SQLITE_ROW) indexed_upto_ = sqlite3_column_int64(st.s, 0);
    }
    {
      // Ids are never reused: SQLite would give a deleted last row's id to the next insert,
      // which the rounds (ids in order, indexed_upto) and the waiting maps cannot tell apart.
      Statement st(writer_.prepare(
          "SELECT max(coalesce((SELECT max(id) FROM events), 0), coalesce((SELECT value FROM "
          "store_state WHERE key = 'last_id'), 0))"));
      if (sqlite3_step(st.s) == SQLITE_ROW) last_id_ = sqlite3_column_int64(st.s, 0);
      last_id_ = std::max(last_id_, indexed_upto_);
    }
    {
      Statement st(writer_.prepare("SELECT id, user_id, ts FROM events WHERE id > ? ORDER BY id"));
      sqlite3_bind_int64(st.s, 1, indexed_upto_);
      int rc;
      while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
        buffered_[column_text(st.s, 1)].push_back(
            {sqlite3_column_int64(st.s, 0), sqlite3_column_int64(st.s, 2)});
        ++buffered_count_;
      }
      if (rc != SQLITE_DONE) writer_.fail("read the events not yet indexed");
    }
    committer_.start([this](std::span<const detail::PendingWrite> batch) { commit(batch); },
                     [this] {
                       const bool indexing = maybe_index();  // both run every time
                       const bool pruning = maybe_prune();
                       return indexing || pruning;
                     });
  }

  ~SqliteEventStore() override { committer_.stop(); }

  void write_async(StoreWrite write, WriteDone done) override {
    committer_.submit({std::move(write), std::move(done)});
  }

  void set_retention(Retention retention) override { retention_.set(std::move(retention)); }

  std::vector<Event> latest(std::string_view user_id, std::size_t limit) const override {
    std::lock_guard lock(read_mutex_);
    sqlite3_stmt* st =
        reused(latest_,
               "SELECT e.id, e.user_id, e.item_id, e.type, e.value, e.ts FROM events_by_user b "
               "JOIN events e ON e.id = b.id WHERE b.user_id = ? ORDER BY b.ts DESC, b.id "
               "DESC LIMIT ?");
    sqlite3_bind_text(st, 1, user_id.data(), static_cast<int>(user_id.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, static_cast<sqlite3_int64>(limit));
    auto rows = read_with_buffered(st, user_id, std::numeric_limits<std::int64_t>::max());
    std::reverse(rows.begin(), rows.end());  // oldest first -> newest first
    if (rows.size() > limit) rows.resize(limit);
    return events_of(std::move(rows));
  }

  std::vector<Event> history(std::string_view user_id, std::int64_t until_ms) const override {
    std::lock_guard lock(read_mutex_);
    sqlite3_stmt* st =
        reused(history_,
               "SELECT e.id, e.user_id, e.item_id, e.type, e.value, e.ts FROM events_by_user b "
               "JOIN events e ON e.id = b.id WHERE b.user_id = ? AND b.ts <= ?");
    sqlite3_bind_text(st, 1, user_id.data(), static_cast<int>(user_id.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, until_ms);
    return events_of(read_with_buffered(st, user_id, until_ms));
  }

  std::vector<Event> item_events(std::string_view item_id, std::size_t limit) const override {
    std::lock_guard lock(read_mutex_);
    // The events indexed by item, and those after indexed_upto (not yet in events_by_item, or
    // in part: read both ways, kept once), in one read transaction. The second query scans the
    // events of at most one indexing round (index_every and those of the round in progress).
    sqlite3_stmt* indexed =
        reused(item_latest_,
               "SELECT e.id, e.user_id, e.item_id, e.type, e.value, e.ts FROM events_by_item b "
               "JOIN events e ON e.id = b.id WHERE b.item_id = ? ORDER BY b.ts DESC, b.id "
               "DESC LIMIT ?");
    sqlite3_bind_text(indexed, 1, item_id.data(), static_cast<int>(item_id.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(indexed, 2, static_cast<sqlite3_int64>(limit));
    sqlite3_stmt* recent = reused(
        item_recent_,
        "SELECT id, user_id, item_id, type, value, ts FROM events WHERE id > (SELECT "
        "coalesce(max(value), 0) FROM store_state WHERE key = 'indexed_upto') AND item_id = ?");
    sqlite3_bind_text(recent, 1, item_id.data(), static_cast<int>(item_id.size()),
                      SQLITE_TRANSIENT);
    std::vector<Row> rows;
    reader_.exec("BEGIN");
    try {
      for (sqlite3_stmt* st : {indexed, recent}) {
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) rows.push_back(read_row(st));
        if (rc != SQLITE_DONE) reader_.fail("read an item's events");
        sqlite3_reset(st);
      }
      reader_.exec("COMMIT");
    } catch (...) {
      reader_.rollback();
      throw;
    }
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
      return a.event.timestamp_ms != b.event.timestamp_ms
                 ? a.event.timestamp_ms > b.event.timestamp_ms
                 : a.id > b.id;
    });
    rows.erase(std::unique(rows.begin(), rows.end(),
                           [](const Row& a, const Row& b) { return a.id == b.id; }),
               rows.end());
    if (rows.size() > limit) rows.resize(limit);
    return events_of(std::move(rows));
  }

  std::optional<std::string> user(std::string_view user_id) const override {
    std::lock_guard lock(read_mutex_);
    sqlite3_stmt* st = reused(user_, "SELECT json FROM users WHERE user_id = ?");
    sqlite3_bind_text(st, 1, user_id.data(), static_cast<int>(user_id.size()), SQLITE_TRANSIENT);
    const int rc = sqlite3_step(st);
    std::optional<std::string> out;
    if (rc == SQLITE_ROW)
      out = column_text(st, 0);
    else if (rc != SQLITE_DONE)
      reader_.fail("read a user");
    sqlite3_reset(st);
    return out;
  }

  std::int64_t count() const override {
    std::lock_guard lock(read_mutex_);
    Statement st(reader_.prepare("SELECT COUNT(*) FROM events"));
    if (sqlite3_step(st.s) != SQLITE_ROW) reader_.fail("count");
    return sqlite3_column_int64(st.s, 0);
  }

  std::vector<ItemRecord> items() const override {
    std::lock_guard lock(read_mutex_);
    Statement st(reader_.prepare("SELECT item_id, json FROM items ORDER BY item_id"));
    std::vector<ItemRecord> out;
    int rc;
    while ((rc = sqlite3_step(st.s)) == SQLITE_ROW)
      out.push_back({column_text(st.s, 0), column_text(st.s, 1)});
    if (rc != SQLITE_DONE) reader_.fail("read items");
    return out;
  }

  void close() override { committer_.stop(); }

  std::string describe() const override { return "sqlite:" + path_; }

 private:
  struct Row {
    std::int64_t id;
    Event event;
  };

  // In one transaction, so that an existing file (0.2: `events` with an ordinary index on
  // (user_id, ts); 0.8: no events_by_item) is converted once or not at all.
  void create_schema() {
    writer_.exec(
        "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, user_id TEXT NOT "
        "NULL, item_id TEXT NOT NULL, type TEXT NOT NULL, value REAL NOT NULL, ts INTEGER NOT "
        "NULL)");
    writer_.exec("CREATE TABLE IF NOT EXISTS items (item_id TEXT PRIMARY KEY, json TEXT NOT NULL)");
    writer_.exec("CREATE TABLE IF NOT EXISTS users (user_id TEXT PRIMARY KEY, json TEXT NOT NULL)");
    writer_.exec(
        "CREATE TABLE IF NOT EXISTS store_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
    if (!table_exists("events_by_user")) {
      writer_.exec(
          "CREATE TABLE events_by_user (user_id TEXT NOT NULL, ts INTEGER NOT NULL, id INTEGER "
          "NOT NULL, PRIMARY KEY (user_id, ts, id)) WITHOUT ROWID");
      {
        Statement any(writer_.prepare("SELECT EXISTS (SELECT 1 FROM events)"));
        if (sqlite3_step(any.s) == SQLITE_ROW && sqlite3_column_int(any.s, 0))
          spdlog::info("{}: indexing the stored events by user (once, for this version's layout)",
                       path_);
      }
      writer_.exec(
          "INSERT INTO events_by_user SELECT user_id, ts, id FROM events ORDER BY user_id, ts, "
          "id");
      writer_.exec(
          "INSERT INTO store_state VALUES ('indexed_upto', (SELECT coalesce(max(id), 0) FROM "
          "events))");
      writer_.exec("DROP INDEX IF EXISTS events_user_ts");
    }
    if (!table_exists("events_by_item")) {
      // Same layout by item: the events up to indexed_upto now, the later ones by the rounds.
      writer_.exec(
          "CREATE TABLE events_by_item (item_id TEXT NOT NULL, ts INTEGER NOT NULL, id INTEGER "
          "NOT NULL, PRIMARY KEY (item_id, ts, id)) WITHOUT ROWID");
      writer_.exec(
          "INSERT INTO events_by_item SELECT item_id, ts, id FROM events WHERE id <= (SELECT "
          "value FROM store_state WHERE key = 'indexed_upto') ORDER BY item_id, ts, id");
    }
  }

  bool table_exists(const char* name) {
    Statement exists(
        writer_.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"));
    sqlite3_bind_text(exists.s, 1, name, -1, SQLITE_STATIC);
    return sqlite3_step(exists.s) == SQLITE_ROW;
  }

  // The reader's statement for `sql`, prepared on first use and kept (the caller holds
  // read_mutex_): preparing costs as much as a small read.
  sqlite3_stmt* reused(std::unique_ptr<Statement>& slot, const char* sql) const {
    if (!slot) slot = std::make_unique<Statement>(reader_.prepare(sql));
    sqlite3_reset(slot->s);
    sqlite3_clear_bindings(slot->s);
    return slot->s;
  }

  static Row read_row(sqlite3_stmt* s) {
    return {sqlite3_column_int64(s, 0),
            {column_text(s, 1), column_text(s, 2), column_text(s, 3), sqlite3_column_double(s, 4),
             sqlite3_column_int64(s, 5)}};
  }

  static std::vector<Event> events_of(std::vector<Row> rows) {
    std::vector<Event> out;
    out.reserve(rows.size());
    for (auto& r : rows) out.push_back(std::move(r.event));
    return out;
  }

  // Steps `indexed` (a query of events_by_user, columns as read_row's) and adds the user's events
  // not yet indexed with ts <= until_ms, all in one read transaction, oldest first (by ts, then
  // id). The caller holds read_mutex_, so the ids are dropped (index_chunk) only before or after
  // the whole read. A snapshot taken after an indexing commit whose ids are still listed reads
  // those events twice: they are kept once. Ids committed after the snapshot are not found
  // (writes not yet acknowledged when the read began).
  std::vector<Row> read_with_buffered(sqlite3_stmt* indexed, std::string_view user_id,
                                      std::int64_t until_ms) const {
    reader_.exec("BEGIN");
    std::vector<Row> rows;
    try {
      int rc;
      while ((rc = sqlite3_step(indexed)) == SQLITE_ROW) rows.push_back(read_row(indexed));
      if (rc != SQLITE_DONE) reader_.fail("read events");
      std::vector<std::int64_t> ids;
      {
        const absl::string_view key(user_id.data(), user_id.size());
        std::lock_guard lock(buffer_mutex_);
        for (const auto* waiting : {&buffered_, &indexing_})
          if (auto it = waiting->find(key); it != waiting->end())
            for (const auto& e : it->second)
              if (e.ts <= until_ms) ids.push_back(e.id);
      }
      if (!ids.empty()) {
        sqlite3_stmt* st =
            reused(by_id_, "SELECT id, user_id, item_id, type, value, ts FROM events WHERE id = ?");
        for (const auto id : ids) {
          sqlite3_reset(st);
          sqlite3_bind_int64(st, 1, id);
          rc = sqlite3_step(st);
          if (rc == SQLITE_ROW) {
            rows.push_back(read_row(st));
          } else if (rc != SQLITE_DONE) {
            reader_.fail("read events");
          }
        }
        sqlite3_reset(st);
      }
      sqlite3_reset(indexed);
      reader_.exec("COMMIT");
    } catch (...) {
      reader_.rollback();
      throw;
    }
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
      return a.event.timestamp_ms != b.event.timestamp_ms
                 ? a.event.timestamp_ms < b.event.timestamp_ms
                 : a.id < b.id;
    });
    rows.erase(std::unique(rows.begin(), rows.end(),
                           [](const Row& a, const Row& b) { return a.id == b.id; }),
               rows.end());
    return rows;
  }

  static void bind(sqlite3_stmt* s, int i, const std::string& text) {
    sqlite3_bind_text(s, i, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
  }

  // The writer's statement for `sql`, prepared on first use and kept (writer thread only).
  sqlite3_stmt* written(std::unique_ptr<Statement>& slot, const char* sql) {
    if (!slot) slot = std::make_unique<Statement>(writer_.prepare(sql));
    sqlite3_reset(slot->s);
    sqlite3_clear_bindings(slot->s);
    return slot->s;
  }

  void step_done(sqlite3_stmt* s, const char* what) {
    if (sqlite3_step(s) != SQLITE_DONE) writer_.fail(what);
  }

  // Deletes one stored event from the table and both indexes; false when it was gone already.
  bool erase_event(std::int64_t id, const std::string& user_id, const std::string& item_id,
                   std::int64_t ts) {
    sqlite3_stmt* s = written(delete_event_, "DELETE FROM events WHERE id = ?");
    sqlite3_bind_int64(s, 1, id);
    step_done(s, "delete event");
    if (sqlite3_changes(writer_.db()) == 0) return false;
    for (auto [slot, sql, key] :
         {std::tuple{&delete_by_user_,
                     "DELETE FROM events_by_user WHERE user_id = ? AND ts = ? AND id = ?",
                     &user_id},
          std::tuple{&delete_by_item_,
                     "DELETE FROM events_by_item WHERE item_id = ? AND ts = ? AND id = ?",
                     &item_id}}) {
      sqlite3_stmt* d = written(*slot, sql);
      bind(d, 1, *key);
      sqlite3_bind_int64(d, 2, ts);
      sqlite3_bind_int64(d, 3, id);
      step_done(d, "delete event");
    }
    return true;
  }

  // Inside commit()'s transaction: the user's events that match `d`, wherever they are (indexed,
  // waiting for a round, or inserted earlier in this commit), deleted; their ids go to deleted_.
  void apply_deletion(const EventDeletion& d) {
    struct Found {
      std::int64_t id, ts;
      std::string item_id, type;
    };
    std::vector<Found> found;
    auto keep = [&](std::int64_t id, std::int64_t ts, std::string item, std::string type) {
      if ((d.item_id.empty() || item == d.item_id) && (d.type.empty() || type == d.type))
        found.push_back({id, ts, std::move(item), std::move(type)});
    };
    {
      sqlite3_stmt* s = written(
          user_events_,
          "SELECT b.id, b.ts, e.item_id, e.type FROM events_by_user b JOIN events e ON e.id = "
          "b.id WHERE b.user_id = ?");
      bind(s, 1, d.user_id);
      int rc;
      while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        keep(sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), column_text(s, 2),
             column_text(s, 3));
      if (rc != SQLITE_DONE) writer_.fail("find events to delete");
      sqlite3_reset(s);
    }
    std::vector<std::int64_t> waiting;  // not in events_by_user yet (this thread changes the maps)
    const absl::string_view key(d.user_id);
    for (const auto* map : {&buffered_, &indexing_})
      if (auto it = map->find(key); it != map->end())
        for (const auto& e : it->second) waiting.push_back(e.id);
    for (const auto& [id, event] : inserted_)
      if (event->user_id == d.user_id) waiting.push_back(id);
    for (const auto id : waiting) {
      sqlite3_stmt* s = written(by_id_writer_, "SELECT ts, item_id, type FROM events WHERE id = ?");
      sqlite3_bind_int64(s, 1, id);
      const int rc = sqlite3_step(s);
      if (rc == SQLITE_ROW)
        keep(id, sqlite3_column_int64(s, 0), column_text(s, 1), column_text(s, 2));
      else if (rc != SQLITE_DONE)
        writer_.fail("find events to delete");
      sqlite3_reset(s);
    }
    for (const auto& f : found)
      if (erase_event(f.id, d.user_id, f.item_id, f.ts)) deleted_.push_back({f.id, d.user_id});
  }

  // Runs on the committer's thread: one transaction (one fsync) for the whole batch.
  void commit(std::span<const detail::PendingWrite> batch) {
    inserted_.clear();
    deleted_.clear();
    const std::int64_t last_id = last_id_;
    try {
      writer_.exec("BEGIN IMMEDIATE");
      bool deletions = false;
      for (const auto& w : batch) {
        for (const auto& d : w.deletions) apply_deletion(d);
        deletions |= !w.deletions.empty();
        for (const Event& e : w.events) {
          sqlite3_stmt* s = written(
              insert_event_,
              "INSERT INTO events (id, user_id, item_id, type, value, ts) VALUES (?, ?, ?, ?, ?, "
              "?)");
          sqlite3_bind_int64(s, 1, ++last_id_);
          bind(s, 2, e.user_id);
          bind(s, 3, e.item_id);
          bind(s, 4, e.type);
          sqlite3_bind_double(s, 5, e.value);
          sqlite3_bind_int64(s, 6, e.timestamp_ms);
          step_done(s, "insert event");
          inserted_.emplace_back(last_id_, &e);
        }
        for (const auto& item : w.items) {
          sqlite3_stmt* s = written(upsert_item_,
                                    "INSERT OR REPLACE INTO items (item_id, json) VALUES (?, ?)");
          bind(s, 1, item.item_id);
          bind(s, 2, item.json);
          step_done(s, "store item");
        }
        for (const auto& user : w.users) {
          if (user.json.empty()) {
            sqlite3_stmt* s = written(delete_user_, "DELETE FROM users WHERE user_id = ?");
            bind(s, 1, user.user_id);
            step_done(s, "delete user");
          } else {
            sqlite3_stmt* s = written(
                upsert_user_, "INSERT OR REPLACE INTO users (user_id, json) VALUES (?, ?)");
            bind(s, 1, user.user_id);
            bind(s, 2, user.json);
            step_done(s, "store user");
          }
        }
      }
      if (deletions) record_last_id();
      writer_.exec("COMMIT");
    } catch (...) {
      writer_.rollback();
      last_id_ = last_id;
      throw;
    }
    // Before the acknowledgements: a read that starts after one finds the event, and none finds
    // a deleted one (its row is gone; its id is dropped here or skipped by the round).
    std::lock_guard lock(buffer_mutex_);
    absl::flat_hash_set<std::int64_t> gone;
    for (const auto& [id, user] : deleted_) gone.insert(id);
    for (const auto& [id, event] : inserted_)
      if (!gone.contains(id)) {
        buffered_[event->user_id].push_back({id, event->timestamp_ms});
        ++buffered_count_;
      }
    drop_waiting();
  }

  // In a transaction that deletes events: the largest id issued, for the next open.
  void record_last_id() {
    sqlite3_stmt* s = written(
        record_last_id_, "INSERT OR REPLACE INTO store_state (key, value) VALUES ('last_id', ?)");
    sqlite3_bind_int64(s, 1, last_id_);
    step_done(s, "record the last event id");
  }

  // After a commit that deleted events (deleted_; the caller holds buffer_mutex_): their ids
  // leave the waiting map, or, in the round in progress, are skipped by its chunks.
  void drop_waiting() {
    for (const auto& [deleted_id, user] : deleted_) {
      const std::int64_t id = deleted_id;  // a lambda cannot capture a binding (clang 14)
      if (auto it = buffered_.find(user); it != buffered_.end()) {
        auto& v = it->second;
        const auto at =
            std::find_if(v.begin(), v.end(), [&](const Waiting& w) { return w.id == id; });
        if (at != v.end()) {
          v.erase(at);
          --buffered_count_;
          if (v.empty()) buffered_.erase(it);  // a round never sees a user without events
          continue;
        }
      }
      if (indexing_.contains(user)) round_deleted_.insert(id);
    }
  }

  // Runs on the committer's thread after the acknowledgements: starts a round when enough
  // events wait, and indexes the round's next chunk. True while a round is in progress.
  bool maybe_index() {
    if (!round_active_) {
      if (buffered_count_ < index_every_) return false;  // only this thread changes it
      {
        std::lock_guard lock(buffer_mutex_);
        indexing_.swap(buffered_);  // indexing_ was empty; not changed again until the round ends
        buffered_count_ = 0;
      }
      // Only the users are sorted: a user's entries share one or two index pages whatever
      // their order (and reads copy indexing_ meanwhile, so it is not rearranged).
      round_upto_ = indexed_upto_;
      for (const auto& entry : indexing_) {
        round_.push_back(&entry);
        for (const auto& e : entry.second) round_upto_ = std::max(round_upto_, e.id);
      }
      std::sort(round_.begin(), round_.end(),
                [](const auto* a, const auto* b) { return a->first < b->first; });
      round_user_ = round_event_ = 0;
      item_from_ = indexed_upto_;
      item_runs_.clear();
      item_heap_.clear();
      item_chunk_.clear();
      round_active_ = true;
    }
    index_chunk();
    return round_active_;
  }

  // One step of the round: a transaction of the next index_chunk events into events_by_user
  // (in user order); once those are done, the round's events by item, read in stretches of
  // index_chunk ids (each sorted in memory, no transaction), then merged across stretches and
  // inserted index_chunk a transaction in item order, so that each events_by_item page too is
  // written about once a round (inserting each stretch sorted on its own rewrote a page per
  // event: Gowalla's 2nd million of events, 300k -> 85k events/s). A failure leaves the indexes
  // as they were and the step is tried again later.
  void index_chunk() {
    if (round_user_ >= round_.size() && item_from_ < round_upto_) {
      load_item_stretch();
      return;
    }
    std::size_t user = round_user_, event = round_event_;
    bool finished = false;
    try {
      writer_.exec("BEGIN IMMEDIATE");
      if (user < round_.size()) {
        for (std::size_t n = 0; n < index_chunk_ && user < round_.size(); ++n) {
          const auto& [user_id, events] = *round_[user];
          const Waiting& e = events[event];
          if (!round_deleted_.contains(e.id)) {
            sqlite3_stmt* s = written(
                insert_index_,
                "INSERT OR IGNORE INTO events_by_user (user_id, ts, id) VALUES (?, ?, ?)");
            bind(s, 1, user_id);
            sqlite3_bind_int64(s, 2, e.ts);
            sqlite3_bind_int64(s, 3, e.id);
            step_done(s, "index events");
          }
          if (++event == events.size()) ++user, event = 0;
        }
      } else {
        if (item_chunk_.empty()) next_item_chunk();  // kept when its transaction failed
        for (const ItemKey* k : item_chunk_) {
          if (round_deleted_.contains(k->id)) continue;
          sqlite3_stmt* s = written(
              insert_item_index_,
              "INSERT OR IGNORE INTO events_by_item (item_id, ts, id) VALUES (?, ?, ?)");
          bind(s, 1, k->item);
          sqlite3_bind_int64(s, 2, k->ts);
          sqlite3_bind_int64(s, 3, k->id);
          step_done(s, "index events by item");
        }
        if (item_heap_.empty()) {
          // Every id <= round_upto_ is in both indexes now: this thread commits ids in order and
          // the round took every one not indexed before.
          Statement mark(writer_.prepare(
              "INSERT OR REPLACE INTO store_state (key, value) VALUES ('indexed_upto', ?)"));
          sqlite3_bind_int64(mark.s, 1, round_upto_);
          step_done(mark.s, "record the indexed events");
          finished = true;
        }
      }
      writer_.exec("COMMIT");
    } catch (const std::exception& e) {
      writer_.rollback();
      spdlog::error("{}: indexing the latest events failed (tried again later): {}", path_,
                    e.what());
      return;
    }
    round_user_ = user;
    round_event_ = event;
    item_chunk_.clear();
    if (!finished) return;
    round_.clear();
    round_deleted_.clear();
    item_runs_.clear();
    round_active_ = false;
    indexed_upto_ = round_upto_;
    // Not while a read is between its snapshot and its copy of the ids: one whose snapshot
    // predates the commit above finds the round's events only through the ids.
    std::lock_guard read_lock(read_mutex_);
    std::lock_guard lock(buffer_mutex_);
    indexing_.clear();
  }

  // The round's events with ids in the next stretch, sorted by (item, ts, id) as a run of the
  // merge; after the last stretch the merge's heap is built. Deleted events are not read.
  void load_item_stretch() {
    const std::int64_t to =
        std::min(round_upto_, item_from_ + static_cast<std::int64_t>(index_chunk_));
    std::vector<ItemKey> run;
    try {
      sqlite3_stmt* s =
          written(read_stretch_, "SELECT item_id, ts, id FROM events WHERE id > ? AND id <= ?");
      sqlite3_bind_int64(s, 1, item_from_);
      sqlite3_bind_int64(s, 2, to);
      int rc;
      while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        run.push_back({column_text(s, 0), sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2)});
      sqlite3_reset(s);
      if (rc != SQLITE_DONE) writer_.fail("read events to index by item");
    } catch (const std::exception& e) {
      spdlog::error("{}: indexing the latest events failed (tried again later): {}", path_,
                    e.what());
      return;
    }
    std::sort(run.begin(), run.end());
    if (!run.empty()) item_runs_.push_back(std::move(run));
    item_from_ = to;
    if (item_from_ < round_upto_) return;
    item_heap_.clear();
    for (std::size_t r = 0; r < item_runs_.size(); ++r) item_heap_.push_back({r, 0});
    std::make_heap(item_heap_.begin(), item_heap_.end(),
                   [this](const HeapEntry& a, const HeapEntry& b) { return later_key(a, b); });
  }

  // Orders heap entries (run, position) so that the smallest key is on top.
  using HeapEntry = std::pair<std::size_t, std::size_t>;
  bool later_key(const HeapEntry& a, const HeapEntry& b) const {
    return item_runs_[b.first][b.second] < item_runs_[a.first][a.second];
  }

  // The next index_chunk keys in (item, ts, id) order, from the merge of the runs.
  void next_item_chunk() {
    const auto cmp = [this](const HeapEntry& a, const HeapEntry& b) { return later_key(a, b); };
    while (item_chunk_.size() < index_chunk_ && !item_heap_.empty()) {
      std::pop_heap(item_heap_.begin(), item_heap_.end(), cmp);
      auto& [run, pos] = item_heap_.back();
      item_chunk_.push_back(&item_runs_[run][pos]);
      if (++pos < item_runs_[run].size())
        std::push_heap(item_heap_.begin(), item_heap_.end(), cmp);
      else
        item_heap_.pop_back();
    }
  }

  // Runs on the committer's thread: one chunk of a retention pass. A pass walks the events by
  // id and deletes the ones older than its cut-off (from the table, both indexes and, for those
  // not indexed yet, the waiting maps). True while a pass runs.
  bool maybe_prune() {
    const auto chunk = retention_.due();
    if (!chunk) return false;
    if (chunk->first) prune_cursor_ = 0;
    prune_cutoff_ = chunk->cutoff_ms;
    std::int64_t pruned = 0, cursor = prune_cursor_;
    bool more = true;
    try {
      writer_.exec("BEGIN IMMEDIATE");
      sqlite3_stmt* s = written(
          prune_scan_,
          "SELECT id, user_id, item_id, ts FROM events WHERE id > ? ORDER BY id LIMIT ?");
      sqlite3_bind_int64(s, 1, cursor);
      sqlite3_bind_int64(s, 2, static_cast<sqlite3_int64>(kPruneScan));
      struct Old {
        std::int64_t id, ts;
        std::string user_id, item_id;
      };
      std::vector<Old> old;
      std::size_t scanned = 0;
      int rc;
      while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        ++scanned;
        cursor = sqlite3_column_int64(s, 0);
        const std::int64_t ts = sqlite3_column_int64(s, 3);
        if (ts < prune_cutoff_) old.push_back({cursor, ts, column_text(s, 1), column_text(s, 2)});
      }
      if (rc != SQLITE_DONE) writer_.fail("scan events to prune");
      sqlite3_reset(s);
      deleted_.clear();
      for (const auto& o : old)
        if (erase_event(o.id, o.user_id, o.item_id, o.ts)) {
          ++pruned;
          if (o.id > indexed_upto_) deleted_.emplace_back(o.id, o.user_id);
        }
      if (pruned > 0) record_last_id();
      writer_.exec("COMMIT");
      more = scanned == kPruneScan;
      std::lock_guard lock(buffer_mutex_);
      drop_waiting();
    } catch (const std::exception& e) {
      writer_.rollback();
      spdlog::error("{}: pruning old events failed (tried again at the next pass): {}", path_,
                    e.what());
      pruned = 0;
      more = false;
    }
    prune_cursor_ = cursor;
    retention_.chunk_done(more);
    if (pruned > 0 && chunk->report) chunk->report(pruned, prune_cutoff_);
    return more;
  }

  static constexpr std::size_t kPruneScan = 4096;  // events a pruning chunk looks at

  std::string path_;
  std::size_t index_every_, index_chunk_;
  Connection writer_;
  mutable Connection reader_;
  mutable std::mutex read_mutex_;
  // The reader's, under the mutex.
  mutable std::unique_ptr<Statement> latest_, history_, by_id_, item_latest_, item_recent_, user_;
  // The writer thread's own, like the rest of the commit's and rounds' state.
  std::unique_ptr<Statement> insert_event_, upsert_item_, upsert_user_, delete_user_,
      delete_event_, delete_by_user_, delete_by_item_, user_events_, by_id_writer_, prune_scan_,
      insert_index_, insert_item_index_, record_last_id_, read_stretch_;
  std::vector<std::pair<std::int64_t, const Event*>> inserted_;  // this commit's new events
  std::vector<std::pair<std::int64_t, std::string>> deleted_;   // this commit's deleted (id, user)
  std::int64_t indexed_upto_ = 0;  // every event id up to this is in both indexes
  std::int64_t last_id_ = 0;       // the largest event id issued (ids are never reused)
  struct Waiting {
    std::int64_t id, ts;
  };
  using WaitingMap = absl::flat_hash_map<std::string, std::vector<Waiting>>;
  mutable std::mutex buffer_mutex_;
  // Each user's events not yet indexed (changed by the writer under the mutex): those of no
  // round yet, and those of the round in progress.
  WaitingMap buffered_, indexing_;
  std::size_t buffered_count_ = 0;
  // The round in progress (the writer thread's own): indexing_'s users in key order, and how far
  // the chunks got (user, event of that user).
  std::vector<const WaitingMap::value_type*> round_;
  bool round_active_ = false;
  std::size_t round_user_ = 0, round_event_ = 0;
  std::int64_t round_upto_ = 0;
  // The round's part by item: the ids read up to item_from_, as sorted runs merged through a
  // heap of (run, position), and the chunk being inserted.
  struct ItemKey {
    std::string item;
    std::int64_t ts, id;
    auto operator<=>(const ItemKey&) const = default;
  };
  std::int64_t item_from_ = 0;
  std::vector<std::vector<ItemKey>> item_runs_;
  std::vector<std::pair<std::size_t, std::size_t>> item_heap_;
  std::vector<const ItemKey*> item_chunk_;
  absl::flat_hash_set<std::int64_t> round_deleted_;  // ids of indexing_ deleted since it began
  // Retention: when to prune, and how far the pass in progress got (by id).
  detail::RetentionSchedule retention_;
  std::int64_t prune_cursor_ = 0, prune_cutoff_ = 0;
  detail::GroupCommitter committer_;  // last: stopped before the rest
};

}  // namespace

std::unique_ptr<EventStore> open_sqlite_event_store(const std::string& path,
                                                    SqliteStoreOptions options) {
  return std::make_unique<SqliteEventStore>(path, options);
}

}  // namespace reckon
