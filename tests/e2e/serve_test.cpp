// The HTTP server driven as clients would, in a child process: the reliability tests of the
// service (kill -9 while events stream, malformed requests, reload under load, online answers,
// graceful shutdown, limits). Each is bounded in time.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "http_client.hpp"
#include "reckon/serve/event_store.hpp"
#include "serve_fixture.hpp"

namespace reckon {
namespace {

using nlohmann::json;
using test::HttpClient;
using test::ServerProcess;

class ServeE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = (dir_ / "m.rkm").string();
    events_ = (dir_ / "events.db").string();
    test::write_serving_model(model_);
  }
  ServerProcess start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--model", model_, "--events", events_, "--threads", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    return ServerProcess(RECKON_BIN, args);
  }
  test::TempDir dir_;
  std::string model_, events_;
};

TEST_F(ServeE2E, AcknowledgedEventsSurviveKill9) {
  std::vector<std::string> acked;
  std::mutex mutex;
  {
    auto server = start();
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < 4; ++c) {
      clients.emplace_back([&, c] {
        HttpClient http(server.port());
        for (int i = 0; !stop; ++i) {
          const std::string item = "c" + std::to_string(c) + "-" + std::to_string(i);
          const auto r =
              http.post("/events", json{{"user_id", "streamer"}, {"item_id", item}}.dump());
          if (r.status != 200) break;  // the server is gone
          std::lock_guard lock(mutex);
          acked.push_back(item);
        }
      });
    }
    while (true) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      std::lock_guard lock(mutex);
      if (acked.size() >= 400) break;
    }
    server.signal(SIGKILL);
    EXPECT_EQ(server.wait(), 128 + SIGKILL);
    stop = true;
    for (auto& t : clients) t.join();
  }
  auto store = open_sqlite_event_store(events_);
  std::set<std::string> stored;
  for (const auto& e : store->history("streamer", std::numeric_limits<std::int64_t>::max()))
    stored.insert(e.item_id);
  ASSERT_GE(acked.size(), 400u);
  for (const auto& item : acked) ASSERT_TRUE(stored.count(item)) << item << " was acknowledged";
  // And a restarted server serves them.
  store.reset();
  auto again = start();
  HttpClient http(again.port());
  const auto r = http.get("/users/streamer/events?limit=1000");
  ASSERT_EQ(r.status, 200);
  EXPECT_GE(json::parse(r.body).at("events").size(), std::min<std::size_t>(acked.size(), 1000));
}

// Random bytes, truncated JSON, huge headers, wrong methods, invalid UTF-8: every request gets
// a 4xx, the server stays up and its memory stays flat.
TEST_F(ServeE2E, TenThousandMalformedRequests) {
  auto server = start();
  std::mt19937 rng(7);
  auto random_bytes = [&](std::size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng() % 256);
    s[0] = '\x01';  // never a valid method token
    return s + "\r\n\r\n";
  };
  const std::string huge_header =
      "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n";
  auto request = [](const std::string& method, const std::string& target, const std::string& body) {
    return method + " " + target + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  long rss_after_warmup = 0;
  int answered_4xx = 0, total = 0;
  for (int i = 0; i < 10'000; ++i) {
    std::string bytes;
    int kind = i % 6;
    switch (kind) {
      case 0:
        bytes = random_bytes(1 + rng() % 300);
        break;
      case 1:
        bytes = request("POST", "/events", R"({"user_id":"u1","item_id":)");
        break;
      case 2:
        bytes = huge_header;
        break;
      case 3:
        bytes = request("BREW", "/recommend/u1", "");
        break;
      case 4:
        bytes = request("POST", "/events", "{\"user_id\":\"\xc3\x28\",\"item_id\":\"i1\"}");
        break;
      case 5:
        bytes = request("GET", "/recommend/%c3%28?k=" + std::to_string(rng() % 1000 + 101), "");
        break;
    }
    HttpClient http(server.port());
    const auto r = http.raw(bytes);
    ++total;
    if (r.status >= 400 && r.status < 500)
      ++answered_4xx;
    else
      ADD_FAILURE() << "request kind " << kind << " got " << r.status << " " << r.body;
    if (i == 1'000) rss_after_warmup = server.rss_kib();
  }
  EXPECT_EQ(answered_4xx, total);
  HttpClient http(server.port());
  EXPECT_EQ(http.get("/health").status, 200);
  const long rss_end = server.rss_kib();
  EXPECT_LT(rss_end - rss_after_warmup, 16 * 1024)
      << "RSS grew from " << rss_after_warmup << " KiB to " << rss_end << " KiB";
}

TEST_F(ServeE2E, ReloadUnderLoadFailsNoRequest) {
  auto server = start();
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 3; ++c) {
    clients.emplace_back([&, c] {
      HttpClient http(server.port());
      for (int i = 0; !stop; ++i) {
        const auto r = http.get("/recommend/u" + std::to_string((i + c) % 45) + "?k=5");
        (r.status == 200 ? ok : failed)++;
      }
    });
  }
  HttpClient admin(server.port());
  for (int round = 0; round < 6; ++round) {
    test::write_serving_model(model_ + ".next", round % 2 ? "ials" : "itemknn",
                              round % 2 ? std::map<std::string, std::string>{{"factors", "8"}}
                                        : std::map<std::string, std::string>{});
    std::filesystem::rename(model_ + ".next", model_);  // as a deploy would: atomically
    if (round % 2) {
      server.signal(SIGHUP);
      std::this_thread::sleep_for(std::chrono::milliseconds(150));
    } else {
      const auto r = admin.post("/admin/reload", "");
      EXPECT_EQ(r.status, 200) << r.body;
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 100);
  EXPECT_EQ(json::parse(admin.get("/health").body).at("model"), "ials");
}

TEST_F(ServeE2E, OnlineAnswerFollowsEvents) {
  auto server = start();
  HttpClient http(server.port());
  auto items = [&](const std::string& target) {
    const auto r = http.get(target);
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<std::string> out;
    const auto answer = json::parse(r.body);  // (outlives the loop)
    for (const auto& i : answer.at("items")) out.push_back(i.at("item_id"));
    return out;
  };
  const auto before = items("/recommend/u5?k=5&mode=online");
  const auto r = http.post("/events", json::array({{{"user_id", "u5"}, {"item_id", "i15"}},
                                                   {{"user_id", "u5"}, {"item_id", "i16"}}})
                                          .dump());
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body).at("accepted"), 2);
  const auto after = items("/recommend/u5?k=5&mode=online");
  EXPECT_NE(after, before);
  for (const auto& i : after) EXPECT_TRUE(i != "i15" && i != "i16") << i;
  for (const auto& i : items("/recommend/u5?k=5")) EXPECT_TRUE(i != "i15" && i != "i16") << i;
}

TEST_F(ServeE2E, SigtermFinishesAndStoresEverything) {
  auto server = start();
  {
    HttpClient http(server.port());
    for (int i = 0; i < 50; ++i)
      ASSERT_EQ(http.post("/events", json{{"user_id", "t"}, {"item_id", std::to_string(i)}}.dump())
                    .status,
                200);
  }
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(), 0) << server.output();
  EXPECT_NE(server.output().find("stopped; 50 events stored"), std::string::npos)
      << server.output();
  EXPECT_EQ(open_sqlite_event_store(events_)->count(), 50);
}

TEST_F(ServeE2E, LimitsAndKeepAlive) {
  auto server = start({"--body-limit", "1000", "--read-timeout-ms", "300"});
  HttpClient http(server.port());
  for (int i = 0; i < 200; ++i)
    ASSERT_EQ(http.get("/recommend/u1?k=3").status, 200);  // one connection
  HttpClient big(server.port());
  const auto r = big.post("/events", std::string(5000, ' '));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "payload_too_large");
  HttpClient headers(server.port());
  const auto h = headers.raw(
      "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(40000, 'a') + "\r\n\r\n");
  EXPECT_EQ(h.status, 431);
  HttpClient garbage(server.port());
  EXPECT_EQ(garbage.raw("\x01\x02 nonsense\r\n\r\n").status, 400);
  // A client that starts a request and stalls is cut off after the read timeout.
  HttpClient slow(server.port());
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(slow.raw("GET /health HTTP/1.1\r\nHost: x\r\n").status, 0);  // closed, no answer
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  // (An idle keep-alive connection is closed after the same timeout, like `http` above by now.)
  HttpClient fresh(server.port());
  EXPECT_EQ(fresh.get("/health").status, 200);
}

// 10,100 idle half-sent connections locked every client out until the read timeout: now one
// address holds at most --max-connections-per-client, and headers must arrive within
// --header-timeout-ms.
TEST_F(ServeE2E, HalfSentConnectionsCannotLockOthersOut) {
  auto server = start({"--max-connections-per-client", "40", "--header-timeout-ms", "600"});
  namespace net = boost::asio;
  net::io_context ioc;
  std::vector<net::ip::tcp::socket> flood;
  for (int i = 0; i < 60; ++i) {
    flood.emplace_back(ioc);
    flood.back().connect({net::ip::make_address("127.0.0.1"), server.port()});
    net::write(flood.back(), net::buffer(std::string("GET /health HTTP/1.1\r\nHost: x\r\n")));
  }
  // Another client (another loopback address) is served while the flood holds its connections.
  net::ip::tcp::socket other(ioc);
  other.open(net::ip::tcp::v4());
  other.bind({net::ip::make_address("127.0.0.2"), 0});
  other.connect({net::ip::make_address("127.0.0.1"), server.port()});
  net::write(other, net::buffer(std::string("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")));
  boost::beast::flat_buffer buffer;
  boost::beast::http::response<boost::beast::http::string_body> res;
  boost::beast::error_code ec;
  boost::beast::http::read(other, buffer, res, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.result_int(), 200u);
  // Past the header deadline the flood's connections are gone and its address is served again.
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  HttpClient again(server.port());
  EXPECT_EQ(again.get("/health").status, 200);
}

TEST_F(ServeE2E, ApiKeyGuardsWritesOverHttp) {
  const std::string key = "e2e-admin-key-0123456789";
  auto server = start({"--api-key", key});
  const std::string event = R"({"user_id":"u1","item_id":"i2"})";
  auto post = [&](const std::string& extra) {
    HttpClient http(server.port());
    return http.raw(
        "POST /events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" + extra +
        "Content-Length: " + std::to_string(event.size()) + "\r\n\r\n" + event);
  };
  EXPECT_EQ(post("").status, 401);
  EXPECT_EQ(post("Authorization: Bearer wrong-key-0123456789ab\r\n").status, 401);
  EXPECT_EQ(post("Authorization: Bearer " + key + "\r\n").status, 200);
  EXPECT_EQ(post("Authorization: Bearer " + key + "\r\nOrigin: http://evil.example\r\n").status,
            403);
  HttpClient reader(server.port());
  EXPECT_EQ(reader.get("/recommend/u1?k=3").status, 200);  // no read key: reads are open
}

}  // namespace
}  // namespace reckon
