#include "reckon/serve/event_store.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

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
}  // namespace reckon
