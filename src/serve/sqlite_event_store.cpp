#include <sqlite3.h>

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

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

class SqliteEventStore final : public EventStore {
 public:
  explicit SqliteEventStore(const std::string& path) : writer_(path), reader_(path) {
    writer_.exec("PRAGMA journal_mode=WAL");
    writer_.exec("PRAGMA synchronous=FULL");
    writer_.exec(
        "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT "
        "NULL, item_id TEXT NOT NULL, type TEXT NOT NULL, value REAL NOT NULL, ts INTEGER NOT "
        "NULL)");
    writer_.exec("CREATE INDEX IF NOT EXISTS events_user_ts ON events (user_id, ts, id)");
    thread_ = std::thread([this] { write_loop(); });
  }

  ~SqliteEventStore() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();  // flushes what is queued
  }

  void append(std::span<const Event> events) override {
    if (events.empty()) return;
    Batch batch{std::vector<Event>(events.begin(), events.end()), {}};
    auto done = batch.done.get_future();
    {
      std::lock_guard lock(mutex_);
      RECKON_CHECK(!stopping_, "event store is closing");
      queue_.push_back(std::move(batch));
    }
    wake_.notify_one();
    done.get();  // rethrows a write failure
  }

  std::vector<Event> latest(std::string_view user_id, std::size_t limit) const override {
    std::lock_guard lock(read_mutex_);
    Statement st(reader_.prepare(
        "SELECT user_id, item_id, type, value, ts FROM events WHERE user_id = ? ORDER BY ts DESC, "
        "id DESC LIMIT ?"));
    sqlite3_bind_text(st.s, 1, user_id.data(), static_cast<int>(user_id.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(st.s, 2, static_cast<sqlite3_int64>(limit));
    return read_all(st.s);
  }

  std::vector<Event> history(std::string_view user_id, std::int64_t until_ms) const override {
    std::lock_guard lock(read_mutex_);
    Statement st(
        reader_.prepare("SELECT user_id, item_id, type, value, ts FROM events WHERE user_id = ? "
                        "AND ts <= ? ORDER BY "
                        "ts, id"));
    sqlite3_bind_text(st.s, 1, user_id.data(), static_cast<int>(user_id.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(st.s, 2, until_ms);
    return read_all(st.s);
  }

  std::int64_t count() const override {
    std::lock_guard lock(read_mutex_);
    Statement st(reader_.prepare("SELECT COUNT(*) FROM events"));
    if (sqlite3_step(st.s) != SQLITE_ROW) reader_.fail("count");
    return sqlite3_column_int64(st.s, 0);
  }

 private:
  struct Batch {
    std::vector<Event> events;
    std::promise<void> done;
  };

  std::vector<Event> read_all(sqlite3_stmt* s) const {
    std::vector<Event> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
      out.push_back({column_text(s, 0), column_text(s, 1), column_text(s, 2),
                     sqlite3_column_double(s, 3), sqlite3_column_int64(s, 4)});
    if (rc != SQLITE_DONE) reader_.fail("read events");
    return out;
  }

  // One thread writes: everything queued while the previous commit ran goes into one
  // transaction and one fsync (group commit).
  void write_loop() {
    Statement insert(writer_.prepare(
        "INSERT INTO events (user_id, item_id, type, value, ts) VALUES (?, ?, ?, ?, ?)"));
    std::deque<Batch> work;
    while (true) {
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty() && stopping_) return;
        work.swap(queue_);
      }
      try {
        writer_.exec("BEGIN IMMEDIATE");
        for (const auto& b : work) {
          for (const auto& e : b.events) {
            sqlite3_reset(insert.s);
            sqlite3_bind_text(insert.s, 1, e.user_id.data(), static_cast<int>(e.user_id.size()),
                              SQLITE_STATIC);
            sqlite3_bind_text(insert.s, 2, e.item_id.data(), static_cast<int>(e.item_id.size()),
                              SQLITE_STATIC);
            sqlite3_bind_text(insert.s, 3, e.type.data(), static_cast<int>(e.type.size()),
                              SQLITE_STATIC);
            sqlite3_bind_double(insert.s, 4, e.value);
            sqlite3_bind_int64(insert.s, 5, e.timestamp_ms);
            if (sqlite3_step(insert.s) != SQLITE_DONE) writer_.fail("insert event");
          }
        }
        writer_.exec("COMMIT");
        for (auto& b : work) b.done.set_value();
      } catch (...) {
        try {
          writer_.exec("ROLLBACK");
        } catch (...) {
        }
        for (auto& b : work) b.done.set_exception(std::current_exception());
      }
      work.clear();
    }
  }

  Connection writer_;
  mutable Connection reader_;
  mutable std::mutex read_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Batch> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<EventStore> open_sqlite_event_store(const std::string& path) {
  return std::make_unique<SqliteEventStore>(path);
}

}  // namespace reckon
