// The event store on PostgreSQL (libpqxx), so that several servers share events and item edits.
// Same write path as the SQLite store: group commit on one writer connection; reads go through a
// second connection. A lost connection fails the writes in flight (the client gets a 5xx and
// retries) and is opened again on the next use.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>

#include "group_commit.hpp"
#include "reckon/core/error.hpp"
#include "reckon/io/text.hpp"
#include "reckon/serve/event_store.hpp"

namespace reckon {
namespace {

class PostgresEventStore final : public EventStore {
  // Helpers first: read() returns auto, so it must be defined before its uses.
  pqxx::connection& connection(std::unique_ptr<pqxx::connection>& c) const {
    if (!c || !c->is_open()) {
      try {
        c = std::make_unique<pqxx::connection>(url_);
      } catch (const std::exception& e) {
        c.reset();
        throw IoError(fmt::format("{}: cannot connect: {}", describe(), e.what()));
      }
    }
    return *c;
  }

  template <typename F>
  auto read(F&& f) const {
    std::lock_guard lock(read_mutex_);
    try {
      pqxx::read_transaction t(connection(reader_));
      return f(t);
    } catch (const pqxx::broken_connection& e) {
      reader_.reset();
      throw IoError(fmt::format("{}: connection lost: {}", describe(), e.what()));
    }
  }

  template <typename... Args>
  std::vector<Event> read_events(const char* sql, Args&&... args) const {
    return read([&](pqxx::read_transaction& t) {
      std::vector<Event> out;
      for (const auto& row : t.exec_params(sql, std::forward<Args>(args)...))
        out.push_back({row[0].template as<std::string>(), row[1].template as<std::string>(),
                       row[2].template as<std::string>(), row[3].template as<double>(),
                       row[4].template as<std::int64_t>()});
      return out;
    });
  }

 public:
  explicit PostgresEventStore(std::string url) : url_(std::move(url)) {
    auto& c = connection(writer_);
    // Two servers starting together may race on CREATE TABLE IF NOT EXISTS: retry once.
    for (int attempt = 0;; ++attempt) {
      try {
        pqxx::work t(c);
        t.exec(
            "CREATE TABLE IF NOT EXISTS reckon_events (id BIGSERIAL PRIMARY KEY, user_id TEXT NOT "
            "NULL, item_id TEXT NOT NULL, type TEXT NOT NULL, value DOUBLE PRECISION NOT NULL, ts "
            "BIGINT NOT NULL)");
        t.exec(
            "CREATE INDEX IF NOT EXISTS reckon_events_user_ts ON reckon_events (user_id, ts, id)");
        t.exec(
            "CREATE INDEX IF NOT EXISTS reckon_events_item_ts ON reckon_events (item_id, ts, id)");
        t.exec("CREATE INDEX IF NOT EXISTS reckon_events_ts ON reckon_events (ts)");
        t.exec(
            "CREATE TABLE IF NOT EXISTS reckon_items (item_id TEXT PRIMARY KEY, json TEXT NOT "
            "NULL)");
        t.exec(
            "CREATE TABLE IF NOT EXISTS reckon_users (user_id TEXT PRIMARY KEY, json TEXT NOT "
            "NULL)");
        t.commit();
        break;
      } catch (const pqxx::sql_error&) {
        if (attempt > 0) throw;
      }
    }
    committer_.start([this](std::span<const detail::PendingWrite> batch) { commit(batch); },
                     [this] { return maybe_prune(); });
  }

  ~PostgresEventStore() override { committer_.stop(); }

  void write_async(StoreWrite write, WriteDone done) override {
    committer_.submit({std::move(write), std::move(done)});
  }

  void set_retention(Retention retention) override { retention_.set(std::move(retention)); }

  std::vector<Event> item_events(std::string_view item_id, std::size_t limit) const override {
    return read_events(
        "SELECT user_id, item_id, type, value, ts FROM reckon_events WHERE item_id = $1 ORDER BY "
        "ts DESC, id DESC LIMIT $2",
        std::string(item_id), static_cast<std::int64_t>(limit));
  }

  std::optional<std::string> user(std::string_view user_id) const override {
    return read([&](pqxx::read_transaction& t) -> std::optional<std::string> {
      const auto r =
          t.exec_params("SELECT json FROM reckon_users WHERE user_id = $1", std::string(user_id));
      if (r.empty()) return std::nullopt;
      return r[0][0].as<std::string>();
    });
  }

  std::vector<Event> latest(std::string_view user_id, std::size_t limit) const override {
    return read_events(
        "SELECT user_id, item_id, type, value, ts FROM reckon_events WHERE user_id = $1 ORDER BY "
        "ts DESC, id DESC LIMIT $2",
        std::string(user_id), static_cast<std::int64_t>(limit));
  }

  std::vector<Event> history(std::string_view user_id, std::int64_t until_ms) const override {
    return read_events(
        "SELECT user_id, item_id, type, value, ts FROM reckon_events WHERE user_id = $1 AND ts <= "
        "$2 ORDER BY ts, id",
        std::string(user_id), until_ms);
  }

  std::int64_t count() const override {
    return read([](pqxx::read_transaction& t) {
      return t.exec1("SELECT COUNT(*) FROM reckon_events")[0].as<std::int64_t>();
    });
  }

  std::vector<ItemRecord> items() const override {
    return read([](pqxx::read_transaction& t) {
      std::vector<ItemRecord> out;
      for (const auto& row : t.exec("SELECT item_id, json FROM reckon_items ORDER BY item_id"))
        out.push_back({row[0].as<std::string>(), row[1].as<std::string>()});
      return out;
    });
  }

  void close() override { committer_.stop(); }

  std::string describe() const override { return without_password(url_); }

 private:
  // Runs on the committer's thread: the whole batch in one transaction, events as multi-row
  // INSERTs of up to 500 rows (one round trip each instead of one per event).
  void commit(std::span<const detail::PendingWrite> batch) {
    try {
      pqxx::work t(connection(writer_));
      std::string sql;
      std::size_t rows = 0;
      auto flush = [&] {
        if (rows == 0) return;
        t.exec(sql);
        sql.clear();
        rows = 0;
      };
      // Each write's deletions come before its events; events queued earlier in the batch are
      // inserted first, so that a deletion after them finds them.
      for (const auto& w : batch) {
        if (!w.deletions.empty()) flush();
        for (const auto& d : w.deletions)
          t.exec_params(
              "DELETE FROM reckon_events WHERE user_id = $1 AND ($2 = '' OR item_id = $2) AND ($3 "
              "= '' OR type = $3)",
              d.user_id, d.item_id, d.type);
        for (const auto& e : w.events) {
          sql += rows == 0 ? "INSERT INTO reckon_events (user_id, item_id, type, value, ts) VALUES "
                           : ",";
          sql += fmt::format("({},{},{},{},{})", t.quote(e.user_id), t.quote(e.item_id),
                             t.quote(e.type), t.quote(e.value), e.timestamp_ms);
          if (++rows == 500) flush();
        }
      }
      flush();
      for (const auto& w : batch)
        for (const auto& item : w.items)
          t.exec_params(
              "INSERT INTO reckon_items (item_id, json) VALUES ($1, $2) ON CONFLICT (item_id) DO "
              "UPDATE SET json = EXCLUDED.json",
              item.item_id, item.json);
      for (const auto& w : batch)
        for (const auto& user : w.users) {
          if (user.json.empty())
            t.exec_params("DELETE FROM reckon_users WHERE user_id = $1", user.user_id);
          else
            t.exec_params(
                "INSERT INTO reckon_users (user_id, json) VALUES ($1, $2) ON CONFLICT (user_id) "
                "DO UPDATE SET json = EXCLUDED.json",
                user.user_id, user.json);
        }
      t.commit();
    } catch (const pqxx::broken_connection& e) {
      writer_.reset();
      throw IoError(fmt::format("{}: connection lost: {}", describe(), e.what()));
    }
  }

  // Runs on the committer's thread: deletes up to kPruneChunk events older than the cut-off
  // (through the ts index) per call; a pass ends with a chunk that deleted fewer. Several
  // servers sharing the database may prune at once: they delete the same rows, no harm done.
  bool maybe_prune() {
    const auto chunk = retention_.due();
    if (!chunk) return false;
    std::int64_t pruned = 0;
    try {
      pqxx::work t(connection(writer_));
      pruned = t.exec_params(
                    "DELETE FROM reckon_events WHERE id IN (SELECT id FROM reckon_events WHERE ts "
                    "< $1 LIMIT $2)",
                    chunk->cutoff_ms, kPruneChunk)
                   .affected_rows();
      t.commit();
    } catch (const std::exception& e) {
      if (dynamic_cast<const pqxx::broken_connection*>(&e)) writer_.reset();
      spdlog::error("{}: pruning old events failed (tried again at the next pass): {}",
                    describe(), e.what());
      pruned = -1;
    }
    const bool more = pruned == kPruneChunk;
    retention_.chunk_done(more);
    if (pruned > 0 && chunk->report) chunk->report(pruned, chunk->cutoff_ms);
    return more;
  }
  static constexpr std::int64_t kPruneChunk = 5000;

  std::string url_;
  detail::RetentionSchedule retention_;
  mutable std::unique_ptr<pqxx::connection> writer_, reader_;
  mutable std::mutex read_mutex_;
  detail::GroupCommitter committer_;  // last: stopped before the connections close
};

}  // namespace

std::unique_ptr<EventStore> open_postgres_event_store(const std::string& url) {
  try {
    return std::make_unique<PostgresEventStore>(url);
  } catch (const pqxx::failure& e) {
    throw IoError(fmt::format("{}: {}", without_password(url), e.what()));
  }
}

}  // namespace reckon
