// Imports from SQLite (always) and PostgreSQL (with scripts/test's throw-away server), the event
// store read back, and the merge of served events into training data.
#include "reckon/io/database.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <pqxx/pqxx>

#include "reckon/io/import.hpp"
#include "reckon/serve/event_store.hpp"
#include "test_support.hpp"

namespace reckon {
namespace {

void exec(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err);
  const std::string why = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(h);
  ASSERT_EQ(rc, SQLITE_OK) << why;
}

ImportOptions query(std::string q) {
  ImportOptions o;
  o.query = std::move(q);
  return o;
}

class SqliteImport : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_ / "feed.db";
    exec(db_,
         "CREATE TABLE feed (user_id TEXT, post_id INTEGER, ts TEXT, target REAL);"
         "INSERT INTO feed VALUES ('u1', 10, '2024-01-01 10:00:00+00', 1.0),"
         "('u1', 11, '1704103200', 0.5), ('u2', 10, '2024-01-02T00:00:00Z', 2.0);"
         "CREATE TABLE odd (who TEXT, what TEXT, rating TEXT);"
         "INSERT INTO odd VALUES ('a', 'x', '5'), ('b', NULL, '3'), ('c', 'y', 'high');");
  }
  test::TempDir dir_;
  std::filesystem::path db_;
};

TEST_F(SqliteImport, QueryWithTheUsualColumnNames) {
  const Dataset d = import_dataset("sqlite://" + db_.string(),
                                   query("SELECT user_id, post_id, ts, target FROM feed"));
  EXPECT_EQ(d.num_users(), 2);
  EXPECT_EQ(d.num_items(), 2);
  EXPECT_EQ(d.num_interactions(), 3);
  const index_t u1 = *d.users.find("u1"), p10 = *d.items.find("10");
  const auto idx = d.interactions.row_indices(u1);
  const auto pos = std::find(idx.begin(), idx.end(), p10) - idx.begin();
  EXPECT_FLOAT_EQ(d.interactions.row_values(u1)[static_cast<std::size_t>(pos)], 1.0f);
  EXPECT_EQ(d.interactions.row_times(u1)[static_cast<std::size_t>(pos)], 1704103200);  // +00
}

TEST_F(SqliteImport, TableAndPlainFilePath) {
  ImportOptions o;
  o.table = "feed";
  const Dataset d = import_dataset(db_, o);
  EXPECT_EQ(d.num_interactions(), 3);
  EXPECT_EQ(d.name, "feed");
}

TEST_F(SqliteImport, ClearErrors) {
  const std::string url = "sqlite://" + db_.string();
  EXPECT_NE(test::error_of([&] { import_dataset(url, query("SELECT nope FROM feed")); })
                .find("no such column: nope"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { import_dataset(url, query("DELETE FROM feed")); })
                .find("expected one SELECT"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { import_dataset(url, query("SELECT 1; DROP TABLE feed")); })
                .find("expected one SELECT"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { import_dataset(url, query("SELECT user_id, ts FROM feed")); })
                .find("no item column"),
            std::string::npos);
  ImportOptions mapped = query("SELECT who, what, rating FROM odd");
  mapped.user_col = "who";
  mapped.item_col = "what";
  EXPECT_NE(test::error_of([&] { import_dataset(url, mapped); })
                .find("row 2: expected an item id in column \"what\", got NULL"),
            std::string::npos);
  mapped.query = "SELECT who, what, rating FROM odd WHERE what IS NOT NULL";
  EXPECT_NE(test::error_of([&] { import_dataset(url, mapped); })
                .find("row 2: expected a number in column \"rating\", got \"high\""),
            std::string::npos);
  ImportOptions both = query("SELECT 1");
  both.table = "feed";
  EXPECT_NE(test::error_of([&] { import_dataset(url, both); }).find("not both"),
            std::string::npos);
  ImportOptions bad_table;
  bad_table.table = "feed\"; DROP TABLE feed; --";
  EXPECT_NE(test::error_of([&] { import_dataset(url, bad_table); }).find("no such table"),
            std::string::npos);
  EXPECT_EQ(import_dataset(url, query("SELECT * FROM feed")).num_interactions(), 3);  // intact
  EXPECT_THROW(import_dataset("sqlite://" + (dir_ / "none.db").string(), bad_table), IoError);
  const auto text = dir_.file("x.csv", "user,item\n1,2\n");
  EXPECT_NE(test::error_of([&] { import_dataset(text, query("SELECT 1")); }).find("this is a file"),
            std::string::npos);
  // Not an event store and no query: say what to give.
  EXPECT_NE(test::error_of([&] { import_dataset(url, ImportOptions{}); }).find("give --query"),
            std::string::npos);
}

// A store written by the server, read back: net weights per pair, negatives left out.
TEST(EventStoreImport, NetWeightsOfTheServersTable) {
  test::TempDir dir;
  const auto path = (dir / "m.events.db").string();
  {
    auto store = open_sqlite_event_store(path);
    store->append(std::vector<Event>{{"u1", "a", "purchase", 1, 1000},
                                     {"u1", "a", "view", 1, 5000},
                                     {"u1", "b", "view", 1, 2000},
                                     {"u1", "b", "dislike", 1, 3000},
                                     {"u2", "c", "rating", 4, 4000}});
  }
  EXPECT_TRUE(is_event_store(path));
  const Dataset d = import_dataset(path, ImportOptions{});
  EXPECT_EQ(d.num_interactions(), 2);  // u1-b nets -1: left out
  const index_t u1 = *d.users.find("u1");
  ASSERT_EQ(d.interactions.row_size(u1), 1);
  EXPECT_EQ(d.items.id(d.interactions.row_indices(u1)[0]), "a");
  EXPECT_FLOAT_EQ(d.interactions.row_values(u1)[0], 4.0f);  // purchase 3 + view 1
  EXPECT_EQ(d.interactions.row_times(u1)[0], 5);             // the latest event, in seconds
  const index_t u2 = *d.users.find("u2");
  EXPECT_FLOAT_EQ(d.interactions.row_values(u2)[0], 4.0f);  // a rating's value is its weight
}

TEST(EventStoreImport, MergeFollowsTheServersRule) {
  // Base: u1 has a (5) and b (3); u2 has a (2).
  Dataset base = test::make_dataset(CsrMatrix(2, 3, {0, 2, 3}, {0, 1, 0}, {5, 3, 2}));
  test::TempDir dir;
  const auto path = (dir / "m.events.db").string();
  {
    auto store = open_sqlite_event_store(path);
    store->append(std::vector<Event>{{"u0", "i1", "dislike", 1, 1000},  // removes u0-i1
                                     {"u0", "i0", "view", 1, 1000},     // keeps u0-i0 at 5
                                     {"u0", "i2", "like", 1, 2000},     // adds u0-i2 at 2
                                     {"u1", "i2", "view", 1, 1000},
                                     {"u1", "i2", "skip", 2, 1500},      // nets 0: not added
                                     {"new", "fresh", "purchase", 1, 7000}});
  }
  MergeStats st;
  const Dataset m = merge_events(base, path, EventWeights(), &st);
  EXPECT_EQ(st.events, 6);
  EXPECT_EQ(st.removed, 1);
  EXPECT_EQ(st.kept, 1);
  EXPECT_EQ(st.added, 2);  // u0-i2, new-fresh
  EXPECT_EQ(st.new_users, 1);
  EXPECT_EQ(st.new_items, 1);
  EXPECT_EQ(m.num_users(), 3);
  EXPECT_EQ(m.num_items(), 4);
  EXPECT_EQ(m.user_features.rows(), 3);
  EXPECT_EQ(m.item_features.rows(), 4);
  const auto row0 = m.interactions.row_indices(0);
  ASSERT_EQ(row0.size(), 2u);
  EXPECT_EQ(row0[0], 0);
  EXPECT_FLOAT_EQ(m.interactions.row_values(0)[0], 5.0f);
  EXPECT_EQ(row0[1], 2);
  EXPECT_FLOAT_EQ(m.interactions.row_values(0)[1], 2.0f);
  EXPECT_EQ(m.interactions.row_size(1), 1);  // u1: a only (i2 netted to 0)
  const index_t fresh = *m.items.find("fresh");
  EXPECT_EQ(m.interactions.row_indices(*m.users.find("new"))[0], fresh);
  EXPECT_EQ(m.interactions.row_times(*m.users.find("new"))[0], 7);
}

TEST(EventStoreImport, RefusesWhatIsNotAStore) {
  test::TempDir dir;
  const auto db = dir / "other.db";
  exec(db, "CREATE TABLE t (x INTEGER)");
  EXPECT_FALSE(is_event_store(db.string()));
  EXPECT_NE(test::error_of([&] { merge_events(Dataset{}, db.string(), EventWeights()); })
                .find("not a reckon event store"),
            std::string::npos);
  EXPECT_FALSE(is_event_store((dir / "nope.db").string()));
}

// PostgreSQL: a table streamed through the cursor in several batches, and the store's tables.
class PostgresImport : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* u = std::getenv("RECKON_TEST_POSTGRES_URL");
    if (!u) GTEST_SKIP() << "RECKON_TEST_POSTGRES_URL is not set (scripts/test sets it)";
    server_ = u;
    db_ = "reckon_import_" + std::to_string(getpid());
    admin("DROP DATABASE IF EXISTS " + db_ + " WITH (FORCE)");
    admin("CREATE DATABASE " + db_);
    url_ = server_.substr(0, server_.rfind('/') + 1) + db_;
  }
  void TearDown() override {
    if (!db_.empty()) admin("DROP DATABASE IF EXISTS " + db_ + " WITH (FORCE)");
  }
  void admin(const std::string& sql) {
    pqxx::connection c(server_);
    pqxx::nontransaction t(c);
    t.exec(sql);
  }
  std::string server_, db_, url_;
};

TEST_F(PostgresImport, StreamsAQueryInBatches) {
  {
    pqxx::connection c(url_);
    pqxx::work t(c);
    t.exec("CREATE TABLE feed (user_id TEXT, post_id BIGINT, ts TIMESTAMPTZ, target FLOAT8)");
    // 50,000 rows: more than two of the cursor's batches.
    t.exec("INSERT INTO feed SELECT 'u' || (g % 500), g % 977, "
           "TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * INTERVAL '1 second', 1 + g % 5 "
           "FROM generate_series(1, 50000) g");
    t.commit();
  }
  const Dataset d =
      import_dataset(url_, query("SELECT user_id, post_id, ts, target FROM feed"));
  EXPECT_EQ(d.num_users(), 500);
  EXPECT_EQ(d.num_items(), 977);
  // Pairs repeat (g and g + 488,500 share user and item only beyond 50,000): none here.
  EXPECT_EQ(d.num_interactions(), 50000);
  ImportOptions t;
  t.table = "public.feed";
  EXPECT_EQ(import_dataset(url_, t).num_interactions(), 50000);
  EXPECT_NE(test::error_of([&] { import_dataset(url_, query("SELECT nope FROM feed")); })
                .find("column \"nope\" does not exist"),
            std::string::npos);
  // Read-only: a query that writes is refused by the server.
  EXPECT_NE(test::error_of([&] {
              import_dataset(url_, query("INSERT INTO feed VALUES ('x', 1, now(), 1) RETURNING *"));
            }).find("fails"),
            std::string::npos);
}

TEST_F(PostgresImport, TheServersEventTables) {
  {
    auto store = open_postgres_event_store(url_);
    store->append(std::vector<Event>{{"u1", "a", "purchase", 1, 1000}, {"u1", "b", "hide", 1, 2000}});
  }
  EXPECT_TRUE(is_event_store(url_));
  const Dataset d = import_dataset(url_, ImportOptions{});
  EXPECT_EQ(d.num_interactions(), 1);
  EXPECT_FLOAT_EQ(d.interactions.values()[0], 3.0f);
}

}  // namespace
}  // namespace reckon
