// The PostgreSQL event store against a real server: scripts/test starts a throw-away one on
// loopback (scripts/test-postgres) and sets RECKON_TEST_POSTGRES_URL; without it these skip.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>
#include <thread>

#include "reckon/serve/event_store.hpp"
#include "serve_fixture.hpp"
#include "store_contract.hpp"

namespace reckon {
namespace {

std::string server_url() {
  const char* u = std::getenv("RECKON_TEST_POSTGRES_URL");
  return u ? u : "";
}

// Each test gets a database of its own (ctest runs tests in parallel).
std::string test_db_url;
std::string url() { return test_db_url; }

class PostgresStore : public ::testing::Test {
 protected:
  void SetUp() override {
    if (server_url().empty())
      GTEST_SKIP() << "RECKON_TEST_POSTGRES_URL is not set (scripts/test sets it)";
    db_ = "reckon_test_" + std::to_string(getpid());
    admin("DROP DATABASE IF EXISTS " + db_ + " WITH (FORCE)");
    admin("CREATE DATABASE " + db_);
    const std::string base = server_url();
    test_db_url = base.substr(0, base.rfind('/') + 1) + db_;
  }
  void TearDown() override {
    if (!db_.empty()) admin("DROP DATABASE IF EXISTS " + db_ + " WITH (FORCE)");
  }
  static void admin(const std::string& sql);
  std::string db_;
};

}  // namespace
}  // namespace reckon

#include <pqxx/pqxx>

namespace reckon {
namespace {

void PostgresStore::admin(const std::string& sql) {
  pqxx::connection c(server_url());
  pqxx::nontransaction t(c);  // CREATE/DROP DATABASE cannot run inside a transaction
  t.exec(sql);
}

TEST_F(PostgresStore, StoresAndReadsBack) {
  auto store = open_event_store(url());
  EXPECT_EQ(store->describe().rfind("postgresql://", 0), 0u);
  const std::vector<Event> events = {{"u1", "a", "view", 1, 100},
                                     {"u2", "b", "play", 2, 150},
                                     {"u1", "c", "rate", 4.5, 300},
                                     {"u1", "d'quote", "view", 1, 200}};
  store->append(events);
  EXPECT_EQ(store->count(), 4);
  const auto latest = store->latest("u1", 2);
  ASSERT_EQ(latest.size(), 2u);
  EXPECT_EQ(latest[0].item_id, "c");
  EXPECT_EQ(latest[1].item_id, "d'quote");
  EXPECT_DOUBLE_EQ(latest[0].value, 4.5);
  const auto hist = store->history("u1", 250);
  ASSERT_EQ(hist.size(), 2u);
  EXPECT_EQ(hist[0], events[0]);
  EXPECT_EQ(hist[1], events[3]);
}

TEST_F(PostgresStore, ConcurrentAppendsAreAllStoredAndShared) {
  auto a = open_event_store(url());
  auto b = open_event_store(url());  // a second server on the same database
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      EventStore& store = t % 2 ? *a : *b;
      for (int i = 0; i < 50; ++i) {
        const Event e{"user" + std::to_string(t), "item" + std::to_string(i), "view", 1.0, i};
        store.append(std::span<const Event>(&e, 1));
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(a->count(), 300);
  EXPECT_EQ(b->history("user3", 1000).size(), 50u);
}

TEST_F(PostgresStore, UserRecordsItemReadsAndDeletions) {
  auto store = open_event_store(url());
  test::check_records_reads_and_deletions(*store);
}

TEST_F(PostgresStore, RetentionPrunesOldEventsInTheBackground) {
  auto store = open_event_store(url());
  test::check_retention(*store);
}

TEST_F(PostgresStore, ItemRecordsAreUpserted) {
  auto store = open_event_store(url());
  store->put_item("i1", R"({"title":"one"})");
  store->put_item("i1", R"({"title":"uno"})");
  store->put_item("i2", R"({"title":"two"})");
  const auto items = store->items();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0], (ItemRecord{"i1", R"({"title":"uno"})"}));
}

TEST_F(PostgresStore, ServesThroughTheService) {
  test::TempDir dir;
  const auto model = dir / "m.rkm";
  test::write_serving_model(model);
  ServiceOptions o;
  o.model_file = model;
  o.events_cache_ttl_seconds = 0;  // always read the shared store
  Service first(o, open_event_store(url()));
  Service second(o, open_event_store(url()));
  const auto r = test::call(first, "POST", "/events", R"([{"user_id":"u3","item_id":"i12"}])");
  ASSERT_EQ(r.status, 200) << r.body;
  // The other server sees the event at once: i12 is excluded and the online list changed.
  const auto answer = test::call(second, "GET", "/users/u3/events");
  EXPECT_NE(answer.body.find("i12"), std::string::npos) << answer.body;
  const auto rec = nlohmann::json::parse(test::call(second, "GET", "/recommend/u3?k=19").body);
  for (const auto& item : rec.at("items")) EXPECT_NE(item.at("item_id"), "i12");
}

TEST_F(PostgresStore, ItemEditsReachTheOtherServerWithoutAReload) {
  test::TempDir dir;
  const auto model = dir / "m.rkm";
  test::write_serving_model(model);
  ServiceOptions o;
  o.model_file = model;
  o.items_refresh_seconds = 0.2;
  Service first(o, open_event_store(url()));
  Service second(o, open_event_store(url()));
  const auto put = test::call(first, "PATCH", "/items/i7", R"({"topic":"shared"})");
  ASSERT_EQ(put.status, 200) << put.body;
  bool seen = false;
  for (int i = 0; i < 50 && !seen; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    seen = test::call(second, "GET", "/items/i7").body.find("shared") != std::string::npos;
  }
  EXPECT_TRUE(seen) << "the edit did not reach the other server within 5 s";
}

TEST(PostgresStoreErrors, UnreachableServerIsAClearError) {
  try {
    open_event_store("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2");
    FAIL() << "expected an error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:1"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace reckon
