#include "reckon/serve/service.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "serve_fixture.hpp"

namespace reckon {
namespace {

using nlohmann::json;
using test::call;

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = dir_ / "m.rkm";
    test::write_serving_model(model_);
  }

  std::unique_ptr<Service> start(bool precompute = true, std::size_t max_events = 10'000,
                                 bool keep_online = true, const char* db = "events.db") {
    ServiceOptions o;
    o.model_file = model_;
    o.snapshot.precompute_offline = precompute;
    o.max_events_per_request = max_events;
    o.keep_online_lists = keep_online;
    auto s = std::make_unique<Service>(o, open_sqlite_event_store((dir_ / db).string()));
    s->snapshot()->wait_offline_ready();
    return s;
  }

  static json get(Service& s, const std::string& target) {
    const auto r = call(s, "GET", target);
    EXPECT_EQ(r.status, 200) << target << " " << r.body;
    return json::parse(r.body);
  }

  static std::vector<std::string> ids(const json& answer) {
    std::vector<std::string> out;
    for (const auto& item : answer.at("items")) out.push_back(item.at("item_id"));
    return out;
  }

  static std::set<std::string> training_items(const std::string& user) {
    const auto d = test::serving_dataset();
    std::set<std::string> out;
    for (index_t i : d->interactions.row_indices(*d->users.find(user))) out.insert(d->items.id(i));
    return out;
  }

  void post_events(Service& s, const json& events) {
    const auto r = call(s, "POST", "/events", events.dump(), "application/json");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body).at("accepted"), events.is_array() ? events.size() : 1u);
  }

  test::TempDir dir_;
  std::filesystem::path model_;
};

int group_of(const std::string& item) { return std::stoi(item.substr(1)) < 10 ? 0 : 1; }

TEST_F(ServiceTest, HealthDescribesTheModel) {
  auto s = start();
  const auto h = get(*s, "/health");
  EXPECT_EQ(h.at("status"), "ok");
  EXPECT_EQ(h.at("model"), "ials");
  EXPECT_EQ(h.at("users"), 40);
  EXPECT_EQ(h.at("items"), 20);
  EXPECT_EQ(h.at("offline_ready"), true);
  EXPECT_FALSE(h.at("version").get<std::string>().empty());
  // The similar lists follow the offline ones in the background; bounded wait.
  bool similar = false;
  for (int i = 0; i < 500 && !similar; ++i) {
    similar = get(*s, "/health").at("similar_ready").get<bool>();
    if (!similar) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(similar);
}

TEST_F(ServiceTest, OfflineRanksTheUsersGroupAndExcludesTraining) {
  auto s = start();
  const auto r = get(*s, "/recommend/u3?k=4&mode=offline");
  EXPECT_EQ(r.at("user_id"), "u3");
  EXPECT_EQ(r.at("mode"), "offline");
  EXPECT_EQ(r.at("source"), "model");
  const auto items = ids(r);
  ASSERT_EQ(items.size(), 4u);
  const auto seen = training_items("u3");
  for (const auto& i : items) {
    EXPECT_FALSE(seen.count(i)) << i;
    EXPECT_EQ(group_of(i), 0) << i;  // 4 unseen items of group A exist: all of them first
  }
  // Metadata from the training data rides along.
  const auto& first = r.at("items").at(0);
  EXPECT_EQ(first.at("title"), "Item \"" + first.at("item_id").get<std::string>().substr(1) + "\"");
  EXPECT_EQ(first.at("genres"), json::array({"A", "all"}));
}

TEST_F(ServiceTest, PrecomputedListsEqualOnDemandScoring) {
  auto pre = start(true);
  auto lazy = start(false);
  for (const char* user : {"u0", "u7", "u25", "u39"}) {
    const std::string target = std::string("/recommend/") + user + "?k=10&mode=offline";
    const auto a = get(*pre, target), b = get(*lazy, target);
    // The same ranking up to float rounding (batched and single products differ in the last
    // bits, which may swap near-ties among the other group's items).
    ASSERT_EQ(a.at("items").size(), 10u);
    ASSERT_EQ(b.at("items").size(), 10u);
    for (std::size_t r = 0; r < 10; ++r)
      EXPECT_NEAR(a["items"][r]["score"].get<double>(), b["items"][r]["score"].get<double>(), 1e-4)
          << user << " rank " << r;
    auto ia = ids(a), ib = ids(b);
    ia.resize(4);
    ib.resize(4);
    EXPECT_EQ(ia, ib) << user;  // the user's own group: clearly ahead
  }
}

TEST_F(ServiceTest, UnknownUsersGetPopularItems) {
  auto s = start();
  for (const char* mode : {"offline", "online", "blended"}) {
    const auto r = get(*s, std::string("/recommend/stranger?k=5&mode=") + mode);
    EXPECT_EQ(r.at("source"), "popular") << mode;
    EXPECT_EQ(ids(r), ids(get(*s, "/popular?k=5"))) << mode;
  }
}

TEST_F(ServiceTest, NewUsersWithEventsGetTheModelOnline) {
  auto s = start();
  post_events(*s, json{{{"user_id", "newcomer"}, {"item_id", "i13"}},
                       {{"user_id", "newcomer"}, {"item_id", "i14"}}});
  const auto online = get(*s, "/recommend/newcomer?k=4&mode=online");
  EXPECT_EQ(online.at("source"), "model");
  for (const auto& id : ids(online)) {
    EXPECT_EQ(group_of(id), 1) << id;  // folded in from two group-B items
    EXPECT_TRUE(id != "i13" && id != "i14");
  }
  // Offline knows nothing of them: popular items, minus what they saw.
  const auto offline = get(*s, "/recommend/newcomer?k=4&mode=offline");
  EXPECT_EQ(offline.at("source"), "popular");
}

TEST_F(ServiceTest, PostedSessionsAreFoldedInAndCheckedHard) {
  auto s = start();
  auto post = [&](const json& body) {
    return call(*s, "POST", "/recommend", body.dump(), "application/json");
  };
  const auto r = post(json{{"items", {"i13", "i14"}}, {"k", 4}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json answer = json::parse(r.body);
  EXPECT_EQ(answer.at("source"), "model");
  EXPECT_EQ(answer.at("mode"), "session");
  ASSERT_EQ(ids(answer).size(), 4u);
  for (const auto& id : ids(answer)) {
    EXPECT_EQ(group_of(id), 1) << id;
    EXPECT_TRUE(id != "i13" && id != "i14");
  }
  // Nothing at all: popular items.
  EXPECT_EQ(json::parse(post(json::object()).body).at("source"), "popular");
  // Bad bodies are 4xx JSON errors naming the problem.
  EXPECT_EQ(post(json{{"items", {"nope"}}}).status, 422);
  EXPECT_EQ(post(json{{"items", "i1"}}).status, 422);
  EXPECT_EQ(post(json{{"k", 0}}).status, 422);
  EXPECT_EQ(post(json{{"colour", 1}}).status, 422);
  const auto unknown_feature = post(json{{"features", {{"planet", "mars"}}}});
  EXPECT_EQ(unknown_feature.status, 422);
  EXPECT_NE(unknown_feature.body.find("planet"), std::string::npos);
  EXPECT_EQ(call(*s, "POST", "/recommend", "{", "application/json").status, 400);
  EXPECT_EQ(call(*s, "POST", "/recommend", "{}", "text/csv").status, 415);
  EXPECT_EQ(call(*s, "GET", "/recommend").status, 405);
}

TEST_F(ServiceTest, NewItemsWithFeaturesAreRecommendedWithoutRetraining) {
  // Items are their genres alone: a new item of genre B is placed among the B items.
  test::write_serving_model(model_, "hybrid",
                            {{"factors", "8"}, {"epochs", "60"}, {"columns", "genres"},
                             {"item_ids", "false"}});
  auto s = start();
  auto put = [&](const std::string& id, const json& body) {
    const auto r = call(*s, "PUT", "/items/" + id, body.dump(), "application/json");
    ASSERT_EQ(r.status, 200) << r.body;
  };
  put("fresh", json{{"genres", {"B", "all"}}, {"title", "A new one"}});
  put("odd", json{{"genres", {"Z"}}});  // nothing the model knows
  EXPECT_EQ(get(*s, "/items/fresh").at("placed"), true);
  EXPECT_EQ(get(*s, "/items/odd").at("placed"), false);
  // A group-B user sees it among the group's unseen items, above every A item, marked new.
  for (const char* mode : {"offline", "online", "blended"}) {
    const auto r = get(*s, std::string("/recommend/u25?k=6&mode=") + mode);
    const auto list = ids(r);
    const auto at = std::find(list.begin(), list.end(), "fresh");
    ASSERT_NE(at, list.end()) << mode << " " << r.dump();
    for (auto it = list.begin(); it != at; ++it) EXPECT_EQ(group_of(*it), 1) << mode << *it;
    EXPECT_EQ(r.at("items")[at - list.begin()].at("from"), "new");
    EXPECT_EQ(r.at("items")[at - list.begin()].at("title"), "A new one");
  }
  // A group-A user has it below the A items.
  const auto a = ids(get(*s, "/recommend/u3?k=4&mode=offline"));
  EXPECT_EQ(std::find(a.begin(), a.end(), "fresh"), a.end());
  // Its similar items are the B items; the unplaceable one says why.
  const auto sim = get(*s, "/similar/fresh?k=5");
  for (const auto& id : ids(sim)) EXPECT_EQ(group_of(id), 1) << id;
  EXPECT_EQ(ids(sim).size(), 5u);
  const auto odd = call(*s, "GET", "/similar/odd");
  EXPECT_EQ(odd.status, 404);
  EXPECT_NE(odd.body.find("cannot place it"), std::string::npos) << odd.body;
  // A session of B items gets it too.
  const auto post = call(*s, "POST", "/recommend", json{{"items", {"i12", "i13"}}, {"k", 9}}.dump(),
                         "application/json");
  const auto session = ids(json::parse(post.body));
  EXPECT_NE(std::find(session.begin(), session.end(), "fresh"), session.end()) << post.body;
}

TEST_F(ServiceTest, OnlineFollowsNewEventsAndExcludesThem) {
  auto s = start();
  const auto before = get(*s, "/recommend/u3?k=6&mode=online");
  EXPECT_EQ(ids(before), ids(get(*s, "/recommend/u3?k=6&mode=offline")));  // no events yet
  // u3 (group A) turns to group B.
  const json events = {{{"user_id", "u3"}, {"item_id", "i10"}, {"timestamp", 2'000'000}},
                       {{"user_id", "u3"}, {"item_id", "i11"}, {"timestamp", 2'000'001}},
                       {{"user_id", "u3"}, {"item_id", "i12"}, {"timestamp", 2'000'002}}};
  post_events(*s, events);
  const auto after = get(*s, "/recommend/u3?k=6&mode=online");
  EXPECT_NE(ids(after), ids(before));
  int group_b = 0;
  bool similar = false;
  for (const auto& item : after.at("items")) {
    const std::string id = item.at("item_id");
    EXPECT_TRUE(id != "i10" && id != "i11" && id != "i12") << id;
    group_b += group_of(id);
    similar |= item.at("from") == "similar";
  }
  EXPECT_GE(group_b, 2);  // the fold-in and the similar items bring group B in
  EXPECT_TRUE(similar);
  // Offline ignores the new taste but no longer shows what was just seen.
  for (const auto& id : ids(get(*s, "/recommend/u3?k=6&mode=offline")))
    EXPECT_TRUE(id != "i10" && id != "i11" && id != "i12") << id;
  // at= before the events: as if they had not happened (timestamps are unix seconds).
  EXPECT_EQ(ids(get(*s, "/recommend/u3?k=6&mode=online&at=1970-01-20T00:00:00Z")), ids(before));
}

// Online lists are kept with the user's events until the next one: the kept answer equals the
// one computed afresh, every k gets a prefix of the same list, and a new event replaces it.
TEST_F(ServiceTest, KeptOnlineListsEqualRecomputedOnesUntilTheNextEvent) {
  auto kept = start();
  auto fresh = start(true, 10'000, /*keep_online=*/false, "fresh.db");
  auto both = [&](const json& events) {
    post_events(*kept, events);
    post_events(*fresh, events);
  };
  both(json{{{"user_id", "u3"}, {"item_id", "i10"}, {"timestamp", 2'000'000}},
            {{"user_id", "u3"}, {"item_id", "i14"}, {"timestamp", 2'000'001}}});
  for (const char* mode : {"online", "blended"}) {
    const std::string target = std::string("/recommend/u3?k=8&mode=") + mode;
    const auto first = get(*kept, target);         // computes and keeps the list
    EXPECT_EQ(get(*kept, target), first) << mode;  // from the kept list
    EXPECT_EQ(get(*fresh, target).at("items"), first.at("items")) << mode;
    // Pages agree: k=3 is the start of k=8.
    const auto short_list = ids(get(*kept, std::string("/recommend/u3?k=3&mode=") + mode));
    const auto long_list = ids(first);
    EXPECT_EQ(short_list, std::vector<std::string>(long_list.begin(), long_list.begin() + 3));
    // More than there is: every candidate, starting with the same 8, as computed afresh.
    const std::string all = std::string("/recommend/u3?k=30&mode=") + mode;
    const auto every = ids(get(*kept, all));
    ASSERT_GT(every.size(), long_list.size());
    EXPECT_EQ(std::vector<std::string>(every.begin(), every.begin() + 8), long_list);
    EXPECT_EQ(every, ids(get(*fresh, all)));
  }
  const auto before = ids(get(*kept, "/recommend/u3?k=8&mode=online"));
  both(json{{{"user_id", "u3"}, {"item_id", before.front()}, {"timestamp", 2'000'002}}});
  const auto after = ids(get(*kept, "/recommend/u3?k=8&mode=online"));
  EXPECT_EQ(after, ids(get(*fresh, "/recommend/u3?k=8&mode=online")));
  for (const auto& id : after) EXPECT_NE(id, before.front()) << "a kept list outlived an event";
}

TEST_F(ServiceTest, AtAlsoCutsTheTrainingHistory) {
  auto s = start();
  // u3's training items have times 1,000,300 .. 1,000,305: at 1,000,302 three remain.
  const auto seen = training_items("u3");
  const auto r = get(*s, "/recommend/u3?k=20&mode=offline&at=1000302");
  const auto items = ids(r);
  int seen_back = 0;
  for (const auto& i : items) seen_back += static_cast<int>(seen.count(i));
  EXPECT_EQ(seen_back, 3);  // the three later training items are candidates again
  EXPECT_EQ(items.size(), 17u);
}

// ials explains by the history: each item's largest terms, history items of the user's, the
// new events' items too once they are folded in.
TEST_F(ServiceTest, FactorAndNeighbourModelsExplainByTheHistory) {
  for (const char* model : {"ials", "itemknn", "ease"}) {
    test::write_serving_model(model_, model, {});
    auto s = start();
    const auto history = training_items("u3");
    const auto r = get(*s, "/recommend/u3?k=3&explain=true&mode=offline");
    ASSERT_EQ(r.at("items").size(), 3u) << model;
    for (const auto& item : r.at("items")) {
      ASSERT_FALSE(item.at("explanation").empty()) << model << item.dump();
      float previous = std::numeric_limits<float>::infinity();
      for (const auto& c : item.at("explanation")) {
        EXPECT_EQ(history.count(c.at("item_id").get<std::string>()), 1u) << model << c.dump();
        EXPECT_LE(c.at("contribution").get<float>(), previous);
        previous = c.at("contribution").get<float>();
      }
    }
    post_events(*s, json{{"user_id", "u3"}, {"item_id", "i15"}, {"type", "like"}});
    const auto online = get(*s, "/recommend/u3?k=5&explain=true&mode=online");
    bool from_event = false;
    for (const auto& item : online.at("items"))
      for (const auto& c : item.at("explanation")) from_event |= c.at("item_id") == "i15";
    EXPECT_TRUE(from_event) << model << online.dump();
    s->close();
  }
  test::write_serving_model(model_, "popular", {});
  auto s = start();
  const auto r = call(*s, "GET", "/recommend/u3?k=3&explain=true");
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(r.body.find("not_supported"), std::string::npos) << r.body;
}

TEST_F(ServiceTest, RankerExplainsItsItemsAndTakesTheMoment) {
  test::write_serving_model(model_, "ranker",
                            {{"candidates", "ials:10,popular:10"}, {"ials.factors", "8"},
                             {"rounds", "20"}});
  auto s = start();
  for (const char* mode : {"offline", "online", "blended"}) {
    const auto r = get(*s, std::string("/recommend/u3?k=5&explain=true&mode=") + mode);
    ASSERT_EQ(r.at("items").size(), 5u) << r.dump();
    EXPECT_EQ(r.at("model"), "ranker");
    std::size_t explained = 0;
    for (const auto& item : r.at("items")) {
      ASSERT_TRUE(item.contains("explanation")) << item.dump();
      for (const auto& c : item.at("explanation")) {
        EXPECT_TRUE(c.at("feature").is_string());
        EXPECT_TRUE(c.at("contribution").is_number());
      }
      explained += !item.at("explanation").empty();
    }
    EXPECT_GT(explained, 0u) << mode << r.dump();
  }
  // Without explain the answer has none; a moment is taken (the list is computed for it).
  const auto plain = get(*s, "/recommend/u3?k=5&mode=offline");
  EXPECT_FALSE(plain.at("items")[0].contains("explanation"));
  EXPECT_EQ(get(*s, "/recommend/u3?k=5&mode=offline&at=1500000").at("items").size(), 5u);
  EXPECT_EQ(call(*s, "GET", "/recommend/u3?explain=maybe").status, 422);
}

TEST_F(ServiceTest, BlendedAlternatesWithoutDuplicates) {
  auto s = start();
  post_events(
      *s, json{{{"user_id", "u3"}, {"item_id", "i10"}}, {{"user_id", "u3"}, {"item_id", "i11"}}});
  const auto r = get(*s, "/recommend/u3?k=12");
  EXPECT_EQ(r.at("mode"), "blended");
  const auto items = ids(r);
  EXPECT_EQ(items.size(), 12u);
  EXPECT_EQ(std::set<std::string>(items.begin(), items.end()).size(), items.size());
  const auto offline = ids(get(*s, "/recommend/u3?k=12&mode=offline"));
  EXPECT_EQ(items.at(0), offline.at(0));  // even positions start from the offline list
  const auto& list = r.at("items");
  EXPECT_EQ(list.at(0).at("from"), "offline");
  EXPECT_NE(list.at(1).at("from"), "offline");  // odd: the online list (fold-in or similar)
  for (const auto& id : items) EXPECT_TRUE(id != "i10" && id != "i11");
}

TEST_F(ServiceTest, EventsAreStoredAndListedNewestFirst) {
  auto s = start();
  post_events(*s, json{{"user_id", "u1"},
                       {"item_id", "i2"},
                       {"type", "play"},
                       {"value", 3.5},
                       {"timestamp", "2026-01-02T03:04:05Z"}});
  post_events(*s, json{{{"user_id", "u1"}, {"item_id", "i3"}, {"timestamp", 1767323046.5}},
                       {{"user_id", 7}, {"item_id", 8}}});
  const auto r = get(*s, "/users/u1/events?limit=5");
  ASSERT_EQ(r.at("events").size(), 2u);
  EXPECT_EQ(r.at("events")[0].at("item_id"), "i3");
  EXPECT_EQ(r.at("events")[0].at("timestamp"), "2026-01-02T03:04:06.500Z");
  EXPECT_EQ(r.at("events")[1].at("type"), "play");
  EXPECT_EQ(r.at("events")[1].at("value"), 3.5);
  EXPECT_EQ(r.at("events")[1].at("timestamp"), "2026-01-02T03:04:05Z");
  EXPECT_EQ(get(*s, "/users/u1/events?limit=1").at("events").size(), 1u);
  EXPECT_EQ(get(*s, "/users/7/events").at("events").at(0).at("item_id"), "8");  // numbers as ids
  EXPECT_EQ(s->store().count(), 3);
}

TEST_F(ServiceTest, ItemMetadataCanBeReplacedAndPersists) {
  {
    auto s = start();
    EXPECT_EQ(get(*s, "/items/i4").at("title"), "Item \"4\"");
    const auto put = call(*s, "PUT", "/items/i4", R"({"title":"Renamed","topic":"news"})");
    ASSERT_EQ(put.status, 200) << put.body;
    EXPECT_EQ(json::parse(put.body).at("title"), "Renamed");
    EXPECT_EQ(get(*s, "/items/i4").at("topic"), "news");
    // Answers carry the new metadata.
    bool found = false;
    const auto answer = get(*s, "/recommend/u3?k=20&mode=offline");  // (outlives the loop)
    for (const auto& item : answer.at("items"))
      if (item.at("item_id") == "i4") found = item.at("title") == "Renamed";
    const auto seen = training_items("u3");
    if (!seen.count("i4")) {
      EXPECT_TRUE(found);
    }
    // A new item (not in the model) can be described too.
    ASSERT_EQ(call(*s, "PUT", "/items/new-post", R"({"text":"hello"})").status, 200);
    EXPECT_EQ(get(*s, "/items/new-post").at("in_model"), false);
  }
  auto again = start();
  EXPECT_EQ(get(*again, "/items/i4").at("title"), "Renamed");
  // An edit another server stored reaches this one at the next reload.
  open_sqlite_event_store((dir_ / "events.db").string())
      ->put_item("i5", R"({"title":"Elsewhere"})");
  ASSERT_EQ(call(*again, "POST", "/admin/reload").status, 200);
  EXPECT_EQ(get(*again, "/items/i5").at("title"), "Elsewhere");
  EXPECT_EQ(get(*again, "/items/new-post").at("text"), "hello");
}

TEST_F(ServiceTest, SimilarAndPopular) {
  auto s = start();
  const auto r = get(*s, "/similar/i12?k=5");
  ASSERT_EQ(r.at("items").size(), 5u);
  for (const auto& id : ids(r)) {
    EXPECT_NE(id, "i12");
    EXPECT_EQ(group_of(id), 1) << id;
  }
  const auto p = get(*s, "/popular?k=3");
  EXPECT_EQ(p.at("source"), "popular");
  EXPECT_EQ(p.at("items").size(), 3u);
  EXPECT_GE(p.at("items")[0].at("score").get<double>(), p.at("items")[2].at("score").get<double>());
}

TEST_F(ServiceTest, BadRequestsGetJsonErrors) {
  auto s = start(true, /*max_events=*/5);
  struct Case {
    std::string method, target, body, content_type;
    int status;
    std::string code;
  };
  const std::vector<Case> cases = {
      {"GET", "/nowhere", "", "", 404, "not_found"},
      {"DELETE", "/recommend/u1", "", "", 405, "method_not_allowed"},
      {"GET", "/events", "", "", 405, "method_not_allowed"},
      {"GET", "/recommend/u1?k=abc", "", "", 422, "invalid_parameter"},
      {"GET", "/recommend/u1?k=0", "", "", 422, "invalid_parameter"},
      {"GET", "/recommend/u1?k=101", "", "", 422, "invalid_parameter"},
      {"GET", "/recommend/u1?mode=fast", "", "", 422, "invalid_parameter"},
      {"GET", "/recommend/u1?at=yesterday", "", "", 422, "invalid_parameter"},
      {"GET", "/similar/nope", "", "", 404, "not_found"},
      {"GET", "/items/nope", "", "", 404, "not_found"},
      {"GET", "/recommend/%zz", "", "", 400, "bad_request"},
      {"GET", "/recommend/%ff%fe", "", "", 400, "bad_request"},
      {"GET", "/users/u1/events?limit=0", "", "", 422, "invalid_parameter"},
      {"POST", "/events", "{\"user_id\":", "", 400, "malformed_json"},
      {"POST", "/events", "{\"user_id\":\"\xff\"}", "", 400, "malformed_json"},
      {"POST", "/events", "42", "", 422, "invalid_event"},
      {"POST", "/events", R"({"user_id":true,"item_id":"i1"})", "", 422, "invalid_event"},
      {"POST", "/events", R"({"user_id":"u1"})", "", 422, "invalid_event"},
      {"POST", "/events", R"({"user_id":"u1","item_id":"i1","value":"x"})", "", 422,
       "invalid_event"},
      {"POST", "/events", R"({"user_id":"u1","item_id":"i1","timestamp":"soon"})", "", 422,
       "invalid_event"},
      {"POST", "/events", R"([{"user_id":"u1","item_id":"i1"}, 3])", "", 422, "invalid_event"},
      {"POST", "/events", R"([{},{},{},{},{},{}])", "", 413, "too_many_events"},
      {"POST", "/events", R"({"user_id":"u1","item_id":"i1"})", "text/xml", 415,
       "unsupported_media_type"},
      {"PUT", "/items/i1", "[1,2]", "", 422, "invalid_item"},
      {"PUT", "/items/i1", "{", "", 400, "malformed_json"},
  };
  for (const auto& c : cases) {
    const auto r = call(*s, c.method, c.target, c.body, c.content_type);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.target << " " << c.body << ": " << r.body;
    const auto body = json::parse(r.body, nullptr, false);
    ASSERT_FALSE(body.is_discarded()) << r.body;
    EXPECT_EQ(body["error"]["code"], c.code) << c.target << " " << c.body;
    EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
  }
  EXPECT_EQ(call(*s, "POST", "/items/i1").allow, "GET, PUT, PATCH, DELETE");
  EXPECT_EQ(s->store().count(), 0);  // nothing half-stored from the bad arrays
}

TEST_F(ServiceTest, MetricsCountRequestsPerRoute) {
  auto s = start();
  for (int i = 0; i < 3; ++i) get(*s, "/recommend/u1?k=2");
  post_events(*s, json{{"user_id", "u1"}, {"item_id", "i2"}});
  call(*s, "GET", "/nowhere");
  // The HTTP layer times requests and reports them; here we report by hand as it would.
  s->metrics().observe(Route::kRecommend, 200, 0.0003);
  s->metrics().observe(Route::kOther, 404, 0.00001);
  const auto m = call(*s, "GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.content_type.find("text/plain"), std::string::npos);
  for (const char* line :
       {"reckon_http_requests_total{route=\"/recommend\",code=\"200\"} 1",
        "reckon_http_requests_total{route=\"other\",code=\"404\"} 1",
        "reckon_http_request_duration_seconds_bucket{route=\"/recommend\",le=\"0.0005\"} 1",
        "reckon_http_request_duration_seconds_bucket{route=\"/recommend\",le=\"0.00025\"} 0",
        "reckon_http_request_duration_seconds_count{route=\"/recommend\"} 1",
        "reckon_events_stored_total 1", "reckon_events_in_store 1",
        "reckon_model_info{model=\"ials\"", "reckon_offline_lists_ready 1"})
    EXPECT_NE(m.body.find(line), std::string::npos) << line << "\n" << m.body;
}

TEST_F(ServiceTest, ReloadSwapsTheModelAndKeepsTheOldOneOnFailure) {
  auto s = start();
  EXPECT_EQ(get(*s, "/health").at("model"), "ials");
  test::write_serving_model(model_, "itemknn", {});
  const auto r = call(*s, "POST", "/admin/reload");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body).at("model"), "itemknn");
  EXPECT_EQ(get(*s, "/health").at("model"), "itemknn");
  {
    std::ofstream broken(model_, std::ios::trunc);
    broken << "not a model";
  }
  const auto failed = call(*s, "POST", "/admin/reload");
  EXPECT_EQ(failed.status, 500);
  EXPECT_EQ(json::parse(failed.body)["error"]["code"], "reload_failed");
  EXPECT_EQ(get(*s, "/health").at("model"), "itemknn");
  EXPECT_EQ(get(*s, "/recommend/u3?k=3").at("items").size(), 3u);
}

// --watch-model: a model published by an atomic rename into the served path is picked up
// without a request; a broken file is not served and not retried until it changes again.
TEST_F(ServiceTest, WatchedModelFileIsReloadedWhenItChanges) {
  ServiceOptions o;
  o.model_file = model_;
  o.snapshot.precompute_offline = false;
  o.watch_model_seconds = 0.1;
  auto s = std::make_unique<Service>(o, open_sqlite_event_store((dir_ / "w.db").string()));
  EXPECT_EQ(get(*s, "/health").at("model"), "ials");
  const auto wait_for_model = [&](const std::string& name) {
    for (int i = 0; i < 100 && get(*s, "/health").at("model") != name; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return get(*s, "/health").at("model") == name;
  };
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(get(*s, "/health").at("model"), "ials");  // unchanged: no reload
  test::write_serving_model(dir_ / "next.rkm", "itemknn", {});
  std::filesystem::rename(dir_ / "next.rkm", model_);
  EXPECT_TRUE(wait_for_model("itemknn"));
  {
    std::ofstream broken(dir_ / "broken.rkm");
    broken << "not a model";
  }
  std::filesystem::rename(dir_ / "broken.rkm", model_);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(get(*s, "/health").at("model"), "itemknn");
  EXPECT_EQ(get(*s, "/recommend/u3?k=3").at("items").size(), 3u);
  test::write_serving_model(dir_ / "next.rkm", "ials", {{"factors", "8"}});
  std::filesystem::rename(dir_ / "next.rkm", model_);
  EXPECT_TRUE(wait_for_model("ials"));
}

}  // namespace
}  // namespace reckon
