#pragma once
// Running the HTTP service, shared by `reckon serve` and `reckon demo`.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "reckon/core/types.hpp"

namespace reckon::cli {

struct ServeSettings {
  std::filesystem::path model;
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::string events;  // empty: MODEL.events.db
  std::filesystem::path reports;  // the dashboard's reports; empty: the model's folder
  int threads = 0;
  std::size_t max_k = 100;
  std::size_t body_limit = 1 << 20;
  int read_timeout_ms = 30'000;
  std::string access_log = "-";
  double events_cache_ttl = -1;
  bool no_precompute = false;
  bool recompute_online = false;
  std::vector<std::string> api_keys, read_keys;  // also from files and the environment
  std::string api_key_file, read_key_file;
  std::string event_weights;  // "type=weight,..." over the defaults
  double events_cache_mb = 256;
  std::size_t max_item_bytes = 64 << 10;
  std::size_t max_new_items = 100'000;
  std::string events_retention;  // "90d", "12h", "30m", seconds; empty: keep every event
  int header_timeout_ms = 10'000;
  std::size_t max_connections_per_client = 256;
  double watch_model = 0;  // seconds between checks of the model file (0: only on request)
  std::string ann = "auto";  // approximate search of factor models: off, auto or on
  index_t ann_min_items = 200'000;
  int ann_nlist = 0, ann_nprobe = 0;
};

// Serves until SIGTERM/SIGINT; `on_ready` runs once the port is bound.
void serve_model(const ServeSettings& settings,
                 const std::function<void(std::uint16_t port)>& on_ready);
std::string default_events_location(const std::filesystem::path& model);

}  // namespace reckon::cli
