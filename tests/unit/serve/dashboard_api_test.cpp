// The routes the dashboard reads (user search, a user's history, an item's popularity over
// time, the reports beside the model, the live counters) and its page.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>
#include <nlohmann/json.hpp>

#include "reckon/serve/service.hpp"
#include "reckon/serve/stats_history.hpp"
#include "serve_fixture.hpp"

namespace reckon {
namespace {

using nlohmann::json;
using test::call;

class DashboardApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = dir_ / "m.rkm";
    test::write_serving_model(model_);
  }
  std::unique_ptr<Service> start(AccessKeys keys = {}) {
    ServiceOptions o;
    o.model_file = model_;
    o.reports_dir = dir_.path();
    o.keys = std::move(keys);
    auto s = std::make_unique<Service>(o, open_sqlite_event_store((dir_ / "events.db").string()));
    s->snapshot()->wait_offline_ready();
    return s;
  }
  static json get(Service& s, const std::string& target) {
    const auto r = call(s, "GET", target);
    EXPECT_EQ(r.status, 200) << target << " " << r.body;
    return json::parse(r.body);
  }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  test::TempDir dir_;
  std::filesystem::path model_;
};

TEST_F(DashboardApiTest, UserSearchPutsTheIdFirstThenTheMostActive) {
  auto s = start();
  const auto r = get(*s, "/users?q=U1&k=5");
  EXPECT_EQ(r.at("total"), 11);  // u1, u10 .. u19
  ASSERT_EQ(r.at("users").size(), 5u);
  EXPECT_EQ(r["users"][0].at("user_id"), "u1");
  EXPECT_EQ(r["users"][0].at("interactions"), 6);
  EXPECT_EQ(get(*s, "/users?k=3").at("users").size(), 3u);
  EXPECT_EQ(get(*s, "/users?q=nobody").at("total"), 0);
  EXPECT_EQ(call(*s, "GET", "/users?k=0").status, 422);
  EXPECT_EQ(call(*s, "GET", "/users?limit=2&k=2").status, 400);
  EXPECT_EQ(call(*s, "GET", "/users?query=u1").status, 400);
  EXPECT_EQ(call(*s, "POST", "/users").status, 405);
  // The catalogue searches ids and titles the same way.
  EXPECT_EQ(get(*s, "/items?q=I1&k=20").at("total"), 11);
  const auto titled = get(*s, "/items?q=%221%22");  // the title Item "1"
  ASSERT_EQ(titled.at("total"), 1);
  EXPECT_EQ(titled["items"][0].at("item_id"), "i1");
}

TEST_F(DashboardApiTest, HistoryIsNewestFirstWithMetadataAndPages) {
  auto s = start();
  const auto h = get(*s, "/users/u3/history");
  EXPECT_EQ(h.at("in_model"), true);
  EXPECT_EQ(h.at("total"), 6);
  ASSERT_EQ(h.at("items").size(), 6u);
  for (std::size_t j = 1; j < 6; ++j)
    EXPECT_GT(h["items"][j - 1].at("timestamp").get<std::string>(),
              h["items"][j].at("timestamp").get<std::string>());
  EXPECT_TRUE(h["items"][0].at("title").get<std::string>().starts_with("Item \""));
  EXPECT_TRUE(h["items"][0].contains("genres"));
  const auto page = get(*s, "/users/u3/history?limit=2&offset=1");
  ASSERT_EQ(page.at("items").size(), 2u);
  EXPECT_EQ(page["items"][0].at("item_id"), h["items"][1].at("item_id"));
  EXPECT_EQ(get(*s, "/users/stranger/history").at("total"), 0);
  EXPECT_EQ(call(*s, "GET", "/users/u3/history?offset=-1").status, 422);
}

TEST_F(DashboardApiTest, PopularityCountsTrainingAndNewEventsPerBucket) {
  auto s = start();
  const auto d = test::serving_dataset();
  const index_t item = *d->items.find("i2");
  std::int64_t users_with_it = 0;
  for (index_t u = 0; u < d->num_users(); ++u)
    for (index_t i : d->interactions.row_indices(u)) users_with_it += i == item;
  ASSERT_GT(users_with_it, 0);
  auto p = get(*s, "/items/i2/popularity");
  EXPECT_EQ(p.at("interactions"), users_with_it);
  EXPECT_EQ(p.at("unit"), "day");  // the fixture's times span an hour
  std::int64_t sum = 0;
  for (const auto& b : p.at("series")) sum += b.at("training").get<std::int64_t>();
  EXPECT_EQ(sum, users_with_it);

  // Two events, 40 days apart: weekly buckets, every one from a Monday.
  const json events = json::array({{{"user_id", "new"}, {"item_id", "i2"}, {"timestamp", "2024-03-01T10:00:00Z"}},
                                   {{"user_id", "new2"}, {"item_id", "i2"}, {"timestamp", "2024-04-10T10:00:00Z"}}});
  ASSERT_EQ(call(*s, "POST", "/events", events.dump(), "application/json").status, 200);
  p = get(*s, "/items/i2/popularity");
  EXPECT_EQ(p.at("events"), 2);
  EXPECT_EQ(p.at("unit"), "month");  // from 1970 (the fixture) to 2024
  std::int64_t events_sum = 0;
  for (const auto& b : p.at("series")) {
    events_sum += b.at("events").get<std::int64_t>();
    EXPECT_TRUE(b.at("t").get<std::string>().ends_with("-01")) << b;
  }
  EXPECT_EQ(events_sum, 2);
  EXPECT_EQ(p["series"].back().at("t"), "2024-04-01");

  // An item known only by its events: weeks from a Monday (2024-03-04 was one).
  const json only = json::array({{{"user_id", "a"}, {"item_id", "fresh"}, {"timestamp", "2024-03-06T10:00:00Z"}},
                                 {{"user_id", "b"}, {"item_id", "fresh"}, {"timestamp", "2024-08-01T10:00:00Z"}}});
  ASSERT_EQ(call(*s, "POST", "/events", only.dump(), "application/json").status, 200);
  p = get(*s, "/items/fresh/popularity");
  EXPECT_EQ(p.at("in_model"), false);
  EXPECT_EQ(p.at("unit"), "week");
  EXPECT_EQ(p["series"][0].at("t"), "2024-03-04");
  EXPECT_EQ(p["series"][0].at("events"), 1);
  EXPECT_EQ(call(*s, "GET", "/items/nothing/popularity").status, 404);

  // Events years apart: years; one from 9,000 BC (unix seconds -2.9e11) is counted, not drawn.
  const json far = json::array({{{"user_id", "a"}, {"item_id", "old"}, {"timestamp", -4000000000}},
                                {{"user_id", "b"}, {"item_id", "old"}, {"timestamp", 4102444800}},
                                {{"user_id", "c"}, {"item_id", "old"}, {"timestamp", -290000000000.0}}});
  ASSERT_EQ(call(*s, "POST", "/events", far.dump(), "application/json").status, 200);
  p = get(*s, "/items/old/popularity");
  EXPECT_EQ(p.at("unit"), "year");
  EXPECT_EQ(p.at("undated"), 1);
  EXPECT_EQ(p["series"].front().at("t"), "1843-01-01");
  EXPECT_EQ(p["series"].back().at("t"), "2100-01-01");
}

TEST_F(DashboardApiTest, ReportsAreReckonsOwnAndNeverOutsideTheirFolder) {
  write("eval.json", R"({"dataset":{"name":"x"},"protocol":{"split":"random"},
                         "models":[{"name":"ials","metrics":{"ndcg@10":0.3}}]})");
  write("tune.json", R"({"search":{"model":"ials","trials":[]},"test":{"protocol":{},"models":[{"name":"ials"}]}})");
  write("other.json", R"({"a":1})");
  write("broken.json", "{\"models\": [");
  write("deep.json", std::string(100'000, '[') + std::string(100'000, ']'));
  auto s = start();
  const auto list = get(*s, "/reports");
  ASSERT_EQ(list.at("reports").size(), 2u) << list;
  std::set<std::string> names;
  for (const auto& r : list["reports"]) names.insert(r.at("name"));
  EXPECT_EQ(names, (std::set<std::string>{"eval.json", "tune.json"}));
  const auto one = get(*s, "/reports/eval.json");
  EXPECT_EQ(one.at("kind"), "evaluation");
  EXPECT_EQ(one.at("report").at("models")[0].at("name"), "ials");
  EXPECT_EQ(get(*s, "/reports/tune.json").at("kind"), "tuning");
  for (const char* bad : {"/reports/other.json", "/reports/broken.json", "/reports/deep.json",
                          "/reports/m.rkm", "/reports/..", "/reports/..%2Fm.rkm",
                          "/reports/%2Fetc%2Fpasswd", "/reports/missing.json"})
    EXPECT_EQ(call(*s, "GET", bad).status, 404) << bad;
}

TEST_F(DashboardApiTest, ThePageIsPublicAndTheDataKeepsItsKey) {
  AccessKeys keys;
  keys.admin = {"admin-key-0123456789abcdef"};
  keys.read = {"read-key-0123456789abcdef0"};
  auto s = start(keys);
  const auto page = call(*s, "GET", "/");
  if (page.status == 200) {
    EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
    EXPECT_NE(page.body.find("/assets/app.js"), std::string::npos);
    bool csp = false;
    for (const auto& [name, value] : page.headers) csp |= name == "Content-Security-Policy";
    EXPECT_TRUE(csp);
    EXPECT_EQ(call(*s, "GET", "/assets/app.js").status, 200);
    EXPECT_EQ(call(*s, "GET", "/assets/missing.js").status, 404);
  } else {
    // A build without npm: the page says how to get it.
    EXPECT_EQ(page.status, 404);
    EXPECT_NE(page.body.find("without its dashboard"), std::string::npos) << page.body;
  }
  EXPECT_EQ(call(*s, "POST", "/").status, 405);
  EXPECT_EQ(call(*s, "GET", "/users?q=u1").status, 401);
  EXPECT_EQ(call(*s, "GET", "/stats").status, 401);
  EXPECT_EQ(call(*s, "GET", "/reports").status, 401);
}

TEST_F(DashboardApiTest, StatsDifferenceTheCounters) {
  auto s = start();
  for (int i = 0; i < 5; ++i) get(*s, "/health");
  const auto st = get(*s, "/stats?minutes=1");
  EXPECT_EQ(st.at("interval_s"), 2);
  EXPECT_TRUE(st.at("samples").is_array());
  EXPECT_EQ(call(*s, "GET", "/stats?minutes=0").status, 422);
  EXPECT_EQ(call(*s, "GET", "/stats?minutes=11").status, 422);

  Metrics m;
  StatsHistory h(m, std::chrono::hours(1), 3);  // sampled by hand below
  for (int i = 0; i < 4; ++i) m.observe(Route::kHealth, 200, 0.002);
  m.observe(Route::kHealth, 500, 0.002);
  m.add_events_stored(7);
  h.sample();
  h.sample();
  h.sample();
  h.sample();  // keeps the last 3
  const auto j = json::parse(h.json(0));
  ASSERT_EQ(j.at("samples").size(), 3u);
  EXPECT_TRUE(j["samples"][2].at("p50_ms").is_null());  // nothing in the last interval
}

TEST(StatsHistory, PercentilesInterpolateWithinBuckets) {
  Metrics::Totals t;
  EXPECT_TRUE(std::isnan(histogram_quantile(t, 0.5)));
  // Buckets: ..., 0.001, 0.0025, ...: 100 requests between 1 and 2.5 ms.
  t.buckets[4] = 100;
  EXPECT_NEAR(histogram_quantile(t, 0.5), 0.00175, 1e-9);
  EXPECT_NEAR(histogram_quantile(t, 0.99), 0.001 + 0.0015 * 0.99, 1e-9);
  // Beyond the last bound: the bound, not a guess.
  Metrics::Totals slow;
  slow.buckets.back() = 3;
  EXPECT_EQ(histogram_quantile(slow, 0.99), Metrics::kBuckets.back());

  Metrics::Totals a, b;
  a.requests = 10;
  b.requests = 30;
  a.errors = 1;
  b.errors = 3;
  b.events_stored = 8;
  b.buckets[4] = 20;
  const StatsSample s = stats_sample(a, b, 2.0, 1000);
  EXPECT_DOUBLE_EQ(s.requests_per_s, 10);
  EXPECT_DOUBLE_EQ(s.errors_per_s, 1);
  EXPECT_DOUBLE_EQ(s.events_per_s, 4);
  EXPECT_NEAR(s.p50_ms, 1.75, 1e-9);
}

}  // namespace
}  // namespace reckon
