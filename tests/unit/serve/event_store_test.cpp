#include "reckon/serve/event_store.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <random>
#include <thread>

#include "test_support.hpp"

namespace reckon {
namespace {

TEST(SqliteEventStore, StoresAndReadsBack) {
  test::TempDir dir;
  auto store = open_sqlite_event_store((dir / "events.db").string());
  const std::vector<Event> events = {{"u1", "a", "view", 1, 100},
                                     {"u2", "b", "play", 2, 150},
                                     {"u1", "c", "rate", 4.5, 300},
                                     {"u1", "d", "view", 1, 200}};
  store->append(events);
  EXPECT_EQ(store->count(), 4);
  const auto latest = store->latest("u1", 2);
  ASSERT_EQ(latest.size(), 2u);
  EXPECT_EQ(latest[0].item_id, "c");  // newest first
  EXPECT_EQ(latest[1].item_id, "d");
  EXPECT_DOUBLE_EQ(latest[0].value, 4.5);
  const auto hist = store->history("u1", 250);
  ASSERT_EQ(hist.size(), 2u);
  EXPECT_EQ(hist[0].item_id, "a");  // oldest first, nothing after 250
  EXPECT_EQ(hist[1].item_id, "d");
  EXPECT_TRUE(store->latest("nobody", 5).empty());
}

TEST(SqliteEventStore, ConcurrentAppendsAreAllStored) {
  test::TempDir dir;
  auto store = open_sqlite_event_store((dir / "events.db").string());
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        const Event e{"user" + std::to_string(t), "item" + std::to_string(i), "view", 1.0, i};
        store->append(std::span<const Event>(&e, 1));
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(store->count(), 800);
  EXPECT_EQ(store->history("user3", 1000).size(), 100u);
}

TEST(SqliteEventStore, SurvivesReopen) {
  test::TempDir dir;
  const auto path = (dir / "events.db").string();
  {
    auto store = open_sqlite_event_store(path);
    const Event e{"u", "i", "view", 1, 5};
    store->append(std::span<const Event>(&e, 1));
  }
  auto again = open_sqlite_event_store(path);
  EXPECT_EQ(again->count(), 1);
  EXPECT_EQ(again->latest("u", 1).at(0).item_id, "i");
}

// Acknowledged events are never lost: a child appends events and reports each acknowledgement
// through a pipe; it is killed with SIGKILL mid-stream; every acknowledged event must be there.
TEST(SqliteEventStore, AcknowledgedEventsSurviveKill9) {
  test::TempDir dir;
  const auto path = (dir / "events.db").string();
  int fd[2];
  ASSERT_EQ(pipe(fd), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fd[0]);
    auto store = open_sqlite_event_store(path);
    for (int i = 0; i < 100000; ++i) {
      const Event e{"u", "item" + std::to_string(i), "view", 1, i};
      store->append(std::span<const Event>(&e, 1));
      if (write(fd[1], &i, sizeof i) != sizeof i) _exit(1);
    }
    _exit(0);
  }
  close(fd[1]);
  int acked = -1, got;
  // Let it run until 200 acknowledgements, then kill it without warning.
  while (acked < 200 && read(fd[0], &got, sizeof got) == sizeof got) acked = got;
  kill(pid, SIGKILL);
  while (read(fd[0], &got, sizeof got) == sizeof got) acked = got;  // acks sent before the kill
  close(fd[0]);
  waitpid(pid, nullptr, 0);
  ASSERT_GE(acked, 200);
  auto store = open_sqlite_event_store(path);
  EXPECT_GE(store->count(), acked + 1);
  const auto hist = store->history("u", acked);
  ASSERT_EQ(hist.size(), static_cast<std::size_t>(acked + 1));
  EXPECT_EQ(hist.back().item_id, "item" + std::to_string(acked));
}

}  // namespace
// The store indexes events by user in rounds (appended first, found through in-memory ids until
// indexed). Small rounds and chunks put reads before, during and after rounds, and reopen the file
// mid-round; every read must equal a reference kept here.
TEST(SqliteEventStore, ReadsAgreeBeforeDuringAndAfterIndexingRounds) {
  test::TempDir dir;
  const auto path = (dir / "events.db").string();
  const SqliteStoreOptions small{.index_every = 7, .index_chunk = 3};
  auto store = open_sqlite_event_store(path, small);
  std::map<std::string, std::vector<Event>> expected;  // per user, in the order stored
  std::mt19937 rng(7);
  const auto check = [&](const std::string& user) {
    auto want = expected[user];
    std::stable_sort(want.begin(), want.end(), [](const Event& a, const Event& b) {
      return a.timestamp_ms < b.timestamp_ms;
    });
    ASSERT_EQ(store->history(user, std::numeric_limits<std::int64_t>::max()), want) << user;
    std::vector<Event> until;
    for (const auto& e : want)
      if (e.timestamp_ms <= 50) until.push_back(e);
    ASSERT_EQ(store->history(user, 50), until) << user;
    std::vector<Event> newest(want.rbegin(), want.rend());
    if (newest.size() > 4) newest.resize(4);
    ASSERT_EQ(store->latest(user, 4), newest) << user;
  };
  std::int64_t total = 0;
  for (int step = 0; step < 120; ++step) {
    std::vector<Event> batch;
    const int n = 1 + static_cast<int>(rng() % 4);
    for (int j = 0; j < n; ++j) {
      const Event e{"u" + std::to_string(rng() % 6), "i" + std::to_string(step * 10 + j), "view",
                    1.0, static_cast<std::int64_t>(rng() % 100)};  // equal times happen
      expected[e.user_id].push_back(e);
      batch.push_back(e);
    }
    store->append(batch);
    total += n;
    for (int u = 0; u < 6; ++u) check("u" + std::to_string(u));
    if (step % 37 == 36) {  // reopen, most likely mid-round
      store.reset();
      store = open_sqlite_event_store(path, small);
    }
  }
  EXPECT_EQ(store->count(), total);
  // Everything indexed at last: a store that never indexes (rounds of 10^9) reads the same.
  store.reset();
  store = open_sqlite_event_store(path, {.index_every = 1u << 30, .index_chunk = 1});
  for (int u = 0; u < 6; ++u) check("u" + std::to_string(u));
}

// Files written by 0.2 have an ordinary index on events (user_id, ts); opening one moves its
// events into the user index once and keeps every event readable.
TEST(SqliteEventStore, OpensAFileOfTheEarlierLayout) {
  test::TempDir dir;
  const auto path = (dir / "events.db").string();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE events (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, "
                         "item_id TEXT NOT NULL, type TEXT NOT NULL, value REAL NOT NULL, ts "
                         "INTEGER NOT NULL);"
                         "CREATE INDEX events_user_ts ON events (user_id, ts);"
                         "CREATE TABLE items (item_id TEXT PRIMARY KEY, json TEXT NOT NULL);"
                         "INSERT INTO events (user_id, item_id, type, value, ts) VALUES "
                         "('u', 'a', 'view', 1, 20), ('v', 'b', 'play', 2, 10), "
                         "('u', 'c', 'rate', 4, 10);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  {
    auto store = open_sqlite_event_store(path);
    EXPECT_EQ(store->count(), 3);
    const auto hist = store->history("u", 100);
    ASSERT_EQ(hist.size(), 2u);
    EXPECT_EQ(hist[0].item_id, "c");
    EXPECT_EQ(hist[1].item_id, "a");
    const Event e{"u", "d", "view", 1, 15};
    store->append(std::span<const Event>(&e, 1));
    EXPECT_EQ(store->latest("u", 2).at(1).item_id, "d");
  }
  auto again = open_sqlite_event_store(path);
  EXPECT_EQ(again->history("u", 100).size(), 3u);
  EXPECT_EQ(again->latest("v", 5).at(0).item_id, "b");
}

}  // namespace reckon

#include "store_contract.hpp"

namespace reckon {
namespace {

TEST(SqliteEventStore, UserRecordsItemReadsAndDeletions) {
  test::TempDir dir;
  auto store = open_sqlite_event_store((dir / "events.db").string());
  test::check_records_reads_and_deletions(*store);
}

// The same with rounds of two events: deletions meet events waiting, mid-round and indexed.
TEST(SqliteEventStore, DeletionsInEveryStateOfTheIndex) {
  test::TempDir dir;
  auto store = open_sqlite_event_store((dir / "events.db").string(),
                                       {.index_every = 2, .index_chunk = 1});
  test::check_records_reads_and_deletions(*store);
}

TEST(SqliteEventStore, RetentionPrunesOldEventsInTheBackground) {
  test::TempDir dir;
  auto store = open_sqlite_event_store((dir / "events.db").string());
  test::check_retention(*store);
}

TEST(SqliteEventStore, RetentionWithSmallRounds) {
  test::TempDir dir;
  auto store = open_sqlite_event_store((dir / "events.db").string(),
                                       {.index_every = 2, .index_chunk = 1});
  test::check_retention(*store);
}

// Random appends and deletions with small rounds and reopens: every read by user and by item
// equals a reference kept here.
TEST(SqliteEventStore, ReadsAgreeWithDeletionsAcrossRounds) {
  test::TempDir dir;
  const auto path = (dir / "events.db").string();
  const SqliteStoreOptions small{.index_every = 5, .index_chunk = 2};
  auto store = open_sqlite_event_store(path, small);
  std::vector<Event> expected;  // in the order stored
  std::mt19937 rng(11);
  const auto show = [](const std::vector<Event>& v) {
    std::vector<std::string> out;
    for (const auto& e : v)
      out.push_back(e.user_id + ":" + e.item_id + "@" + std::to_string(e.timestamp_ms));
    return out;
  };
  const auto check = [&] {
    for (int u = 0; u < 5; ++u) {
      const std::string user = "u" + std::to_string(u);
      std::vector<Event> want;
      for (const auto& e : expected)
        if (e.user_id == user) want.push_back(e);
      std::stable_sort(want.begin(), want.end(), [](const Event& a, const Event& b) {
        return a.timestamp_ms < b.timestamp_ms;
      });
      ASSERT_EQ(show(store->history(user, std::numeric_limits<std::int64_t>::max())), show(want))
          << user;
    }
    for (int i = 0; i < 4; ++i) {
      const std::string item = "i" + std::to_string(i);
      std::vector<Event> want;
      for (const auto& e : expected)
        if (e.item_id == item) want.push_back(e);
      std::stable_sort(want.begin(), want.end(), [](const Event& a, const Event& b) {
        return a.timestamp_ms < b.timestamp_ms;
      });
      std::reverse(want.begin(), want.end());  // newest first; ties: the later stored first
      ASSERT_EQ(show(store->item_events(item, 1000)), show(want)) << item;
    }
  };
  for (int step = 0; step < 150; ++step) {
    StoreWrite w;
    if (rng() % 4 == 0) {
      EventDeletion d{"u" + std::to_string(rng() % 5), "", ""};
      if (rng() % 2) d.item_id = "i" + std::to_string(rng() % 4);
      std::erase_if(expected, [&](const Event& e) {
        return e.user_id == d.user_id && (d.item_id.empty() || e.item_id == d.item_id);
      });
      w.deletions.push_back(d);
    }
    const int n = static_cast<int>(rng() % 4);
    for (int j = 0; j < n; ++j) {
      const Event e{"u" + std::to_string(rng() % 5), "i" + std::to_string(rng() % 4), "view",
                    1.0, static_cast<std::int64_t>(step * 10 + j)};
      expected.push_back(e);
      w.events.push_back(e);
    }
    store->write(std::move(w));
    SCOPED_TRACE(step);
    check();
    if (step % 41 == 40) {
      store.reset();
      store = open_sqlite_event_store(path, small);
    }
  }
  EXPECT_EQ(store->count(), static_cast<std::int64_t>(expected.size()));
  store.reset();
  store = open_sqlite_event_store(path, {.index_every = 1u << 30, .index_chunk = 1});
  check();
}

// A 0.8 file has events_by_user but no events_by_item: opening it indexes its events by item.
TEST(SqliteEventStore, IndexesAnEarlierFileByItem) {
  test::TempDir dir;
  const auto path = (dir / "events.db").string();
  {
    auto store = open_sqlite_event_store(path, {.index_every = 1, .index_chunk = 100});
    store->append(std::vector<Event>{{"u", "a", "view", 1, 10}, {"v", "a", "view", 1, 20}});
    store->append(std::vector<Event>{{"w", "b", "view", 1, 30}});
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE events_by_item", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto store = open_sqlite_event_store(path);
  EXPECT_EQ(test::items_of(store->item_events("a", 10)),
            (std::vector<std::string>{"v:a:view", "u:a:view"}));
  EXPECT_EQ(store->item_events("b", 10).size(), 1u);
}

}  // namespace
}  // namespace reckon
