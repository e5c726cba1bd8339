#pragma once
// The HTTP API of ../shared/docs/CONTRACT.md as plain request -> response handling, without
// sockets: the HTTP server (http_server.hpp) feeds it parsed requests, tests call it directly.
// Handlers never block on training or on disk: event writes and reloads answer from the store's
// writer thread or the reload thread once they are done.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "reckon/serve/auth.hpp"
#include "reckon/serve/event_store.hpp"
#include "reckon/prep/event_weights.hpp"
#include "reckon/serve/metrics.hpp"
#include "reckon/serve/snapshot.hpp"
#include "reckon/serve/stats_history.hpp"

namespace reckon {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // "/recommend/42?k=10&mode=online"
  std::string body;
  std::string content_type;  // empty when absent
  // For access checks (auth.hpp): headers as sent (empty when absent) and the peer's address.
  std::string authorization, origin, host, sec_fetch_site;
  bool peer_loopback = true;
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  Route route = Route::kOther;
  std::string allow;  // the Allow header of a 405
  // Further headers (the dashboard's page: its content security policy, caching).
  std::vector<std::pair<std::string, std::string>> headers;
};

// Called exactly once per request, possibly on another thread.
using Respond = std::function<void(HttpResponse)>;

struct ServiceOptions {
  std::filesystem::path model_file;
  SnapshotOptions snapshot;
  std::size_t default_k = 10;
  std::size_t max_events_per_request = 10'000;
  std::size_t online_similar_sources = 3;  // latest events whose similar items join online lists
  std::size_t max_user_events = 1'000;     // latest events per user used for recommendations
  double events_cache_ttl_seconds = -1;    // < 0: never expires (single server, SQLite)
  // > 0: item edits other servers stored are read every so many seconds (a shared store).
  double items_refresh_seconds = 0;
  // > 0: the model file is checked every so many seconds and reloaded when it changed (its
  // modification time or size): a model published once, by an atomic rename into a path every
  // replica serves, reaches all of them (--watch-model).
  double watch_model_seconds = 0;
  // Keep each user's online list until their next event (false: compute it every request).
  bool keep_online_lists = true;
  AccessKeys keys;                              // none: writes open to this machine only
  EventWeights event_weights;                   // what each event type means for online answers
  std::size_t events_cache_bytes = 256u << 20;  // memory of the per-user events cache
  std::size_t max_item_bytes = 64u << 10;       // metadata of one item (PUT/PATCH body)
  std::size_t max_new_items = 100'000;          // stored items the model does not know
  // > 0: events older than this are pruned from the store in the background (--events-retention).
  std::int64_t events_retention_ms = 0;
  std::chrono::milliseconds retention_interval{std::chrono::hours(1)};  // between pruning passes
  // The evaluation and tuning reports the dashboard shows (GET /reports): the JSON reports in
  // this folder (the model file's by default; empty: none).
  std::filesystem::path reports_dir;
  // The dashboard's live charts: a sample of the counters every so often, kept for 10 minutes.
  std::chrono::milliseconds stats_interval{2000};
};

class Service {
 public:
  // Loads the model file (throws when it cannot be loaded) and reads the stored item edits.
  Service(ServiceOptions options, std::unique_ptr<EventStore> store);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  void handle(HttpRequest request, Respond respond);

  // Loads the model file again and swaps it in; the old snapshot stays when loading fails.
  // `done` gets nullptr or the error; runs on the reload thread. Concurrent requests share one
  // load.
  void reload_async(std::function<void(std::exception_ptr)> done);
  // Commits the queued events and item edits, ends the reload thread; their callbacks run now.
  // Call after the HTTP server stopped and before it is destroyed.
  void close();
  std::shared_ptr<const Snapshot> snapshot() const { return snapshot_.load(); }
  Metrics& metrics() noexcept { return metrics_; }
  const EventStore& store() const noexcept { return *store_; }

 private:
  struct Impl;
  void delete_and_reply(StoreWrite write, const std::string& user_id, Route route,
                        Respond respond, std::function<std::string()> body);
  ServiceOptions options_;
  std::unique_ptr<EventStore> store_;
  std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
  Metrics metrics_;
  std::unique_ptr<StatsHistory> stats_;
  std::unique_ptr<Impl> impl_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace reckon
