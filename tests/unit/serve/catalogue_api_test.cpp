// The catalogue routes beyond items: users with features (cold start), feedback listed per item
// and deleted, /latest, retention of old events, and that every new write route needs the key.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "reckon/serve/service.hpp"
#include "serve_fixture.hpp"

namespace reckon {
namespace {

using nlohmann::json;
using test::call;

class CatalogueApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The serving data, with a gender per user: u0..u19 (items i0..i9) "F", the others "M".
    Dataset d = *test::serving_dataset();
    d.user_features = FeatureTable(d.num_users());
    auto& gender = d.user_features.column("gender", FeatureKind::kCategorical);
    for (index_t u = 0; u < d.num_users(); ++u)
      gender.add_label(u, std::stoi(d.users.id(u).substr(1)) < 20 ? "F" : "M");
    FitContext ctx;
    ctx.threads = 1;
    ctx.verbose = false;
    model_ = dir_ / "m.rkm";
    save_model_file(train_model("ials", std::make_shared<const Dataset>(std::move(d)),
                                {{"factors", "8"}}, ctx),
                    model_);
  }

  std::unique_ptr<Service> start(ServiceOptions o = {}) {
    o.model_file = model_;
    auto s = std::make_unique<Service>(o, open_sqlite_event_store((dir_ / "events.db").string()));
    s->snapshot()->wait_offline_ready();
    return s;
  }

  static json ok(Service& s, const std::string& method, const std::string& target,
                 const std::string& body = "") {
    const auto r = call(s, method, target, body, body.empty() ? "" : "application/json");
    EXPECT_EQ(r.status, 200) << method << " " << target << " " << r.body;
    return json::parse(r.body);
  }

  static std::vector<std::string> ids(const json& answer) {
    std::vector<std::string> out;
    for (const auto& item : answer.at("items")) out.push_back(item.at("item_id"));
    return out;
  }

  static int group_of(const std::string& item) { return std::stoi(item.substr(1)) < 10 ? 0 : 1; }

  test::TempDir dir_;
  std::filesystem::path model_;
};

TEST_F(CatalogueApiTest, UsersAreStoredWithFeaturesForColdStart) {
  auto s = start();
  // A training user: their features come from the data.
  const auto u0 = ok(*s, "GET", "/users/u0");
  EXPECT_EQ(u0.at("in_model"), true);
  EXPECT_EQ(u0.at("stored"), false);
  EXPECT_EQ(u0.at("features").at("gender"), "F");
  EXPECT_EQ(call(*s, "GET", "/users/nobody").status, 404);

  // A new user with demographics: the demographic fallback answers from users like them.
  const auto put = ok(*s, "PUT", "/users/newcomer",
                      R"({"features": {"gender": "M"}, "labels": ["trial"]})");
  EXPECT_EQ(put.at("stored"), true);
  EXPECT_EQ(put.at("in_model"), false);
  EXPECT_EQ(put.at("labels"), json::array({"trial"}));
  const auto rec = ok(*s, "GET", "/recommend/newcomer?k=5");
  EXPECT_EQ(rec.at("source"), "demographic-popular");
  for (const auto& id : ids(rec)) EXPECT_EQ(group_of(id), 1) << id;
  // A stranger without a record gets the popular items, of both groups.
  EXPECT_EQ(ok(*s, "GET", "/recommend/stranger?k=5").at("source"), "popular");

  // PATCH merges; the features stay.
  const auto patched = ok(*s, "PATCH", "/users/newcomer", R"({"comment": "from the newsletter"})");
  EXPECT_EQ(patched.at("comment"), "from the newsletter");
  EXPECT_EQ(patched.at("features").at("gender"), "M");

  // Features the model's data does not have, or of the wrong type, are refused by name.
  auto r = call(*s, "PUT", "/users/x", R"({"features": {"shoe_size": 9}})", "application/json");
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(r.body.find("shoe_size"), std::string::npos) << r.body;
  r = call(*s, "PUT", "/users/x", R"({"features": {"gender": ["M"]}})", "application/json");
  EXPECT_EQ(r.status, 422);
  r = call(*s, "PUT", "/users/x", R"({"features": {"gender": "X"}})", "application/json");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(call(*s, "PUT", "/users/x", "[1]", "application/json").status, 422);
  EXPECT_EQ(call(*s, "PUT", "/users/x", "{", "application/json").status, 400);
  EXPECT_EQ(call(*s, "PUT", "/users/x", std::string(70'000, ' '), "application/json").status, 413);
  EXPECT_EQ(call(*s, "GET", "/users/x").status, 404);

  // The record survives a restart; DELETE removes it and the user's events.
  s->close();
  s = start();
  EXPECT_EQ(ok(*s, "GET", "/users/newcomer").at("features").at("gender"), "M");
  ok(*s, "POST", "/events", R"({"user_id": "newcomer", "item_id": "i12"})");
  EXPECT_EQ(ok(*s, "DELETE", "/users/newcomer").at("deleted"), "newcomer");
  EXPECT_EQ(call(*s, "GET", "/users/newcomer").status, 404);
  EXPECT_TRUE(ok(*s, "GET", "/users/newcomer/events").at("events").empty());
  EXPECT_EQ(ok(*s, "GET", "/recommend/newcomer?k=5").at("source"), "popular");
  EXPECT_EQ(call(*s, "DELETE", "/users/newcomer").status, 404);
}

// A record in the store that the server did not check (the file was edited, or the model was
// retrained on other columns): its features are ignored, the fields still shown.
TEST_F(CatalogueApiTest, StoredFeaturesThatDoNotFitAreIgnored) {
  {
    auto store = open_sqlite_event_store((dir_ / "events.db").string());
    StoreWrite w;
    w.users.push_back({"odd", R"({"features":{"shoe_size":9,"gender":"M"},"note":"x"})"});
    w.users.push_back({"deep", std::string(5000, '[') + std::string(5000, ']')});
    w.users.push_back({"fits", R"({"features":{"gender":"M"}})"});
    store->write(std::move(w));
  }
  auto s = start();
  EXPECT_EQ(ok(*s, "GET", "/recommend/odd?k=3").at("source"), "popular");
  EXPECT_EQ(ok(*s, "GET", "/users/odd").at("note"), "x");
  EXPECT_EQ(ok(*s, "GET", "/recommend/deep?k=3").at("source"), "popular");
  EXPECT_EQ(ok(*s, "GET", "/users/deep").at("stored"), true);
  EXPECT_EQ(ok(*s, "GET", "/recommend/fits?k=3").at("source"), "demographic-popular");
}

TEST_F(CatalogueApiTest, FeedbackIsListedPerItemAndDeleted) {
  auto s = start();
  ok(*s, "POST", "/events",
     R"([{"user_id": "fan", "item_id": "i10", "timestamp": 100},
         {"user_id": "fan", "item_id": "i11", "type": "like", "timestamp": 200},
         {"user_id": "other", "item_id": "i10", "timestamp": 300}])");
  const auto on_i10 = ok(*s, "GET", "/items/i10/events");
  ASSERT_EQ(on_i10.at("events").size(), 2u);
  EXPECT_EQ(on_i10.at("events")[0].at("user_id"), "other");  // newest first
  EXPECT_EQ(on_i10.at("events")[1].at("user_id"), "fan");
  EXPECT_EQ(ok(*s, "GET", "/items/i10/events?limit=1").at("events").size(), 1u);
  // The fan's online answers follow their events: group B.
  const auto before = ok(*s, "GET", "/recommend/fan?mode=online&k=4");
  EXPECT_EQ(before.at("source"), "model");
  for (const auto& id : ids(before)) EXPECT_EQ(group_of(id), 1) << id;

  // One type on one item, then everything: gone from the lists and from the answers.
  const auto d = ok(*s, "DELETE", "/users/fan/events?item_id=i11&type=like");
  EXPECT_EQ(d.at("item_id"), "i11");
  const auto left = ok(*s, "GET", "/users/fan/events");
  ASSERT_EQ(left.at("events").size(), 1u);
  EXPECT_EQ(left.at("events")[0].at("item_id"), "i10");
  ok(*s, "DELETE", "/users/fan/events");
  EXPECT_TRUE(ok(*s, "GET", "/users/fan/events").at("events").empty());
  EXPECT_EQ(ok(*s, "GET", "/items/i10/events").at("events").size(), 1u);
  EXPECT_EQ(ok(*s, "GET", "/recommend/fan?mode=online&k=4").at("source"), "popular");
  EXPECT_EQ(call(*s, "DELETE", "/users/fan/events?item_id=").status, 422);
  EXPECT_EQ(call(*s, "DELETE", "/users/fan/events?what=1").status, 400);
  EXPECT_EQ(call(*s, "POST", "/items/i10/events").status, 405);
  EXPECT_EQ(ok(*s, "GET", "/health").at("events"), 1);
}

TEST_F(CatalogueApiTest, LatestListsTheNewestItems) {
  auto s = start();
  // Training items by their first interaction, newest first.
  const auto all = ok(*s, "GET", "/latest?k=20");
  ASSERT_EQ(all.at("items").size(), 20u);
  std::string previous = "9999";
  for (const auto& item : all.at("items")) {
    const std::string ts = item.at("timestamp");
    EXPECT_LE(ts, previous);
    previous = ts;
  }
  // Paging and categories.
  const auto page = ok(*s, "GET", "/latest?n=2&offset=1");
  EXPECT_EQ(ids(page), (std::vector<std::string>{ids(all)[1], ids(all)[2]}));
  for (const auto& id : ids(ok(*s, "GET", "/latest?k=20&category=A")))
    EXPECT_EQ(group_of(id), 0) << id;
  // A new item comes first (stamped when added); hidden and deleted ones never show.
  ok(*s, "PUT", "/items/fresh", R"({"title": "Fresh", "genres": "A"})");
  const auto now = ok(*s, "GET", "/latest?k=3");
  EXPECT_EQ(ids(now).front(), "fresh");
  EXPECT_EQ(now.at("items")[0].at("title"), "Fresh");
  ok(*s, "PATCH", "/items/fresh", R"({"hidden": true})");
  ok(*s, "DELETE", "/items/" + ids(all).front());
  const auto after = ids(ok(*s, "GET", "/latest?k=20"));
  EXPECT_EQ(after.size(), 19u);
  EXPECT_EQ(std::count(after.begin(), after.end(), "fresh"), 0);
  EXPECT_EQ(std::count(after.begin(), after.end(), ids(all).front()), 0);
  // An explicit time is kept, and a PUT without one keeps the stamp it had.
  ok(*s, "PUT", "/items/old", R"({"title": "Old", "timestamp": "1970-01-02T00:00:00Z"})");
  EXPECT_EQ(ok(*s, "GET", "/items/old").at("timestamp"), "1970-01-02T00:00:00Z");
  EXPECT_EQ(call(*s, "GET", "/latest?k=0").status, 422);
}

TEST_F(CatalogueApiTest, RetentionPrunesOldEventsFromTheStoreAndTheAnswers) {
  ServiceOptions o;
  o.events_retention_ms = 5LL * 86'400'000;
  o.retention_interval = std::chrono::milliseconds(50);
  auto s = start(o);
  ok(*s, "POST", "/events",
     R"([{"user_id": "old", "item_id": "i10", "timestamp": 100},
         {"user_id": "recent", "item_id": "i11"}])");
  bool pruned = false;
  for (int i = 0; i < 500 && !pruned; ++i) {
    pruned = ok(*s, "GET", "/users/old/events").at("events").empty();
    if (!pruned) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(pruned);
  EXPECT_EQ(ok(*s, "GET", "/users/recent/events").at("events").size(), 1u);
  EXPECT_EQ(ok(*s, "GET", "/recommend/old?mode=online").at("source"), "popular");
  EXPECT_EQ(ok(*s, "GET", "/health").at("events"), 1);
  EXPECT_NE(call(*s, "GET", "/metrics").body.find("reckon_events_pruned_total 1"),
            std::string::npos);
}

TEST_F(CatalogueApiTest, WritesNeedTheAdminKey) {
  ServiceOptions o;
  o.keys.admin = {"0123456789abcdef0123"};
  auto s = start(o);
  const auto send = [&](const std::string& method, const std::string& target,
                        const std::string& key) {
    std::promise<HttpResponse> promise;
    auto answer = promise.get_future();
    HttpRequest req{method, target, "{}", "application/json"};
    if (!key.empty()) req.authorization = "Bearer " + key;
    s->handle(std::move(req), [&](HttpResponse r) { promise.set_value(std::move(r)); });
    return answer.get().status;
  };
  for (const auto& [method, target] :
       std::vector<std::pair<std::string, std::string>>{{"PUT", "/users/a"},
                                                        {"PATCH", "/users/a"},
                                                        {"DELETE", "/users/u0"},
                                                        {"DELETE", "/users/u0/events"}})
    EXPECT_EQ(send(method, target, ""), 401) << method << " " << target;
  EXPECT_EQ(send("PUT", "/users/a", "0123456789abcdef0123"), 200);
  EXPECT_EQ(send("GET", "/users/a", ""), 200);
  EXPECT_EQ(send("GET", "/latest", ""), 200);
}

}  // namespace
}  // namespace reckon
