#include <absl/container/flat_hash_map.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
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
    std::int64_t indexed_upto = 0;
    {
      Statement st(writer_.prepare("SELECT value FROM store_state WHERE key = 'indexed_upto'"));
      if (sqlite3_step(st.s) == SQLITE_ROW) indexed_upto = sqlite3_column_int64(st.s, 0);
    }
    {
      Statement st(writer_.prepare("SELECT id, user_id, ts FROM events WHERE id > ? ORDER BY id"));
      sqlite3_bind_int64(st.s, 1, indexed_upto);
      int rc;
      while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
        buffered_[column_text(st.s, 1)].push_back(
            {sqlite3_column_int64(st.s, 0), sqlite3_column_int64(st.s, 2)});
        ++buffered_count_;
      }
      if (rc != SQLITE_DONE) writer_.fail("read the events not yet indexed");
    }
    committer_.start([this](std::span<const detail::PendingWrite> batch) { commit(batch); },
                     [this] { maybe_index(); });
  }

  ~SqliteEventStore() override { committer_.stop(); }

  void write_async(std::vector<Event> events, std::vector<ItemRecord> items,
                   WriteDone done) override {
    committer_.submit({std::move(events), std::move(items), std::move(done)});
  }

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
  // (user_id, ts)) is converted once or not at all.
  void create_schema() {
    writer_.exec(
        "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, user_id TEXT NOT "
        "NULL, item_id TEXT NOT NULL, type TEXT NOT NULL, value REAL NOT NULL, ts INTEGER NOT "
        "NULL)");
    writer_.exec("CREATE TABLE IF NOT EXISTS items (item_id TEXT PRIMARY KEY, json TEXT NOT NULL)");
    writer_.exec(
        "CREATE TABLE IF NOT EXISTS store_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
    {
      Statement exists(writer_.prepare(
          "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events_by_user'"));
      if (sqlite3_step(exists.s) == SQLITE_ROW) return;
    }
    writer_.exec(
        "CREATE TABLE events_by_user (user_id TEXT NOT NULL, ts INTEGER NOT NULL, id INTEGER NOT "
        "NULL, PRIMARY KEY (user_id, ts, id)) WITHOUT ROWID");
    {
      Statement any(writer_.prepare("SELECT EXISTS (SELECT 1 FROM events)"));
      if (sqlite3_step(any.s) == SQLITE_ROW && sqlite3_column_int(any.s, 0))
        spdlog::info("{}: indexing the stored events by user (once, for this version's layout)",
                     path_);
    }
    writer_.exec(
        "INSERT INTO events_by_user SELECT user_id, ts, id FROM events ORDER BY user_id, ts, id");
    writer_.exec(
        "INSERT INTO store_state VALUES ('indexed_upto', (SELECT coalesce(max(id), 0) FROM "
        "events))");
    writer_.exec("DROP INDEX IF EXISTS events_user_ts");
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

  // Runs on the committer's thread: one transaction (one fsync) for the whole batch.
  void commit(std::span<const detail::PendingWrite> batch) {
    if (!insert_event_) {
      insert_event_ = std::make_unique<Statement>(writer_.prepare(
          "INSERT INTO events (user_id, item_id, type, value, ts) VALUES (?, ?, ?, ?, ?)"));
      upsert_item_ = std::make_unique<Statement>(
          writer_.prepare("INSERT OR REPLACE INTO items (item_id, json) VALUES (?, ?)"));
    }
    ids_.clear();
    try {
      writer_.exec("BEGIN IMMEDIATE");
      for (const auto& w : batch) {
        for (const Event& e : w.events) {
          sqlite3_stmt* s = insert_event_->s;
          sqlite3_reset(s);
          bind(s, 1, e.user_id);
          bind(s, 2, e.item_id);
          bind(s, 3, e.type);
          sqlite3_bind_double(s, 4, e.value);
          sqlite3_bind_int64(s, 5, e.timestamp_ms);
          if (sqlite3_step(s) != SQLITE_DONE) writer_.fail("insert event");
          ids_.push_back(sqlite3_last_insert_rowid(writer_.db()));
        }
        for (const auto& item : w.items) {
          sqlite3_stmt* s = upsert_item_->s;
          sqlite3_reset(s);
          bind(s, 1, item.item_id);
          bind(s, 2, item.json);
          if (sqlite3_step(s) != SQLITE_DONE) writer_.fail("store item");
        }
      }
      writer_.exec("COMMIT");
    } catch (...) {
      writer_.rollback();
      throw;
    }
    // Before the acknowledgements: a read that starts after one finds the event.
    std::lock_guard lock(buffer_mutex_);
    std::size_t j = 0;
    for (const auto& w : batch)
      for (const Event& e : w.events) {
        buffered_[e.user_id].push_back({ids_[j++], e.timestamp_ms});
      }
    buffered_count_ += j;
  }

  // Runs on the committer's thread after the acknowledgements: starts a round when enough
  // events wait, and indexes the round's next chunk.
  void maybe_index() {
    if (round_.empty()) {
      if (buffered_count_ < index_every_) return;  // only this thread changes it
      {
        std::lock_guard lock(buffer_mutex_);
        indexing_.swap(buffered_);  // indexing_ was empty; not changed again until the round ends
        buffered_count_ = 0;
      }
      // Only the users are sorted: a user's entries share one or two index pages whatever
      // their order (and reads copy indexing_ meanwhile, so it is not rearranged).
      round_upto_ = 0;
      for (const auto& entry : indexing_) {
        round_.push_back(&entry);
        for (const auto& e : entry.second) round_upto_ = std::max(round_upto_, e.id);
      }
      std::sort(round_.begin(), round_.end(),
                [](const auto* a, const auto* b) { return a->first < b->first; });
      round_user_ = round_event_ = 0;
    }
    index_chunk();
  }

  // One transaction; a failure leaves the index as it was and the chunk is tried again after the
  // next commit.
  void index_chunk() {
    if (!insert_index_)
      insert_index_ = std::make_unique<Statement>(writer_.prepare(
          "INSERT OR IGNORE INTO events_by_user (user_id, ts, id) VALUES (?, ?, ?)"));
    std::size_t user = round_user_, event = round_event_;
    try {
      writer_.exec("BEGIN IMMEDIATE");
      for (std::size_t n = 0; n < index_chunk_ && user < round_.size(); ++n) {
        const auto& [user_id, events] = *round_[user];
        sqlite3_stmt* s = insert_index_->s;
        sqlite3_reset(s);
        bind(s, 1, user_id);
        sqlite3_bind_int64(s, 2, events[event].ts);
        sqlite3_bind_int64(s, 3, events[event].id);
        if (sqlite3_step(s) != SQLITE_DONE) writer_.fail("index events");
        if (++event == events.size()) ++user, event = 0;
      }
      if (user == round_.size()) {
        // Every id <= round_upto_ is in the index now: this thread commits ids in order and the
        // round took every one not indexed before.
        Statement mark(writer_.prepare(
            "INSERT OR REPLACE INTO store_state (key, value) VALUES ('indexed_upto', ?)"));
        sqlite3_bind_int64(mark.s, 1, round_upto_);
        if (sqlite3_step(mark.s) != SQLITE_DONE) writer_.fail("record the indexed events");
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
    if (user < round_.size()) return;
    round_.clear();
    // Not while a read is between its snapshot and its copy of the ids: one whose snapshot
    // predates the commit above finds the round's events only through the ids.
    std::lock_guard read_lock(read_mutex_);
    std::lock_guard lock(buffer_mutex_);
    indexing_.clear();
  }

  std::string path_;
  std::size_t index_every_, index_chunk_;
  Connection writer_;
  mutable Connection reader_;
  mutable std::mutex read_mutex_;
  mutable std::unique_ptr<Statement> latest_, history_, by_id_;  // the reader's, under the mutex
  std::unique_ptr<Statement> insert_event_, upsert_item_;        // the writer thread's own
  std::vector<std::int64_t> ids_;                                // the writer thread's own
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
  std::size_t round_user_ = 0, round_event_ = 0;
  std::int64_t round_upto_ = 0;
  std::unique_ptr<Statement> insert_index_;
  detail::GroupCommitter committer_;  // last: stopped before the rest
};

}  // namespace

std::unique_ptr<EventStore> open_sqlite_event_store(const std::string& path,
                                                    SqliteStoreOptions options) {
  return std::make_unique<SqliteEventStore>(path, options);
}

}  // namespace reckon
