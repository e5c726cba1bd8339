#pragma once
// What both event stores (SQLite, PostgreSQL) must do beyond appending and reading by user:
// user records, reads by item, deletions and retention. Each store's tests call these.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "reckon/serve/event_store.hpp"

namespace reckon::test {

inline std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::vector<std::string> items_of(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.user_id + ":" + e.item_id + ":" + e.type);
  return out;
}

inline void check_records_reads_and_deletions(EventStore& store) {
  using V = std::vector<std::string>;
  // User records: stored, replaced, deleted.
  EXPECT_FALSE(store.user("u1"));
  StoreWrite put;
  put.users.push_back({"u1", R"({"features":{"age":30}})"});
  store.write(put);
  ASSERT_TRUE(store.user("u1"));
  EXPECT_EQ(*store.user("u1"), R"({"features":{"age":30}})");
  put.users[0].json = R"({"features":{"age":31}})";
  store.write(put);
  EXPECT_EQ(*store.user("u1"), R"({"features":{"age":31}})");
  StoreWrite drop;
  drop.users.push_back({"u1", ""});
  store.write(drop);
  EXPECT_FALSE(store.user("u1"));

  // Reads by item: every user's events, newest first.
  const std::vector<Event> events = {{"u1", "a", "view", 1, 100}, {"u1", "a", "like", 1, 200},
                                     {"u1", "b", "view", 1, 150}, {"u2", "a", "view", 1, 300},
                                     {"u2", "c", "view", 1, 50}};
  store.append(events);
  EXPECT_EQ(items_of(store.item_events("a", 10)), (V{"u2:a:view", "u1:a:like", "u1:a:view"}));
  EXPECT_EQ(store.item_events("a", 2).size(), 2u);
  EXPECT_TRUE(store.item_events("nothing", 10).empty());

  // Deletions: one item of one type, then all of a user's events.
  StoreWrite like;
  like.deletions.push_back({"u1", "a", "like"});
  store.write(like);
  EXPECT_EQ(items_of(store.latest("u1", 10)), (V{"u1:b:view", "u1:a:view"}));
  StoreWrite all;
  all.deletions.push_back({"u1", "", ""});
  store.write(all);
  EXPECT_TRUE(store.latest("u1", 10).empty());
  EXPECT_TRUE(store.history("u1", std::numeric_limits<std::int64_t>::max()).empty());
  EXPECT_EQ(items_of(store.item_events("a", 10)), (V{"u2:a:view"}));
  EXPECT_EQ(store.count(), 2);

  // In one write the deletions come first; a deletion queued after an append (likely in the
  // same commit) deletes it.
  StoreWrite both;
  both.deletions.push_back({"u2", "", ""});
  both.events.push_back({"u2", "d", "view", 1, 400});
  store.write(both);
  EXPECT_EQ(items_of(store.latest("u2", 10)), (V{"u2:d:view"}));
  std::atomic<int> done{0};
  StoreWrite add, remove;
  add.events.push_back({"u3", "x", "view", 1, 10});
  add.events.push_back({"u3", "y", "view", 1, 20});
  remove.deletions.push_back({"u3", "x", ""});
  store.write_async(std::move(add), [&](std::exception_ptr) { ++done; });
  store.write_async(std::move(remove), [&](std::exception_ptr) { ++done; });
  store.write(StoreWrite{});
  EXPECT_EQ(done.load(), 2);
  EXPECT_EQ(items_of(store.latest("u3", 10)), (V{"u3:y:view"}));
  EXPECT_EQ(items_of(store.item_events("x", 10)), V{});
}

// Waits (at most 20 s) until `pruned` reaches `want`.
inline bool wait_for_pruned(const std::atomic<std::int64_t>& pruned, std::int64_t want) {
  for (int i = 0; i < 2000 && pruned.load() < want; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return pruned.load() >= want;
}

inline void check_retention(EventStore& store) {
  using V = std::vector<std::string>;
  const std::int64_t now = unix_ms_now(), day = 86'400'000;
  store.append(std::vector<Event>{{"u1", "a", "view", 1, now - 10 * day},
                                  {"u1", "b", "view", 1, now - 60'000},
                                  {"u2", "c", "view", 1, now - 20 * day}});
  std::atomic<std::int64_t> pruned{0};
  Retention r;
  r.max_age_ms = 5 * day;
  r.interval = std::chrono::milliseconds(50);
  r.pruned = [&](std::int64_t n, std::int64_t cutoff) {
    EXPECT_GE(cutoff, now - 5 * day);
    pruned += n;
  };
  store.set_retention(r);
  ASSERT_TRUE(wait_for_pruned(pruned, 2)) << pruned.load();
  EXPECT_EQ(items_of(store.latest("u1", 10)), (V{"u1:b:view"}));
  EXPECT_TRUE(store.latest("u2", 10).empty());
  EXPECT_TRUE(store.item_events("a", 10).empty());
  EXPECT_EQ(store.count(), 1);
  // An old event stored later goes at the next pass; writes go on meanwhile.
  store.append(std::vector<Event>{{"u3", "d", "view", 1, now - 30 * day}});
  ASSERT_TRUE(wait_for_pruned(pruned, 3)) << pruned.load();
  store.append(std::vector<Event>{{"u3", "e", "view", 1, now}});
  EXPECT_EQ(items_of(store.latest("u3", 10)), (V{"u3:e:view"}));
  EXPECT_EQ(pruned.load(), 3);
  store.set_retention({});  // off
}

}  // namespace reckon::test
