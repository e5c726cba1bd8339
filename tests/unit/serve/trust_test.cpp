// The service against hostile and surprising requests: users without history, unknown query
// parameters, paging, negative feedback, metadata merges and limits, keys and cross-origin
// writes, deep JSON, and a bounded events cache. Each failed (or crashed) before its fix.
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <set>

#include "../../../src/serve/user_events.hpp"  // internal: the cache under test
#include "reckon/serve/service.hpp"
#include "serve_fixture.hpp"

namespace reckon {
namespace {

using nlohmann::json;
using test::call;

constexpr const char* kAdmin = "admin-key-0123456789";
constexpr const char* kReader = "read-key-0123456789ab";

HttpResponse send(Service& s, HttpRequest r) {
  std::promise<HttpResponse> promise;
  auto answer = promise.get_future();
  s.handle(std::move(r), [&](HttpResponse x) { promise.set_value(std::move(x)); });
  return answer.get();
}

std::vector<std::string> ids(const std::string& body) {
  std::vector<std::string> out;
  const json answer = json::parse(body);  // (the loop must not range over a temporary's member)
  for (const auto& item : answer.at("items")) out.push_back(item.at("item_id"));
  return out;
}

class TrustTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = dir_ / "m.rkm";
    test::write_serving_model(model_);
  }
  std::unique_ptr<Service> start(ServiceOptions o = {}) {
    o.model_file = model_;
    auto s = std::make_unique<Service>(o, open_sqlite_event_store((dir_ / "events.db").string()));
    s->snapshot()->wait_offline_ready();
    return s;
  }
  HttpResponse ok(Service& s, const std::string& target) {
    auto r = call(s, "GET", target);
    EXPECT_EQ(r.status, 200) << target << " " << r.body;
    return r;
  }
  test::TempDir dir_;
  std::filesystem::path model_;
};

TEST_F(TrustTest, UserWithoutTrainingInteractionsGetsTheFallbackNamed) {
  // u40 is in the model's id map with no training interactions (a global-time split does this).
  auto base = test::serving_dataset();
  Dataset d = *base;
  d.users.intern("u40");
  d.interactions = base->interactions.resized(41, 20);
  d.user_features = FeatureTable(41);
  auto& gender = d.user_features.column("gender", FeatureKind::kCategorical);
  for (index_t u = 0; u < 41; ++u) gender.add_label(u, u < 20 ? "F" : "M");
  FitContext ctx;
  ctx.threads = 1;
  ctx.verbose = false;
  save_model_file(train_model("ials", std::make_shared<const Dataset>(d), {{"factors", "8"}}, ctx),
                  model_);
  auto s = start();
  for (const char* mode : {"offline", "online", "blended"}) {
    const auto r = ok(*s, std::string("/recommend/u40?k=5&mode=") + mode);
    const auto j = json::parse(r.body);
    // u40 is "M", like the users of group B: what they liked most, as recommend/evaluate say.
    EXPECT_EQ(j.at("source"), "demographic-popular") << mode << " " << r.body;
    for (const auto& item : j.at("items")) {
      EXPECT_GT(item.at("score").get<double>(), 0) << mode;
      EXPECT_GE(std::stoi(item.at("item_id").get<std::string>().substr(1)), 10) << mode;
    }
  }
  // Without demographics: popular.
  const auto stranger = json::parse(ok(*s, "/recommend/nobody-at-all?k=5").body);
  EXPECT_EQ(stranger.at("source"), "popular");
}

TEST_F(TrustTest, UnknownQueryParametersAre400AndAliasesWork) {
  auto s = start();
  for (const char* target :
       {"/recommend/u3?categry=news", "/recommend/u3?limt=5", "/similar/i3?mode=online",
        "/popular?time=0", "/health?x=1", "/users/u3/events?offset=2"}) {
    const auto r = call(*s, "GET", target);
    EXPECT_EQ(r.status, 400) << target << " " << r.body;
    EXPECT_EQ(json::parse(r.body)["error"]["code"], "unknown_parameter") << target;
  }
  EXPECT_NE(call(*s, "GET", "/recommend/u3?categry=news").body.find("categry"),
            std::string::npos);
  // category is a parameter now: an unknown category has no items.
  EXPECT_EQ(ids(ok(*s, "/recommend/u3?category=news").body).size(), 0u);
  EXPECT_EQ(ids(ok(*s, "/recommend/u3?limit=4").body).size(), 4u);
  EXPECT_EQ(ids(ok(*s, "/recommend/u3?n=3").body).size(), 3u);
  EXPECT_EQ(call(*s, "GET", "/recommend/u3?k=3&n=3").status, 400);
  EXPECT_EQ(ids(ok(*s, "/recommend/u3?mode=online&time=1970-01-20T00:00:00Z&k=5").body),
            ids(ok(*s, "/recommend/u3?mode=online&at=1970-01-20T00:00:00Z&k=5").body));
}

TEST_F(TrustTest, OffsetPagesAreSlicesOfOneList) {
  auto s = start();
  for (const char* mode : {"offline", "online", "blended"}) {
    const auto all = ids(ok(*s, std::string("/recommend/u3?k=8&mode=") + mode).body);
    const auto second = ids(ok(*s, std::string("/recommend/u3?k=4&offset=4&mode=") + mode).body);
    ASSERT_EQ(all.size(), 8u) << ok(*s, std::string("/recommend/u3?k=8&mode=") + mode).body;
    EXPECT_EQ(second, std::vector<std::string>(all.begin() + 4, all.end())) << mode;
  }
  const auto pop = ids(ok(*s, "/popular?k=6").body);
  EXPECT_EQ(ids(ok(*s, "/popular?k=3&offset=3").body),
            std::vector<std::string>(pop.begin() + 3, pop.end()));
  EXPECT_EQ(call(*s, "GET", "/popular?k=90&offset=20").status, 422);  // past max_k
}

TEST_F(TrustTest, NegativeEventsExcludeAndCountAgainst) {
  auto s = start();
  auto post = [&](const json& events) {
    const auto r = call(*s, "POST", "/events", events.dump(), "application/json");
    ASSERT_EQ(r.status, 200) << r.body;
  };
  // u3 likes three group-B items, u4 dislikes them (both in group A).
  json likes = json::array(), dislikes = json::array();
  for (const char* item : {"i10", "i11", "i12"}) {
    likes.push_back({{"user_id", "u3"}, {"item_id", item}, {"type", "like"}});
    dislikes.push_back({{"user_id", "u4"}, {"item_id", item}, {"type", "dislike"}});
  }
  post(likes);
  post(dislikes);
  auto group_b = [](const std::vector<std::string>& items) {
    int n = 0;
    for (const auto& id : items) n += std::stoi(id.substr(1)) >= 10;
    return n;
  };
  const auto liked = ids(ok(*s, "/recommend/u3?k=6&mode=online").body);
  const auto disliked = ids(ok(*s, "/recommend/u4?k=6&mode=online").body);
  EXPECT_GE(group_b(liked), 2);
  // Dislikes do not pull towards the items: the online answer is the offline one (the
  // disliked items were never in u4's history), and none of them is recommended.
  const auto offline = ids(ok(*s, "/recommend/u4?k=6&mode=offline").body);
  EXPECT_EQ(std::vector<std::string>(disliked.begin(), disliked.begin() + 4),
            std::vector<std::string>(offline.begin(), offline.begin() + 4));
  EXPECT_LE(group_b(disliked), group_b(offline));
  for (const auto& id : disliked) EXPECT_TRUE(id != "i10" && id != "i11" && id != "i12");
  // A like with a negative value is feedback against the item too.
  post({{"user_id", "u5"}, {"item_id", "i13"}, {"type", "like"}, {"value", -1}});
  const auto u5 = ids(ok(*s, "/recommend/u5?k=6&mode=online").body);
  for (const auto& id : u5) EXPECT_NE(id, "i13");
  EXPECT_LE(group_b(u5), group_b(ids(ok(*s, "/recommend/u5?k=6&mode=offline").body)));
  // A dislike of a training item takes it out of the folded-in history.
  const auto d = test::serving_dataset();
  const auto u6 = *d->users.find("u6");
  const std::string trained = d->items.id(d->interactions.row_indices(u6)[0]);
  auto scores = [&](const std::string& target) {
    std::vector<double> out;
    const json answer = json::parse(ok(*s, target).body);
    for (const auto& item : answer.at("items")) out.push_back(item.at("score"));
    return out;
  };
  const auto before = scores("/recommend/u6?k=6&mode=online");
  post({{"user_id", "u6"}, {"item_id", trained}, {"type", "dislike"}});
  EXPECT_NE(scores("/recommend/u6?k=6&mode=online"), before);
}

TEST_F(TrustTest, PatchMergesAndPutReplaces) {
  auto s = start();
  auto item = [&](const std::string& id) { return json::parse(ok(*s, "/items/" + id).body); };
  ASSERT_EQ(call(*s, "PATCH", "/items/i4", R"({"topic":"news"})", "application/json").status, 200);
  auto j = item("i4");
  EXPECT_EQ(j.at("topic"), "news");
  EXPECT_EQ(j.at("title"), "Item \"4\"");  // kept from the training metadata
  EXPECT_TRUE(j.contains("genres"));
  ASSERT_EQ(call(*s, "PATCH", "/items/i4", R"({"genres":null})", "application/json").status, 200);
  EXPECT_FALSE(item("i4").contains("genres"));
  ASSERT_EQ(call(*s, "PUT", "/items/i4", R"({"title":"Only"})", "application/json").status, 200);
  j = item("i4");
  EXPECT_EQ(j.at("title"), "Only");
  EXPECT_FALSE(j.contains("topic"));
}

TEST_F(TrustTest, ItemWritesAreBounded) {
  ServiceOptions o;
  o.max_new_items = 2;
  o.max_item_bytes = 1000;
  auto s = start(o);
  EXPECT_EQ(call(*s, "PUT", "/items/new1", R"({"a":1})").status, 200);
  EXPECT_EQ(call(*s, "PUT", "/items/new2", R"({"a":1})").status, 200);
  const auto third = call(*s, "PUT", "/items/new3", R"({"a":1})");
  EXPECT_EQ(third.status, 422) << third.body;
  EXPECT_EQ(call(*s, "PUT", "/items/new1", R"({"a":2})").status, 200);  // an edit, not a new one
  EXPECT_EQ(call(*s, "PUT", "/items/i3", R"({"a":2})").status, 200);    // known to the model
  const auto big = call(*s, "PUT", "/items/i3", "{\"t\":\"" + std::string(2000, 'x') + "\"}");
  EXPECT_EQ(big.status, 413) << big.body;
}

TEST_F(TrustTest, DeepJsonBodiesAreRefusedNotRecursedInto) {
  ServiceOptions o;
  o.max_item_bytes = 1 << 20;  // the depth check, not the size limit, must refuse it
  auto s = start(o);
  // ~70,000 levels in 140 KB: re-serialising it overflowed the stack.
  const std::string deep = "{\"a\":" + std::string(70000, '[') + std::string(70000, ']') + "}";
  for (const char* method : {"PUT", "PATCH"}) {
    const auto r = call(*s, method, "/items/i1", deep, "application/json");
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find("deeper than"), std::string::npos) << r.body;
  }
  const auto e = call(*s, "POST", "/events", "[" + deep + "]", "application/json");
  EXPECT_EQ(e.status, 400) << e.body;
  EXPECT_EQ(s->store().count(), 0);
}

TEST_F(TrustTest, KeysGuardWritesAndReads) {
  ServiceOptions o;
  o.keys.admin = {kAdmin};
  o.keys.read = {kReader};
  auto s = start(o);
  const std::string event = R"({"user_id":"u1","item_id":"i2"})";
  HttpRequest post{"POST", "/events", event, "application/json"};
  EXPECT_EQ(send(*s, post).status, 401);
  post.authorization = std::string("Bearer ") + kReader;  // a read key cannot write
  EXPECT_EQ(send(*s, post).status, 401);
  post.authorization = "Bearer admin-key-0123456788";
  EXPECT_EQ(send(*s, post).status, 401);
  post.authorization = std::string("Bearer ") + kAdmin;
  EXPECT_EQ(send(*s, post).status, 200);
  HttpRequest get{"GET", "/recommend/u1?k=3", "", ""};
  const auto denied = send(*s, get);
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(json::parse(denied.body)["error"]["code"], "unauthorized");
  get.authorization = std::string("Bearer ") + kReader;
  EXPECT_EQ(send(*s, get).status, 200);
  get.authorization = std::string("Bearer ") + kAdmin;
  EXPECT_EQ(send(*s, get).status, 200);
  EXPECT_EQ(send(*s, {"GET", "/health", "", ""}).status, 200);  // for load balancers
  HttpRequest reload{"POST", "/admin/reload", "", ""};
  EXPECT_EQ(send(*s, reload).status, 401);
}

TEST_F(TrustTest, WritesWithoutAKeyAreForThisMachineAndNeverCrossOrigin) {
  auto s = start();
  const std::string event = R"({"user_id":"u1","item_id":"i2"})";
  HttpRequest r{"POST", "/events", event, "text/plain"};
  r.host = "127.0.0.1:8080";
  EXPECT_EQ(send(*s, r).status, 200);  // curl on this machine
  HttpRequest remote = r;
  remote.peer_loopback = false;
  EXPECT_EQ(send(*s, remote).status, 401);
  HttpRequest rebound = r;
  rebound.host = "evil.example:8080";  // DNS rebinding: a page's own name pointing here
  rebound.origin = "http://evil.example:8080";
  EXPECT_EQ(send(*s, rebound).status, 401);
  HttpRequest page = r;
  page.origin = "http://evil.example";  // a page elsewhere posting to localhost
  EXPECT_EQ(send(*s, page).status, 403);
  HttpRequest fetch = r;
  fetch.sec_fetch_site = "cross-site";
  EXPECT_EQ(send(*s, fetch).status, 403);
  HttpRequest same = r;
  same.origin = "http://127.0.0.1:8080";  // the server's own page (the dashboard)
  EXPECT_EQ(send(*s, same).status, 200);
  EXPECT_EQ(s->store().count(), 2);
}

TEST_F(TrustTest, ErrorsKeepPathsInTheLog) {
  auto s = start();
  {
    std::ofstream broken(model_, std::ios::trunc);
    broken << "not a model";
  }
  const auto r = call(*s, "POST", "/admin/reload");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find(dir_.path().string()), std::string::npos) << r.body;
}

TEST(EventWeights, ParseOverridesAndRefusesNonsense) {
  const auto w = EventWeights::parse("view=0.5, dislike=-3, *=0.25, custom=7");
  EXPECT_DOUBLE_EQ(w.weight("view", 2), 1.0);
  EXPECT_DOUBLE_EQ(w.weight("dislike", 1), -3.0);
  EXPECT_DOUBLE_EQ(w.weight("custom", 1), 7.0);
  EXPECT_DOUBLE_EQ(w.weight("unheard-of", 1), 0.25);
  EXPECT_DOUBLE_EQ(EventWeights().weight("purchase", 1), 3.0);
  EXPECT_THROW(EventWeights::parse("view"), InvalidInput);
  EXPECT_THROW(EventWeights::parse("view=abc"), InvalidInput);
  EXPECT_THROW(EventWeights::parse("view=1e9"), InvalidInput);
}

TEST(AccessKeys, ConstantTimeCompareAndKeyFiles) {
  EXPECT_TRUE(constant_time_equal("abcdefghijklmnop", "abcdefghijklmnop"));
  EXPECT_FALSE(constant_time_equal("abcdefghijklmnop", "abcdefghijklmnoq"));
  EXPECT_FALSE(constant_time_equal("abcdefghijklmnop", "abcdefghijklmno"));
  EXPECT_FALSE(constant_time_equal("abcdefghijklmnop", "abcdefghijklmnopq"));
  EXPECT_FALSE(constant_time_equal("abcdefghijklmnop", ""));
  test::TempDir dir;
  const auto file =
      dir.file("keys", "# rotated 2026-12\nfirst-key-0123456789\n\nsecond-key-0123456789\n");
  EXPECT_EQ(collect_keys({}, file.string(), nullptr).size(), 2u);
  EXPECT_THROW(collect_keys({"short"}, "", nullptr), InvalidInput);
}

TEST(UserEventCache, MemoryStaysWithinItsBudget) {
  test::TempDir dir;
  auto store = open_sqlite_event_store((dir / "e.db").string());
  const auto snap = [&] {
    const auto model = dir / "m.rkm";
    test::write_serving_model(model);
    SnapshotOptions so;
    so.precompute_offline = false;
    return Snapshot::load(model, so);
  }();
  const EventWeights weights;
  const std::size_t budget = 4u << 20;
  detail::UserEventCache cache(*store, -1, 1000, weights, budget);
  std::vector<Event> events;
  for (int u = 0; u < 40000; ++u) {
    const std::string user = "flood-" + std::to_string(u);
    cache.get(user, *snap);  // a new id per request
    events.push_back({user, "i1", "view", 1.0, 1000});
    if (events.size() == 100) {
      cache.add(events, *snap);
      events.clear();
    }
  }
  EXPECT_LE(cache.bytes(), budget + (64u << 10) * 64);
  EXPECT_GT(cache.bytes(), 0u);
  // A user just used is still there (the least recently used went first).
  const auto a = cache.get("flood-39999", *snap);
  EXPECT_EQ(a.get(), cache.get("flood-39999", *snap).get());
}

}  // namespace
}  // namespace reckon

namespace reckon {
namespace {

TEST(Redaction, PostgresPasswordsStayOutOfMessages) {
  // Nothing listens on port 1: the connection fails and the error names the URL.
  for (const char* url :
       {"postgresql://reckon:hunter2-secret@127.0.0.1:1/db",
        "postgresql://reckon@127.0.0.1:1/db?password=hunter2-secret&sslmode=disable",
        "postgresql://127.0.0.1:1/db?sslmode=disable&password=hunter2-secret"}) {
    const std::string e = test::error_of([&] { open_postgres_event_store(url); });
    EXPECT_FALSE(e.empty()) << url;
    EXPECT_EQ(e.find("hunter2"), std::string::npos) << e;
  }
}

}  // namespace
}  // namespace reckon
