#pragma once
// Running the HTTP service, shared by `reckon serve` and `reckon demo`.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace reckon::cli {

struct ServeSettings {
  std::filesystem::path model;
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::string events;  // empty: MODEL.events.db
  int threads = 0;
  std::size_t max_k = 100;
  std::size_t body_limit = 1 << 20;
  int read_timeout_ms = 30'000;
  std::string access_log = "-";
  double events_cache_ttl = -1;
  bool no_precompute = false;
  bool recompute_online = false;
};

// Serves until SIGTERM/SIGINT; `on_ready` runs once the port is bound.
void serve_model(const ServeSettings& settings,
                 const std::function<void(std::uint16_t port)>& on_ready);
std::string default_events_location(const std::filesystem::path& model);

}  // namespace reckon::cli
